package evaluation

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/isms-operator/isms-operator/internal/policy"
)

// SubjectResult is the verdict on one failing or erroring subject.
type SubjectResult struct {
	Subject    SubjectRef
	Violations []policy.Violation
	Err        string
	// Transient: the error is of the moment (a deadline, the memory guard), not of the policy
	// or the object, and a retry may well succeed.
	Transient bool
}

// transient says whether an evaluation error is of the moment (see SubjectResult.Transient).
func transient(err error) bool {
	return errors.Is(err, policy.ErrDeadline) || errors.Is(err, policy.ErrMemoryGuard)
}

// SubjectRef names a subject without holding on to its value.
type SubjectRef struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	UID        types.UID
	// Labels are the subject's own labels, shared with the Subject (never changed in place).
	Labels map[string]string
}

func refOf(s *Subject) SubjectRef {
	return SubjectRef{APIVersion: s.APIVersion(), Kind: s.GVK.Kind, Namespace: s.Namespace, Name: s.Name, UID: s.UID, Labels: s.Labels}
}

// key identifies the subject in a control's results: its uid, or for objects built offline
// without one, its kind and name (see Subject.Key).
func (r SubjectRef) key() types.UID {
	if r.UID != "" {
		return r.UID
	}
	return types.UID(strings.Join([]string{r.APIVersion, r.Kind, r.Namespace, r.Name}, "/"))
}

// record stores the verdict on a matched subject, with what it depended on (memo), and
// reports whether it changed anything. Callers hold e.mu.
func (e *Evaluator) record(cs *controlState, ref SubjectRef, res policy.Result, err error, memo verdictMemo, now time.Time) bool {
	changed := e.recordResult(cs, ref, res, err, memo, now)
	if changed {
		cs.markDirty(e.NamespaceOf(ref))
	}
	return changed
}

func (e *Evaluator) recordResult(cs *controlState, ref SubjectRef, res policy.Result, err error, memo verdictMemo, now time.Time) bool {
	cs.lastEvaluated = now
	key := ref.key()
	if err != nil {
		memo = verdictMemo{} // an error is evaluated again, whatever changed
	}
	wasMatched := cs.matched.set(&e.slots, key, memo)
	ns := e.NamespaceOf(ref)
	if err != nil {
		changed := e.removeFailing(cs, ns, key)
		prev := cs.errored[key]
		cs.errored[key] = &SubjectResult{Subject: ref, Err: err.Error(), Transient: transient(err)}
		return changed || prev == nil || prev.Err != err.Error() || !wasMatched
	}
	_, wasErrored := cs.errored[key]
	delete(cs.errored, key)
	if len(res.Violations) == 0 {
		return e.removeFailing(cs, ns, key) || wasErrored || !wasMatched
	}
	prev := cs.failing[ns][key]
	e.addFailing(cs, ns, key, &SubjectResult{Subject: ref, Violations: withoutDetails(res.Violations)})
	cs.observed[ns] = now
	// A subject that fails again in the same way changes nothing a Finding shows but its
	// lastSeen. That moves with the Finding's next write, and at every sweep: reporting it
	// here would make every update of a failing object a Finding write for every control that
	// targets it (at 50 controls, tens of writes a second under ordinary churn).
	return prev == nil || !sameMessages(prev.Violations, res.Violations) || wasErrored || !wasMatched
}

// withoutDetails drops the violations' details, which Findings do not show, before they are
// kept for as long as the subject fails: a decoded details object is a Go map of a few hundred
// bytes, kept for every failing (control, subject) pair.
func withoutDetails(vs []policy.Violation) []policy.Violation {
	for i := range vs {
		vs[i].Details = nil
	}
	return vs
}

func sameMessages(a, b []policy.Violation) bool {
	return slices.EqualFunc(a, b, func(x, y policy.Violation) bool { return x.Message == y.Message })
}

func (e *Evaluator) addFailing(cs *controlState, ns string, key types.UID, r *SubjectResult) {
	byUID := cs.failing[ns]
	if byUID == nil {
		byUID = map[types.UID]*SubjectResult{}
		cs.failing[ns] = byUID
	}
	byUID[key] = r
}

func (e *Evaluator) removeFailing(cs *controlState, ns string, uid types.UID) bool {
	byUID := cs.failing[ns]
	if _, ok := byUID[uid]; !ok {
		return false
	}
	delete(byUID, uid)
	if len(byUID) == 0 {
		delete(cs.failing, ns)
		delete(cs.observed, ns)
	}
	return true
}

// forget drops a subject from a control's results and reports whether it was there.
func (e *Evaluator) forget(cs *controlState, ref SubjectRef) bool {
	key := ref.key()
	matched := cs.matched.remove(&e.slots, key)
	_, errored := cs.errored[key]
	delete(cs.errored, key)
	ns := e.NamespaceOf(ref)
	failing := e.removeFailing(cs, ns, key)
	if failing {
		cs.markDirty(ns)
	}
	return matched || errored || failing
}

// Summary is a Control's standing, for its status.
type Summary struct {
	Known         bool // the control is registered
	Swept         bool // evaluated against all its subjects at least once
	Generation    int64
	PolicyDigest  string
	Evaluated     int
	Failing       int
	Errored       int
	FirstError    string
	LastEvaluated time.Time
	LastSweep     time.Time
	// FailingNamespaces are the namespaces (as given to NamespaceOf) with failing subjects.
	FailingNamespaces []string
	// EventsDeferred: events skipped the control since its last sweep because it spent its
	// event budget; its next sweep evaluates what they skipped (see "Budgets" in budget.go).
	EventsDeferred bool
	// SweepBudgetSpent: the latest sweep ran out of the control's sweep budget, SweepBudget,
	// and the subjects it did not reach are among Errored.
	SweepBudgetSpent bool
	SweepBudget      time.Duration
	// TransientErrors counts the Errored subjects whose error is of the moment, and
	// TransientRetries the sweeps in a row that left such errors: schedule.SweepInterval
	// sweeps the control again sooner.
	TransientErrors  int
	TransientRetries int
	// SweepEvaluated counts the subjects the latest sweep evaluated, and SweepSkipped those
	// whose verdict it kept instead, because nothing the verdict depends on had changed (see
	// "Reused verdicts" in memo.go).
	SweepEvaluated int
	SweepSkipped   int
}

// Summarize returns a control's standing.
func (e *Evaluator) Summarize(control string) Summary {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[control]
	if !ok {
		return Summary{}
	}
	sum := Summary{
		Known:         true,
		Swept:         cs.swept,
		Generation:    cs.def.Generation,
		Evaluated:     cs.matched.len(),
		Errored:       len(cs.errored),
		LastEvaluated: cs.lastEvaluated,
		LastSweep:     cs.lastSweep,

		EventsDeferred:   cs.eventsDeferred,
		SweepBudgetSpent: cs.sweepBudgetSpent,
		SweepBudget:      e.sweepBudget,
		TransientRetries: cs.transientRetries,
		SweepEvaluated:   cs.sweepEvaluated,
		SweepSkipped:     cs.sweepReused,
	}
	if cs.def.Policy != nil {
		sum.PolicyDigest = cs.def.Policy.Digest
	}
	for ns, byUID := range cs.failing {
		sum.Failing += len(byUID)
		sum.FailingNamespaces = append(sum.FailingNamespaces, ns)
	}
	sort.Strings(sum.FailingNamespaces)
	if len(cs.errored) > 0 {
		errs := make([]string, 0, len(cs.errored))
		for _, r := range cs.errored {
			errs = append(errs, fmt.Sprintf("%s %s: %s", r.Subject.Kind, qualifiedName(r.Subject), r.Err))
			if r.Transient {
				sum.TransientErrors++
			}
		}
		sort.Strings(errs)
		sum.FirstError = errs[0]
	}
	return sum
}

// Failures returns the failing subjects of a control whose Finding lives in namespace ns,
// sorted by kind, namespace and name, and when the failure was last observed.
func (e *Evaluator) Failures(control, ns string) ([]SubjectResult, time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[control]
	if !ok {
		return nil, time.Time{}
	}
	byUID := cs.failing[ns]
	out := make([]SubjectResult, 0, len(byUID))
	for _, r := range byUID {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return lessRef(out[i].Subject, out[j].Subject) })
	return out, cs.observed[ns]
}

func lessRef(a, b SubjectRef) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

func qualifiedName(r SubjectRef) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// NonPassing returns every failing subject of a control, in all namespaces, and every
// subject whose evaluation failed, in no particular order: what the evidence ledger records
// of a control besides its counts. It walks only those subjects, never the passing ones.
func (e *Evaluator) NonPassing(control string) (failing, errored []SubjectResult) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[control]
	if !ok {
		return nil, nil
	}
	for _, byUID := range cs.failing {
		for _, r := range byUID {
			failing = append(failing, *r)
		}
	}
	errored = make([]SubjectResult, 0, len(cs.errored))
	for _, r := range cs.errored {
		errored = append(errored, *r)
	}
	return failing, errored
}
