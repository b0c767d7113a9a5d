package evaluation

import (
	"context"
	"errors"
	"maps"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// ControlDefinition is what the evaluator needs of a Control.
type ControlDefinition struct {
	Name       string
	Generation int64
	Targets    ismsv1.Targets
	// Inventory lists kinds the policy reads from data.inventory without evaluating them.
	Inventory  []ismsv1.KindSelector
	Policy     *policy.Policy
	Parameters ast.Value
}

// controlState is the evaluator's memory of one control.
type controlState struct {
	def     ControlDefinition
	matcher *Matcher
	// inventoryKinds are the kinds whose changes call for a sweep (spec.inventory).
	inventoryKinds map[schema.GroupKind]bool
	// definition, reads and volatile are what its verdicts depend on besides the object;
	// inputs are those it last saw and epoch numbers them (see "Reused verdicts" in memo.go).
	definition [32]byte
	reads      inventoryReads
	volatile   bool
	inputs     controlInputs
	epoch      uint64

	// matched holds every matched subject, with what its verdict depended on, by the
	// evaluator's slots (see "Dense verdict memos" in slots.go).
	matched verdictMemos
	// failing holds failing subjects by the namespace their Finding lives in.
	failing map[string]map[types.UID]*SubjectResult
	errored map[types.UID]*SubjectResult
	// observed is when a failure in a namespace was last confirmed, for Finding.lastSeen.
	observed map[string]time.Time

	// touched is non-nil while a sweep of the control runs, and collects the subjects that
	// events evaluated or forgot meanwhile (see "Events and sweeps" in sweep.go).
	touched map[types.UID]struct{}

	// dirty holds the namespaces whose Findings may no longer match the results, and allDirty
	// says that every namespace may (after a sweep). The reconciler takes them, so that one
	// changed object costs the sync of one Finding, not of all the control's Findings.
	dirty    map[string]struct{}
	allDirty bool

	swept bool
	// sweptBatch is the sweep batch the results come from (see Subject.sweptIn).
	sweptBatch uint64
	// needsSweep: the control changed, or data it reads did, since its last sweep.
	needsSweep    bool
	lastEvaluated time.Time
	lastSweep     time.Time

	// events is the control's event budget; eventsDeferred says that events skipped the
	// control since its last sweep because the budget was spent (see "Budgets" in budget.go).
	events         eventBudget
	eventsDeferred bool
	// deferredInSweep: events were deferred while a sweep ran, which may have listed the
	// subject before the change; the deferral outlives that sweep's merge.
	deferredInSweep bool
	// sweepBudgetSpent: the latest sweep ran out of the control's sweep budget.
	sweepBudgetSpent bool
	// transientRetries counts the sweeps in a row that left transient errors.
	transientRetries int
	// sweepEvaluated and sweepReused count the latest sweep's subjects that were evaluated,
	// and those whose verdict it kept (see "Reused verdicts" in memo.go).
	sweepEvaluated, sweepReused int
}

// Evaluator holds the results of every Control. It is safe for concurrent use.
//
// Its locks, and what may be taken under each:
//   - invMu orders the writes to data.inventory (LoadInventory, and the inventory part of Upsert
//     and Delete). Upsert and Delete release it before they take mu: invMu and mu are never
//     held together, in either order. Under invMu, LoadInventory calls its list function (the
//     watches' stores, which lock themselves) and writes to the inventory store.
//   - mu guards controls, namespaceLabels and every controlState. No policy is evaluated
//     under it: an event takes it to plan its evaluations and to record them (planEvent,
//     recordEvent), a sweep to snapshot, to merge, and for each chunk of subjects to look up
//     the verdicts it can keep (markReused).
//   - The policy package's locks are leaves, taken under either or under none, and taking
//     neither: the inventory store's read-write lock (writes under invMu, reads by every
//     evaluation) and the deadline watchdog's (every evaluation).
//   - inventoryVersions' lock is a leaf too: taken under invMu to count a write, under mu to
//     read the versions (inputsEpoch).
//
// batches and Subject.sweptIn are atomics, read and written without a lock. How events and a
// sweep that runs meanwhile agree on a subject is described under "Events and sweeps" in
// sweep.go.
type Evaluator struct {
	inventory *policy.Inventory
	// invMu orders the inventory's writes, so that loading a kind (LoadInventory) and the
	// events of that kind cannot leave a deleted object behind.
	invMu sync.Mutex
	// inventoryKinds are the kinds data.inventory holds: those some control names under
	// spec.inventory, since its first LoadInventory. Held under invMu.
	inventoryKinds map[schema.GroupKind]bool
	// inventoryVersions count the writes to data.inventory (a leaf lock).
	inventoryVersions inventoryVersions
	// clusterNamespace receives the Findings of cluster-scoped subjects.
	clusterNamespace string
	now              func() time.Time

	// workers evaluate a sweep in parallel.
	workers int
	// sweepBudget is each control's evaluation time per sweep (see "Budgets" in budget.go).
	sweepBudget time.Duration
	// batches numbers sweeps (see Subject.sweptIn); 0 means none.
	batches atomic.Uint64
	// progress counts the subjects evaluated or forgotten, on events and in sweeps: the
	// liveness probe's heartbeat (see Progress).
	progress atomic.Uint64
	// afterSweepSnapshot, when set (by tests), runs between a sweep's snapshot and its
	// evaluation, where events may interleave.
	afterSweepSnapshot func()

	mu              sync.Mutex
	controls        map[string]*controlState
	namespaceLabels map[string]map[string]string
	// slots number the subjects the controls hold memos of (see slots.go).
	slots subjectSlots
}

// NewEvaluator returns an evaluator whose policies read inv, and which files failing
// cluster-scoped subjects under clusterNamespace.
func NewEvaluator(inv *policy.Inventory, clusterNamespace string, now func() time.Time) *Evaluator {
	if now == nil {
		now = time.Now
	}
	return &Evaluator{
		inventory:        inv,
		clusterNamespace: clusterNamespace,
		now:              now,
		controls:         map[string]*controlState{},
		namespaceLabels:  map[string]map[string]string{},
		inventoryKinds:   map[schema.GroupKind]bool{},
		workers:          runtime.GOMAXPROCS(0),
		sweepBudget:      DefaultSweepBudget,
	}
}

// SetSweepBudget sets the evaluation time each control may spend in one sweep; d <= 0 restores
// DefaultSweepBudget. Call it before the first sweep.
func (e *Evaluator) SetSweepBudget(d time.Duration) {
	if d <= 0 {
		d = DefaultSweepBudget
	}
	e.mu.Lock()
	e.sweepBudget = d
	e.mu.Unlock()
}

// NamespaceOf is the namespace where the Finding for a failing subject lives.
func (e *Evaluator) NamespaceOf(s SubjectRef) string {
	if s.Namespace == "" {
		return e.clusterNamespace
	}
	return s.Namespace
}

// SetControl registers or updates a control. A new control, or one whose policy, parameters or
// scope changed, must be swept (NeedsSweep); its results are kept until that sweep so that a
// spec change does not flap Findings.
func (e *Evaluator) SetControl(def ControlDefinition) error {
	m, err := NewMatcher(def.Targets)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[def.Name]
	if !ok {
		cs = &controlState{
			failing:  map[string]map[types.UID]*SubjectResult{},
			errored:  map[types.UID]*SubjectResult{},
			observed: map[string]time.Time{},
			dirty:    map[string]struct{}{},
		}
		e.controls[def.Name] = cs
	}
	changed := !ok || cs.def.Generation != def.Generation || cs.def.Policy != def.Policy
	cs.def, cs.matcher = def, m
	cs.definition, cs.reads = definitionDigest(def), readsOf(def)
	cs.volatile = def.Policy != nil && def.Policy.Volatile()
	cs.inventoryKinds = map[schema.GroupKind]bool{}
	for _, gk := range GroupKinds(def.Inventory) {
		cs.inventoryKinds[gk] = true
	}
	if changed {
		cs.needsSweep = true
	}
	return nil
}

// RemoveControl forgets a control.
func (e *Evaluator) RemoveControl(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if cs, ok := e.controls[name]; ok {
		cs.matched.releaseAll(&e.slots)
		delete(e.controls, name)
	}
}

// ControlsTargeting returns the controls whose subjects or inventory include kind gk.
func (e *Evaluator) ControlsTargeting(gk schema.GroupKind) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for name, cs := range e.controls {
		if cs.matcher.Targets(gk) || cs.inventoryKinds[gk] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// NeedsSweep reports whether the control must be swept before its results can be trusted.
func (e *Evaluator) NeedsSweep(control string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[control]
	return ok && (cs.needsSweep || !cs.swept)
}

// Upsert records a new or changed subject: it updates the inventory if the subject's kind is
// in it, re-evaluates the subject for every control that targets its kind, and returns the
// controls whose results changed or that must be swept because their policy reads this kind
// from the inventory.
//
// The policies are evaluated outside e.mu (see eventEvaluation): a slow policy holds up
// neither a sweep's merge nor the events of other kinds, and a control whose event budget is
// spent is not evaluated at all (see "Budgets" in budget.go). Events of one subject come from
// its kind's watch, one at a time, so two evaluations of one subject never race.
func (e *Evaluator) Upsert(ctx context.Context, s *Subject) ([]string, error) {
	defer e.progress.Add(1)
	value, err := e.putInventory(ctx, s)
	if err != nil {
		return nil, err
	}
	object := &objectValue{s: s, v: value}
	plan, affected := e.planEvent(s)
	for i := range plan {
		plan[i].run(ctx, object)
	}
	affected = append(affected, e.recordEvent(s, plan)...)
	return dedupe(affected), nil
}

// eventEvaluation is one control's evaluation of an event's subject: what the control was
// when the event was planned, and the outcome.
type eventEvaluation struct {
	cs  *controlState
	def ControlDefinition
	// inputs is the control's inputsEpoch when the event was planned.
	inputs uint64
	res    policy.Result
	err    error
	// took is how long the evaluation ran, charged to the control's event budget.
	took time.Duration
}

func (ev *eventEvaluation) run(ctx context.Context, object *objectValue) {
	start := time.Now()
	ev.res, ev.err = ev.def.Policy.Evaluate(ctx, policy.Input{Object: object.get(), Parameters: ev.def.Parameters})
	ev.took = time.Since(start)
}

// planEvent decides, under e.mu, what an event for s asks of each control: the evaluations to
// run, and the controls affected without one (a subject that left a control's scope, a kind
// the control reads from the inventory, namespace labels a scope depends on).
func (e *Evaluator) planEvent(s *Subject) ([]eventEvaluation, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var affected []string
	if IsNamespace(s.GroupKind()) {
		affected = append(affected, e.setNamespaceLabels(s.Name, s.Labels)...)
	}
	now := e.now()
	var plan []eventEvaluation
	for name, cs := range e.controls {
		if cs.inventoryKinds[s.GroupKind()] {
			cs.needsSweep = true
			affected = append(affected, name)
		}
		if !cs.matcher.Targets(s.GroupKind()) || !cs.awaitsEvents() || cs.sweptThis(s) {
			continue
		}
		switch {
		case !cs.matcher.Matches(s, e.labelsOfScope(s)):
			cs.markTouched(s)
			if e.forget(cs, refOf(s)) {
				affected = append(affected, name)
			}
		case !cs.events.allows(now):
			// Not touched: a sweep under way judges the subject, and the next one if none is.
			cs.eventsDeferred = true
			cs.deferredInSweep = cs.touched != nil
		default:
			cs.markTouched(s)
			plan = append(plan, eventEvaluation{cs: cs, def: cs.def, inputs: e.inputsEpoch(cs)})
		}
	}
	return plan, affected
}

// recordEvent stores, under e.mu, the outcomes of an event's evaluations, and returns the
// controls whose results changed. An outcome is dropped when its control was removed or
// redefined meanwhile: the control's own change asks for the sweep that replaces it.
func (e *Evaluator) recordEvent(s *Subject, plan []eventEvaluation) []string {
	if len(plan) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	var affected []string
	for i := range plan {
		ev := &plan[i]
		cs := ev.cs
		cs.events.spend(now, ev.took, errors.Is(ev.err, policy.ErrDeadline) || errors.Is(ev.err, policy.ErrMemoryGuard))
		if e.controls[ev.def.Name] != cs || cs.def.Policy != ev.def.Policy || cs.def.Generation != ev.def.Generation {
			continue
		}
		memo := verdictMemo{resourceVersion: resourceVersionOf(s), inputs: ev.inputs}
		if e.record(cs, refOf(s), ev.res, ev.err, memo, now) {
			affected = append(affected, ev.def.Name)
		}
	}
	return affected
}

// Progress is the number of subjects evaluated so far, on events and in sweeps (including
// those of a sweep still running). It only grows; a count that stands still while work waits
// means evaluation is wedged.
func (e *Evaluator) Progress() uint64 {
	return e.progress.Load()
}

// objectValue builds a subject's engine value on first use, once for all the controls an event
// evaluates.
type objectValue struct {
	s *Subject
	v ast.Value
}

func (o *objectValue) get() ast.Value {
	if o.v == nil {
		o.v = o.s.Materialize()
	}
	return o.v
}

// Delete forgets a subject that no longer exists and returns the controls it affected.
func (e *Evaluator) Delete(ctx context.Context, s *Subject) ([]string, error) {
	defer e.progress.Add(1)
	if err := e.deleteInventory(ctx, s); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if IsNamespace(s.GroupKind()) {
		delete(e.namespaceLabels, s.Name)
	}
	var affected []string
	for name, cs := range e.controls {
		if cs.matcher.Targets(s.GroupKind()) {
			cs.markTouched(s)
			if e.forget(cs, refOf(s)) {
				affected = append(affected, name)
			}
		}
		if cs.inventoryKinds[s.GroupKind()] {
			cs.needsSweep = true
			affected = append(affected, name)
		}
	}
	return dedupe(affected), nil
}

// setNamespaceLabels records a namespace's labels and returns the controls whose scope depends
// on them, marked for a sweep, when they changed.
func (e *Evaluator) setNamespaceLabels(ns string, l map[string]string) []string {
	old, seen := e.namespaceLabels[ns]
	e.namespaceLabels[ns] = l
	if seen && maps.Equal(old, l) {
		return nil
	}
	var affected []string
	for name, cs := range e.controls {
		if cs.matcher.UsesNamespaceLabels() {
			cs.needsSweep = true
			affected = append(affected, name)
		}
	}
	return affected
}

func (e *Evaluator) labelsOfScope(s *Subject) map[string]string {
	if IsNamespace(s.GroupKind()) {
		return s.Labels
	}
	return e.namespaceLabels[s.Namespace]
}

func dedupe(xs []string) []string {
	slices.Sort(xs)
	return slices.Compact(xs)
}
