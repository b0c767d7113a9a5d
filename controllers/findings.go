package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/exception"
	"github.com/isms-operator/isms-operator/internal/finding"
)

// findingControlIndex indexes Findings by the Control that raised them, so that listing one
// control's Findings reads only those instead of scanning every Finding in the cache.
const findingControlIndex = "spec.control"

// findingWriters bounds the Findings of one control written at once.
const findingWriters = 8

// syncFindings brings the control's Findings in line with its results, in the namespaces the
// evaluator marked dirty since the last sync (all of them, and every existing Finding of the
// control, after a sweep), and in those whose Finding falls due or expires by now. It returns
// when the next of its Findings changes with
// time alone (zero if none does). Failures that an active exception exempts are recorded as
// excepted, not failing. A namespace that fails to sync does not stop the others and
// is marked dirty again.
func (r *ControlReconciler) syncFindings(ctx context.Context, control *ismsv1.Control, exceptions *exception.Set) (time.Time, error) {
	dirty, all := r.Evaluator.TakeDirty(control.Name)
	namespaces := map[string]bool{}
	for _, ns := range dirty {
		namespaces[ns] = true
	}
	for _, ns := range r.wakes.due(control.Name, r.Now()) {
		namespaces[ns] = true
	}
	if all {
		var list ismsv1.FindingList
		if err := r.List(ctx, &list, client.MatchingFields{findingControlIndex: control.Name}); err != nil {
			r.Evaluator.MarkDirty(control.Name, dirty...)
			return time.Time{}, fmt.Errorf("listing findings: %w", err)
		}
		for i := range list.Items {
			namespaces[list.Items[i].Namespace] = true
		}
	}

	// Findings are written a few at a time: after a sweep, each write waits on the API server
	// and etcd rather than on CPU.
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, findingWriters)
	)
	for _, ns := range slices.Sorted(maps.Keys(namespaces)) {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			wake, err := r.syncFinding(ctx, r.Client, control, ns, exceptions)
			if apierrors.IsConflict(err) {
				// The cache lagged behind our own last write (a busy control writes the same
				// Finding often): once more, reading it from the API server.
				wake, err = r.syncFinding(ctx, r.APIReader, control, ns, exceptions)
			}
			if err != nil {
				r.Evaluator.MarkDirty(control.Name, ns)
				mu.Lock()
				errs = append(errs, fmt.Errorf("namespace %s: %w", ns, err))
				mu.Unlock()
				return
			}
			r.wakes.set(control.Name, ns, wake)
		})
	}
	wg.Wait()
	return r.wakes.next(control.Name), errors.Join(errs...)
}

// syncFinding creates, updates or deletes the Finding of one (control, namespace), reading it
// through reader, and returns when it next changes with time alone (see
// finding.Workflow.WakeAt).
func (r *ControlReconciler) syncFinding(ctx context.Context, reader client.Reader, control *ismsv1.Control, ns string, exceptions *exception.Set) (time.Time, error) {
	key := client.ObjectKey{Namespace: ns, Name: control.Name}
	current, err := readFinding(ctx, reader, key)
	if err != nil {
		return time.Time{}, err
	}
	if current != nil && reader == client.Reader(r.Client) && !r.versions.current(current) {
		// The cache has not seen our last write to this Finding yet (or someone else wrote
		// since). Deciding from it could skip a write that undoes that one, say for a subject
		// that failed and passed again within milliseconds, and leave the Finding wrong until
		// the next sweep: the API server has the truth.
		reader = r.APIReader
		if current, err = readFinding(ctx, reader, key); err != nil {
			return time.Time{}, err
		}
	}
	failures, observedAt := r.Evaluator.Failures(control.Name, ns)
	failing, excepted := partition(failures, exceptions, nil)
	evidence := finding.Evidence{
		Failing:      failing,
		Excepted:     excepted,
		ObservedAt:   observedAt,
		PolicyDigest: control.Status.PolicyDigest,
		Severity:     control.Spec.Severity,
	}
	now := r.Now()

	if current == nil {
		d := finding.Decide(ismsv1.FindingStatus{}, evidence, r.Workflow, now)
		if !slices.Contains(d.Transitions, finding.Opened) {
			r.Metrics.ForgetFinding(control.Name, ns)
			return time.Time{}, nil
		}
		f := newFinding(control, ns)
		if err := controllerutil.SetControllerReference(control, f, r.Scheme()); err != nil {
			return time.Time{}, fmt.Errorf("setting owner: %w", err)
		}
		err := r.Create(ctx, f)
		switch {
		case err == nil:
			r.versions.wrote(f)
			f.Status = d.Status
			if err := r.Status().Update(ctx, f); err != nil {
				return time.Time{}, fmt.Errorf("recording finding status: %w", err)
			}
			r.versions.wrote(f)
			r.recordDecision(f, d)
			return r.Workflow.WakeAt(f.Status), nil
		case apierrors.IsAlreadyExists(err):
			// Created by an earlier sync that the cache has not seen yet: read it from the API
			// server and update it below.
			reader = r.APIReader
			if current, err = readFinding(ctx, reader, key); err != nil {
				return time.Time{}, err
			}
			if current == nil {
				return time.Time{}, fmt.Errorf("finding %s was deleted while it was being created", key)
			}
		default:
			return time.Time{}, fmt.Errorf("creating finding: %w", err)
		}
	}

	f := current
	if reader != client.Reader(r.Client) {
		r.versions.wrote(f) // the latest there is: once the cache holds it, the cache will do
	}
	if len(evidence.Failing) == 0 && r.Workflow.Expired(f.Status, now) {
		// Resolved for longer than the retention: deleted, so that etcd holds the open
		// Findings and the recent past only.
		if err := r.Delete(ctx, f, client.Preconditions{UID: &f.UID}); err != nil && !apierrors.IsNotFound(err) {
			return time.Time{}, fmt.Errorf("deleting expired finding: %w", err)
		}
		r.versions.forget(ns, control.Name)
		r.Metrics.ForgetFinding(control.Name, ns)
		return time.Time{}, nil
	}
	desired := newFinding(control, ns)
	desired.Spec.Acknowledgement = f.Spec.Acknowledgement // the owners', never the operator's
	if !equality.Semantic.DeepEqual(f.Spec, desired.Spec) || !hasLabels(f.Labels, desired.Labels) {
		f.Spec = desired.Spec
		if f.Labels == nil {
			f.Labels = map[string]string{}
		}
		maps.Copy(f.Labels, desired.Labels)
		if err := r.Update(ctx, f); err != nil {
			return time.Time{}, fmt.Errorf("updating finding: %w", err)
		}
		r.versions.wrote(f)
	}
	evidence.Acknowledgement = f.Spec.Acknowledgement
	d := finding.Decide(f.Status, evidence, r.Workflow, now)
	if equality.Semantic.DeepEqual(d.Status, f.Status) {
		r.Metrics.SetFinding(control.Name, ns, f.Spec.Severity, f.Status.State, finding.IsOverdue(f.Status))
		return r.Workflow.WakeAt(f.Status), nil
	}
	f.Status = d.Status
	if err := r.Status().Update(ctx, f); err != nil {
		return time.Time{}, fmt.Errorf("updating finding status: %w", err)
	}
	r.versions.wrote(f)
	r.recordDecision(f, d)
	return r.Workflow.WakeAt(f.Status), nil
}

// recordDecision announces a Finding's transitions and updates the Finding metrics.
func (r *ControlReconciler) recordDecision(f *ismsv1.Finding, d finding.Decision) {
	for _, t := range d.Transitions {
		r.recordTransition(f, t)
	}
	if d.Remediated {
		r.Metrics.ObserveRemediation(f.Spec.Severity, d.TimeToRemediate.Seconds())
	}
	r.Metrics.SetFinding(f.Spec.Control, f.Namespace, f.Spec.Severity, f.Status.State, finding.IsOverdue(f.Status))
}

func (r *ControlReconciler) recordTransition(f *ismsv1.Finding, t finding.Transition) {
	switch t {
	case finding.Opened:
		r.Recorder.Eventf(f, nil, "Warning", "FindingOpened", "Evaluate", f.Status.Message)
	case finding.Reopened:
		r.Recorder.Eventf(f, nil, "Warning", "FindingReopened", "Evaluate", "Reopened (%d time(s)): %s", f.Status.ReopenCount, f.Status.Message)
	case finding.Resolved:
		r.Recorder.Eventf(f, nil, "Normal", "FindingResolved", "Evaluate", f.Status.Message)
	case finding.Acknowledged:
		r.Recorder.Eventf(f, nil, "Normal", "FindingAcknowledged", "Triage", "Acknowledged by %s", f.Spec.Acknowledgement.By)
	case finding.Unacknowledged:
		r.Recorder.Eventf(f, nil, "Normal", "FindingUnacknowledged", "Triage", "The acknowledgement was removed while subjects still fail")
	case finding.Overdue:
		r.Recorder.Eventf(f, nil, "Warning", "FindingOverdue", "Evaluate", "Still open after its due date %s: %s", f.Status.DueAt.UTC().Format(time.RFC3339), f.Status.Message)
	}
}

// newFinding is the Finding a control raises in a namespace, without status.
func newFinding(control *ismsv1.Control, ns string) *ismsv1.Finding {
	return &ismsv1.Finding{
		ObjectMeta: metav1.ObjectMeta{
			// One Finding per (control, namespace), named after the control: raising it again
			// finds the same object.
			Name:      control.Name,
			Namespace: ns,
			Labels: map[string]string{
				ismsv1.LabelControl:  control.Name,
				ismsv1.LabelSeverity: string(control.Spec.Severity),
			},
		},
		Spec: ismsv1.FindingSpec{
			Control:    control.Name,
			ControlID:  control.Spec.ID,
			Title:      control.Spec.Title,
			Severity:   control.Spec.Severity,
			Frameworks: control.Spec.Frameworks,
		},
	}
}

func findingSubjects(results []evaluation.SubjectResult) []finding.Subject {
	out := make([]finding.Subject, 0, len(results))
	for _, res := range results {
		s := finding.Subject{
			APIVersion: res.Subject.APIVersion,
			Kind:       res.Subject.Kind,
			Name:       res.Subject.Name,
			UID:        string(res.Subject.UID),
		}
		for _, v := range res.Violations {
			s.Messages = append(s.Messages, v.Message)
		}
		out = append(out, s)
	}
	return out
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// wakeTimes remembers, per control and namespace, when a Finding next changes with time alone
// (falls due, or expires after the retention), so that a reconcile can requeue for the earliest
// and sync just those Findings then, without listing them.
type wakeTimes struct {
	mu sync.Mutex
	at map[string]map[string]time.Time // control → namespace → time
}

func newWakeTimes() *wakeTimes { return &wakeTimes{at: map[string]map[string]time.Time{}} }

func (w *wakeTimes) set(control, ns string, t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	byNS := w.at[control]
	if t.IsZero() {
		delete(byNS, ns)
		return
	}
	if byNS == nil {
		byNS = map[string]time.Time{}
		w.at[control] = byNS
	}
	byNS[ns] = t
}

// due returns the namespaces whose time has come.
func (w *wakeTimes) due(control string, now time.Time) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for ns, t := range w.at[control] {
		if !now.Before(t) {
			out = append(out, ns)
		}
	}
	return out
}

// next is the earliest time of the control's Findings, zero if none.
func (w *wakeTimes) next(control string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, t := range w.at[control] {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first
}

func (w *wakeTimes) forget(control string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.at, control)
}

// readFinding reads a Finding, nil if there is none.
func readFinding(ctx context.Context, reader client.Reader, key client.ObjectKey) (*ismsv1.Finding, error) {
	var f ismsv1.Finding
	switch err := reader.Get(ctx, key, &f); {
	case err == nil:
		return &f, nil
	case apierrors.IsNotFound(err):
		return nil, nil
	default:
		return nil, fmt.Errorf("reading finding: %w", err)
	}
}

// findingVersions remembers the resourceVersion of each Finding as the operator last wrote (or
// read from the API server) it, so that a sync can tell when the informer cache is behind.
// resourceVersions are compared for equality only, never ordered.
type findingVersions struct {
	mu sync.Mutex
	rv map[client.ObjectKey]string
}

func newFindingVersions() *findingVersions {
	return &findingVersions{rv: map[client.ObjectKey]string{}}
}

func (v *findingVersions) wrote(f *ismsv1.Finding) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rv[client.ObjectKeyFromObject(f)] = f.ResourceVersion
}

func (v *findingVersions) forget(ns, name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.rv, client.ObjectKey{Namespace: ns, Name: name})
}

// forgetControl drops what it remembers of a deleted control's Findings.
func (v *findingVersions) forgetControl(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for key := range v.rv {
		if key.Name == name {
			delete(v.rv, key)
		}
	}
}

// current reports whether f is the version the operator last wrote or read from the API
// server, or a Finding it has not written since it started.
func (v *findingVersions) current(f *ismsv1.Finding) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	want, ok := v.rv[client.ObjectKeyFromObject(f)]
	return !ok || want == f.ResourceVersion
}
