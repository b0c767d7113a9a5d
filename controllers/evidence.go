package controllers

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/exception"
	"github.com/isms-operator/isms-operator/internal/schedule"
)

// evidenceRetry is how soon a control whose change did not fit in the ledger's queue is
// reconciled again, to record it then.
const evidenceRetry = 5 * time.Second

// evidenceRecorder decides what the evidence ledger records of each control and queues it.
// It runs in the reconciles and the heartbeat loop, never in the evaluator: recording costs
// a walk of a control's non-passing subjects once per reconcile, not per evaluated object.
type evidenceRecorder struct {
	// writer is set while this replica leads (see evidenceWriter); without it nothing is
	// queued and every change waits for the next reconcile.
	writer    atomic.Pointer[evidence.Writer]
	heartbeat time.Duration
	now       func() time.Time

	mu       sync.Mutex // guards controls; each entry has its own lock
	controls map[string]*controlEvidence
}

// controlEvidence is what the ledger holds of one control since the operator started.
type controlEvidence struct {
	mu sync.Mutex
	// recorded is the state last queued; nil until the control's first evaluation.
	recorded *evidence.Recorded
	// unevaluable: recorded is the Error state of a control that cannot be evaluated (see
	// setNotReady); its next evaluation is recorded as a baseline, from state Unknown.
	unevaluable bool
	// kinds are the watched kinds: heartbeats are written only while they are synced.
	kinds []schema.GroupKind
}

func newEvidenceRecorder(heartbeat time.Duration, now func() time.Time) *evidenceRecorder {
	if heartbeat <= 0 {
		heartbeat = evidence.DefaultHeartbeat
	}
	return &evidenceRecorder{heartbeat: heartbeat, now: now, controls: map[string]*controlEvidence{}}
}

func (e *evidenceRecorder) entry(control string) *controlEvidence {
	e.mu.Lock()
	defer e.mu.Unlock()
	ce := e.controls[control]
	if ce == nil {
		ce = &controlEvidence{}
		e.controls[control] = ce
	}
	return ce
}

// enqueue queues leaves all or none; false when this replica has no writer or the queue is full.
func (e *evidenceRecorder) enqueue(leaves ...evidence.Leaf) bool {
	w := e.writer.Load()
	return w != nil && w.Enqueue(leaves...)
}

// record queues what a control's new state calls for (evidence.Decide) and keeps that state
// as recorded only when the leaves were queued, so a change that was dropped is decided and
// queued again at the next reconcile. It reports whether the leaves were queued.
func (e *evidenceRecorder) record(next evidence.ControlState, kinds []schema.GroupKind, unevaluable bool) bool {
	ce := e.entry(next.Control)
	ce.mu.Lock()
	defer ce.mu.Unlock()
	prev := ce.recorded
	if ce.unevaluable != unevaluable {
		// Between "could not be evaluated" and an evaluation, no subject is known to have
		// changed: the new state is a baseline.
		prev = nil
	}
	leaves, rec := evidence.Decide(prev, next, e.now(), e.heartbeat)
	ce.kinds = kinds
	if len(leaves) > 0 && !e.enqueue(leaves...) {
		return false
	}
	ce.recorded, ce.unevaluable = &rec, unevaluable
	return true
}

// recordedDefinition returns the policy digest and generation last recorded for a control.
func (e *evidenceRecorder) recordedDefinition(control string) (digest string, generation int64, ok bool) {
	ce := e.entry(control)
	ce.mu.Lock()
	defer ce.mu.Unlock()
	if ce.recorded == nil || ce.unevaluable {
		return "", 0, false
	}
	return ce.recorded.State.Digest, ce.recorded.State.Generation, true
}

// setKinds stops a control's heartbeats while the watches of its new kinds sync.
func (e *evidenceRecorder) setKinds(control string, kinds []schema.GroupKind) {
	ce := e.entry(control)
	ce.mu.Lock()
	ce.kinds = kinds
	ce.mu.Unlock()
}

// heartbeats confirms, for every control recorded and still watched, the unchanged state
// once a heartbeat has passed: Decide with the recorded state writes nothing before that.
func (e *evidenceRecorder) heartbeats(synced func([]schema.GroupKind) bool) {
	e.mu.Lock()
	entries := make([]*controlEvidence, 0, len(e.controls))
	for _, ce := range e.controls {
		entries = append(entries, ce)
	}
	e.mu.Unlock()
	now := e.now()
	for _, ce := range entries {
		ce.mu.Lock()
		if ce.recorded != nil && synced(ce.kinds) {
			leaves, rec := evidence.Decide(ce.recorded, ce.recorded.State, now, e.heartbeat)
			if len(leaves) > 0 && e.enqueue(leaves...) {
				ce.recorded = &rec
			}
		}
		ce.mu.Unlock()
	}
}

// forget records that a deleted control is no longer evaluated, once, and drops it.
func (e *evidenceRecorder) forget(control string) {
	e.mu.Lock()
	ce := e.controls[control]
	delete(e.controls, control)
	e.mu.Unlock()
	if ce == nil {
		return
	}
	ce.mu.Lock()
	defer ce.mu.Unlock()
	if ce.recorded == nil {
		return
	}
	gone := evidence.ControlState{Control: control, Result: evidence.ResultNotEvaluated, Message: "The Control was deleted."}
	leaves, _ := evidence.Decide(nil, gone, e.now(), e.heartbeat)
	e.enqueue(leaves...)
}

// recordFinding queues a Finding's state change.
func (e *evidenceRecorder) recordFinding(f *ismsv1.Finding, from ismsv1.FindingState) {
	if from == f.Status.State {
		return
	}
	e.enqueue(evidence.Leaf{V: evidence.LeafVersion, Kind: evidence.KindFinding, Control: f.Spec.Control,
		Time: e.now().UTC(), Finding: &evidence.FindingChange{From: string(from), Name: f.Name,
			Namespace: f.Namespace, Open: f.Status.State.IsOpen(), To: string(f.Status.State)}})
}

// recordException queues a ControlException's phase change, once for each control it names.
func (e *evidenceRecorder) recordException(ex *ismsv1.ControlException, from ismsv1.ExceptionPhase) {
	if from == ex.Status.Phase {
		return
	}
	now := e.now().UTC()
	leaves := make([]evidence.Leaf, 0, len(ex.Spec.Controls))
	for _, c := range ex.Spec.Controls {
		leaves = append(leaves, evidence.Leaf{V: evidence.LeafVersion, Kind: evidence.KindException, Control: c, Time: now,
			Exception: &evidence.ExceptionChange{From: string(from), Name: ex.Name, Namespace: ex.Namespace, To: string(ex.Status.Phase)}})
	}
	e.enqueue(leaves...)
}

// recordEvidence records the control's state after setResultPhase, and says in its
// EvidenceRecorded condition whether that worked; a dropped change is retried soon. Nothing
// is recorded while the control awaits its first sweep (Pending), nor while its results
// still come from the previous definition (a sweep of the new one is due and will queue it).
func (r *ControlReconciler) recordEvidence(s *controlScope) {
	control := s.control
	if r.evidence == nil {
		meta.RemoveStatusCondition(&control.Status.Conditions, ismsv1.ConditionEvidenceRecorded)
		return
	}
	if control.Status.Result == ismsv1.ResultPending || s.carried {
		return
	}
	digest, generation, ok := r.evidence.recordedDefinition(control.Name)
	definitionChanged := !ok || digest != s.summary.PolicyDigest || generation != s.summary.Generation
	if definitionChanged && r.Evaluator.NeedsSweep(control.Name) {
		return
	}
	state := r.evidenceState(control.Name, s.exceptions, s.summary)
	r.setEvidenceCondition(s, r.evidence.record(state, s.kinds, false))
}

// recordUnevaluable records a control whose policy, parameters or targets cannot be used
// as an Error with the reason's message.
func (r *ControlReconciler) recordUnevaluable(s *controlScope, reason, message string) {
	if r.evidence == nil {
		return
	}
	state := evidence.ControlState{Control: s.control.Name, Result: evidence.ResultError,
		Digest: s.control.Status.PolicyDigest, Generation: s.control.Generation, Message: reason + ": " + message}
	r.setEvidenceCondition(s, r.evidence.record(state, nil, true))
}

// recordNotServed records a control that is NotApplicable because the kinds it reads are not
// served: as the ledger records NotApplicable, a Pass, with the reason in the message.
func (r *ControlReconciler) recordNotServed(s *controlScope, message string) {
	if r.evidence == nil {
		return
	}
	state := evidence.ControlState{Control: s.control.Name, Result: ledgerResult(ismsv1.ResultNotApplicable),
		Digest: s.control.Status.PolicyDigest, Generation: s.control.Generation, Message: ismsv1.ReasonKindsNotServed + ": " + message}
	r.setEvidenceCondition(s, r.evidence.record(state, nil, true))
}

func (r *ControlReconciler) setEvidenceCondition(s *controlScope, queued bool) {
	if queued {
		setCondition(s.control, ismsv1.ConditionEvidenceRecorded, metav1.ConditionTrue, ismsv1.ReasonEvidenceRecorded,
			"The control's latest state is queued for the evidence ledger.")
		return
	}
	setCondition(s.control, ismsv1.ConditionEvidenceRecorded, metav1.ConditionFalse, ismsv1.ReasonEvidenceQueueFull,
		"The evidence ledger's queue is full; the change is recorded at a later reconcile.")
	s.result.RequeueAfter = schedule.Sooner(s.result.RequeueAfter, evidenceRetry)
}

// evidenceState is the control's state as the ledger records it: each failing, excepted or
// errored subject by key, the counts, and the result.
func (r *ControlReconciler) evidenceState(control string, exceptions *exception.Set, sum evaluation.Summary) evidence.ControlState {
	failing, errored := r.Evaluator.NonPassing(control)
	split := exception.Classify(failing, exceptions)
	subjects := make(map[string]evidence.SubjectState, len(failing)+len(errored))
	for _, f := range split.Failing {
		subjects[subjectKey(f.Subject)] = evidence.SubjectFailing
	}
	for _, x := range split.Excepted {
		subjects[subjectKey(x.Subject)] = evidence.SubjectExcepted
	}
	for _, e := range errored {
		subjects[subjectKey(e.Subject)] = evidence.SubjectErrored
	}
	state := evidence.ControlState{Control: control, Digest: sum.PolicyDigest, Generation: sum.Generation, Subjects: subjects,
		Counts: evidence.Counts{Failing: len(split.Failing), Excepted: len(split.Excepted), Errored: len(errored)}}
	// The result is evaluation.Judge's, over these very subjects (read after the summary the
	// status shows, so that the leaf's result and counts agree with each other).
	verdict := evaluation.Judge(evaluation.Summary{Swept: true, Evaluated: max(sum.Evaluated, len(failing)+len(errored)),
		Failing: state.Counts.Failing, Errored: state.Counts.Errored})
	state.Result = ledgerResult(verdict.Result)
	if state.Result == evidence.ResultError {
		state.Message = firstError(errored)
	}
	return state
}

// ledgerResult is a control result as the ledger records it: NotApplicable (nothing to
// evaluate) records as Pass.
func ledgerResult(r ismsv1.ControlResult) evidence.Result {
	switch r {
	case ismsv1.ResultFail:
		return evidence.ResultFail
	case ismsv1.ResultError:
		return evidence.ResultError
	case ismsv1.ResultPending:
		return evidence.ResultNotEvaluated
	default:
		return evidence.ResultPass
	}
}

// subjectKey names a subject in the ledger: apiVersion/kind/namespace/name.
func subjectKey(ref evaluation.SubjectRef) string {
	return strings.Join([]string{ref.APIVersion, ref.Kind, ref.Namespace, ref.Name}, "/")
}

// firstError is the error of the first errored subject by key, as the control's message.
func firstError(errored []evaluation.SubjectResult) string {
	sort.Slice(errored, func(i, j int) bool { return subjectKey(errored[i].Subject) < subjectKey(errored[j].Subject) })
	return subjectKey(errored[0].Subject) + ": " + errored[0].Err
}
