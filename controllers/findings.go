package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
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
// when the next of its Findings changes with time alone (zero if none does). Failures that an
// active exception exempts are recorded as excepted, not failing. A namespace that fails to
// sync does not stop the others and is marked dirty again.
func (r *ControlReconciler) syncFindings(ctx context.Context, control *ismsv1.Control, exceptions *exception.Set) (time.Time, error) {
	namespaces, err := r.namespacesToSync(ctx, control.Name)
	if err != nil {
		return time.Time{}, err
	}
	// Findings are written a few at a time: after a sweep, each write waits on the API server
	// and etcd rather than on CPU.
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, findingWriters)
	)
	for _, ns := range namespaces {
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

// namespacesToSync takes the control's dirty namespaces from the evaluator and adds those
// whose Finding's time has come, and after a sweep those of every existing Finding, sorted.
// When listing the Findings fails, the dirty namespaces are marked dirty again.
func (r *ControlReconciler) namespacesToSync(ctx context.Context, control string) ([]string, error) {
	dirty, all := r.Evaluator.TakeDirty(control)
	namespaces := map[string]bool{}
	for _, ns := range dirty {
		namespaces[ns] = true
	}
	for _, ns := range r.wakes.due(control, r.Now()) {
		namespaces[ns] = true
	}
	if all {
		var list ismsv1.FindingList
		if err := r.List(ctx, &list, client.MatchingFields{findingControlIndex: control}); err != nil {
			r.Evaluator.MarkDirty(control, dirty...)
			return nil, fmt.Errorf("listing findings: %w", err)
		}
		for i := range list.Items {
			namespaces[list.Items[i].Namespace] = true
		}
	}
	return slices.Sorted(maps.Keys(namespaces)), nil
}

// syncFinding creates, updates or deletes the Finding of one (control, namespace), reading it
// through reader, and returns when it next changes with time alone (see
// finding.Workflow.WakeAt).
func (r *ControlReconciler) syncFinding(ctx context.Context, reader client.Reader, control *ismsv1.Control, ns string, exceptions *exception.Set) (time.Time, error) {
	return r.syncFindingEvidence(ctx, reader, control, ns, r.findingEvidence(control, ns, exceptions))
}

// syncFindingEvidence is syncFinding with the evidence given: the evaluator's, or an attested
// control's (syncAttestedFindings).
func (r *ControlReconciler) syncFindingEvidence(ctx context.Context, reader client.Reader, control *ismsv1.Control, ns string, evidence finding.Evidence) (time.Time, error) {
	key := client.ObjectKey{Namespace: ns, Name: control.Name}
	f, fromAPIServer, err := r.currentFinding(ctx, reader, key)
	if err != nil {
		return time.Time{}, err
	}
	now := r.Now()
	if f == nil {
		existing, wake, err := r.createFinding(ctx, control, ns, evidence, now)
		if err != nil || existing == nil {
			return wake, err
		}
		f, fromAPIServer = existing, true
	}
	if fromAPIServer {
		r.versions.wrote(f) // the latest there is: once the cache holds it, the cache will do
	}
	if len(evidence.Failing) == 0 && r.Workflow.Expired(f.Status, now) {
		// Resolved for longer than the retention: deleted, so that etcd holds the open
		// Findings and the recent past only.
		return time.Time{}, r.deleteFinding(ctx, f, control.Name)
	}
	if err := r.syncFindingSpec(ctx, f, control); err != nil {
		return time.Time{}, err
	}
	evidence.Acknowledgement = f.Spec.Acknowledgement
	d := finding.Decide(f.Status, evidence, r.Workflow, now)
	if equality.Semantic.DeepEqual(d.Status, f.Status) {
		r.Metrics.SetFinding(control.Name, ns, f.Spec.Severity, f.Status.State, finding.IsOverdue(f.Status))
		return r.Workflow.WakeAt(f.Status), nil
	}
	if err := r.writeDecision(ctx, f, d); err != nil {
		return time.Time{}, err
	}
	return r.Workflow.WakeAt(f.Status), nil
}

// currentFinding reads a Finding through reader, nil if there is none, and reports whether it
// came from the API server. When the cache has not seen the operator's last write to it (or
// someone else wrote since), deciding from the cache could skip a write that undoes that one,
// say for a subject that failed and passed again within milliseconds, and leave the Finding
// wrong until the next sweep: it is read again from the API server, which has the truth.
func (r *ControlReconciler) currentFinding(ctx context.Context, reader client.Reader, key client.ObjectKey) (*ismsv1.Finding, bool, error) {
	f, err := readFinding(ctx, reader, key)
	if err != nil {
		return nil, false, err
	}
	fromAPIServer := reader != client.Reader(r.Client)
	if f != nil && !fromAPIServer && !r.versions.current(f) {
		f, err = readFinding(ctx, r.APIReader, key)
		return f, true, err
	}
	return f, fromAPIServer, nil
}

// findingEvidence is what the evaluator says about the control in the namespace, with the
// failures the exceptions exempt set apart.
func (r *ControlReconciler) findingEvidence(control *ismsv1.Control, ns string, exceptions *exception.Set) finding.Evidence {
	failures, observedAt := r.Evaluator.Failures(control.Name, ns)
	failing, excepted := exception.Classify(failures, exceptions).FindingSubjects()
	return finding.Evidence{
		Failing:      failing,
		Excepted:     excepted,
		ObservedAt:   observedAt,
		PolicyDigest: control.Status.PolicyDigest,
		Severity:     control.Spec.Severity,
	}
}

// createFinding creates the Finding of (control, ns), with its status, when the evidence opens
// one, and returns when it next changes with time alone. When an earlier sync created it and
// the cache has not seen it yet, it returns the Finding as the API server holds it instead, to
// be updated.
func (r *ControlReconciler) createFinding(ctx context.Context, control *ismsv1.Control, ns string, evidence finding.Evidence, now time.Time) (*ismsv1.Finding, time.Time, error) {
	d := finding.Decide(ismsv1.FindingStatus{}, evidence, r.Workflow, now)
	if !slices.Contains(d.Transitions, finding.Opened) {
		r.Metrics.ForgetFinding(control.Name, ns)
		return nil, time.Time{}, nil
	}
	f := newFinding(control, ns)
	if err := controllerutil.SetControllerReference(control, f, r.Scheme()); err != nil {
		return nil, time.Time{}, fmt.Errorf("setting owner: %w", err)
	}
	switch err := r.Create(ctx, f); {
	case err == nil:
		r.versions.wrote(f)
		if err := r.writeDecision(ctx, f, d); err != nil {
			return nil, time.Time{}, err
		}
		return nil, r.Workflow.WakeAt(f.Status), nil
	case apierrors.IsAlreadyExists(err):
		key := client.ObjectKeyFromObject(f)
		existing, err := readFinding(ctx, r.APIReader, key)
		if err == nil && existing == nil {
			err = fmt.Errorf("finding %s was deleted while it was being created", key)
		}
		return existing, time.Time{}, err
	default:
		return nil, time.Time{}, fmt.Errorf("creating finding: %w", err)
	}
}

// deleteFinding deletes a Finding resolved for longer than the retention, and forgets it.
func (r *ControlReconciler) deleteFinding(ctx context.Context, f *ismsv1.Finding, control string) error {
	if err := r.Delete(ctx, f, client.Preconditions{UID: &f.UID}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting expired finding: %w", err)
	}
	r.versions.forget(f.Namespace, control)
	r.Metrics.ForgetFinding(control, f.Namespace)
	return nil
}

// syncFindingSpec puts back the spec and labels the control gives its Finding, keeping the
// acknowledgement, which is the owners' and never the operator's.
func (r *ControlReconciler) syncFindingSpec(ctx context.Context, f *ismsv1.Finding, control *ismsv1.Control) error {
	desired := newFinding(control, f.Namespace)
	desired.Spec.Acknowledgement = f.Spec.Acknowledgement
	if equality.Semantic.DeepEqual(f.Spec, desired.Spec) && hasLabels(f.Labels, desired.Labels) {
		return nil
	}
	f.Spec = desired.Spec
	if f.Labels == nil {
		f.Labels = map[string]string{}
	}
	maps.Copy(f.Labels, desired.Labels)
	if err := r.Update(ctx, f); err != nil {
		return fmt.Errorf("updating finding: %w", err)
	}
	r.versions.wrote(f)
	return nil
}

// writeDecision writes the status Decide gave a Finding, and announces its transitions.
func (r *ControlReconciler) writeDecision(ctx context.Context, f *ismsv1.Finding, d finding.Decision) error {
	from := f.Status.State
	f.Status = d.Status
	if err := r.Status().Update(ctx, f); err != nil {
		return fmt.Errorf("updating finding status: %w", err)
	}
	r.versions.wrote(f)
	r.recordDecision(f, d)
	if r.evidence != nil {
		r.evidence.recordFinding(f, from)
	}
	return nil
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
		r.Recorder.Eventf(f, nil, corev1.EventTypeWarning, ismsv1.EventFindingOpened, "Evaluate", "%s", f.Status.Message)
	case finding.Reopened:
		r.Recorder.Eventf(f, nil, corev1.EventTypeWarning, ismsv1.EventFindingReopened, "Evaluate", "Reopened (%d time(s)): %s", f.Status.ReopenCount, f.Status.Message)
	case finding.Resolved:
		r.Recorder.Eventf(f, nil, corev1.EventTypeNormal, ismsv1.EventFindingResolved, "Evaluate", "%s", f.Status.Message)
	case finding.Acknowledged:
		r.Recorder.Eventf(f, nil, corev1.EventTypeNormal, ismsv1.EventFindingAcknowledged, "Triage", "Acknowledged by %s", f.Spec.Acknowledgement.By)
	case finding.Unacknowledged:
		r.Recorder.Eventf(f, nil, corev1.EventTypeNormal, ismsv1.EventFindingUnacknowledged, "Triage", "The acknowledgement was removed while subjects still fail")
	case finding.Overdue:
		r.Recorder.Eventf(f, nil, corev1.EventTypeWarning, ismsv1.EventFindingOverdue, "Evaluate", "Still open after its due date %s: %s", f.Status.DueAt.UTC().Format(time.RFC3339), f.Status.Message)
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
