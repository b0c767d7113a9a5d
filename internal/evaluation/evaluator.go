package evaluation

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
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

// SubjectResult is the verdict on one failing or erroring subject.
type SubjectResult struct {
	Subject    SubjectRef
	Violations []policy.Violation
	Err        string
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
}

// controlState is the evaluator's memory of one control.
type controlState struct {
	def     ControlDefinition
	matcher *Matcher
	// inventoryKinds are the kinds whose changes call for a sweep (spec.inventory).
	inventoryKinds map[schema.GroupKind]bool

	matched map[types.UID]struct{}
	// failing holds failing subjects by the namespace their Finding lives in.
	failing map[string]map[types.UID]*SubjectResult
	errored map[types.UID]*SubjectResult
	// observed is when a failure in a namespace was last confirmed, for Finding.lastSeen.
	observed map[string]time.Time

	// touched, while a sweep runs outside the lock, collects the subjects that events
	// evaluated or forgot meanwhile: their event results are newer than the sweep's.
	touched map[types.UID]struct{}

	// dirty holds the namespaces whose Findings may no longer match the results, and allDirty
	// says that every namespace may (after a sweep). The reconciler takes them, so that one
	// changed object costs the sync of one Finding, not of all the control's Findings.
	dirty    map[string]struct{}
	allDirty bool

	swept bool
	// sweptBatch is the sweep batch the results come from (see Subject.sweptIn).
	sweptBatch    uint64
	needsSweep    bool
	lastEvaluated time.Time
	lastSweep     time.Time
}

// Evaluator holds the results of every Control. It is safe for concurrent use.
type Evaluator struct {
	inventory *policy.Inventory
	// invMu orders the inventory's writes, so that loading a kind (LoadInventory) and the
	// events of that kind cannot leave a deleted object behind.
	invMu sync.Mutex
	// inventoryKinds are the kinds data.inventory holds: those some control names under
	// spec.inventory, since its first LoadInventory. Held under invMu.
	inventoryKinds map[schema.GroupKind]bool
	// clusterNamespace receives the Findings of cluster-scoped subjects.
	clusterNamespace string
	now              func() time.Time

	// workers evaluate a sweep in parallel.
	workers int
	// batches numbers sweeps (see Subject.sweptIn); 0 means none.
	batches atomic.Uint64
	// afterSweepSnapshot, when set (by tests), runs between a sweep's snapshot and its
	// evaluation, where events may interleave.
	afterSweepSnapshot func()

	mu              sync.Mutex
	controls        map[string]*controlState
	namespaceLabels map[string]map[string]string
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
	}
}

// NamespaceOf is the namespace where the Finding for a failing subject lives.
func (e *Evaluator) NamespaceOf(s SubjectRef) string {
	if s.Namespace == "" {
		return e.clusterNamespace
	}
	return s.Namespace
}

// SetControl registers or updates a control. It reports whether the control must be swept
// (it is new, or its policy, parameters or scope changed); results are kept until that sweep
// so that a spec change does not flap Findings.
func (e *Evaluator) SetControl(def ControlDefinition) (needsSweep bool, err error) {
	m, err := NewMatcher(def.Targets)
	if err != nil {
		return false, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[def.Name]
	if !ok {
		cs = &controlState{
			matched:  map[types.UID]struct{}{},
			failing:  map[string]map[types.UID]*SubjectResult{},
			errored:  map[types.UID]*SubjectResult{},
			observed: map[string]time.Time{},
			dirty:    map[string]struct{}{},
		}
		e.controls[def.Name] = cs
	}
	changed := !ok || cs.def.Generation != def.Generation || cs.def.Policy != def.Policy
	cs.def, cs.matcher = def, m
	cs.inventoryKinds = map[schema.GroupKind]bool{}
	for _, gk := range GroupKinds(def.Inventory) {
		cs.inventoryKinds[gk] = true
	}
	if changed {
		cs.needsSweep = true
	}
	return cs.needsSweep || !cs.swept, nil
}

// RemoveControl forgets a control.
func (e *Evaluator) RemoveControl(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.controls, name)
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

// LoadInventory makes data.inventory hold the objects of the given kinds, as the controls that
// name them under spec.inventory need: from now on their events update it, and the objects
// list returns (a watch's store) are put there now. A kind loaded before is not listed again.
//
// data.inventory holds only such kinds: keeping an engine value of every watched object would
// cost several times what the objects cost in compact form.
func (e *Evaluator) LoadInventory(ctx context.Context, kinds []schema.GroupKind, list func([]schema.GroupKind) []*Subject) error {
	e.invMu.Lock()
	defer e.invMu.Unlock()
	var load []schema.GroupKind
	for _, gk := range kinds {
		if !e.inventoryKinds[gk] {
			e.inventoryKinds[gk] = true
			load = append(load, gk)
		}
	}
	if len(load) == 0 {
		return nil
	}
	// Listed under invMu: an event of these kinds waits, and then finds its kind loaded.
	for _, s := range list(load) {
		if _, err := e.putLocked(ctx, s); err != nil {
			for _, gk := range load {
				delete(e.inventoryKinds, gk) // loaded again by the control's next reconcile
			}
			return err
		}
	}
	return nil
}

// Upsert records a new or changed subject: it updates the inventory if the subject's kind is
// in it, re-evaluates the subject for every control that targets its kind, and returns the
// controls whose results changed or that must be swept because their policy reads this kind
// from the inventory.
func (e *Evaluator) Upsert(ctx context.Context, s *Subject) ([]string, error) {
	value, err := e.putInventory(ctx, s)
	if err != nil {
		return nil, err
	}
	object := &objectValue{s: s, v: value}
	e.mu.Lock()
	defer e.mu.Unlock()
	var affected []string
	if IsNamespace(s.GroupKind()) {
		affected = append(affected, e.setNamespaceLabels(s.Name, s.Labels)...)
	}
	now := e.now()
	for name, cs := range e.controls {
		if cs.matcher.Targets(s.GroupKind()) && cs.awaitsEvents() && !cs.sweptThis(s) {
			cs.markTouched(s)
			if e.evaluate(ctx, cs, s, object, now) {
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

// putInventory stores the subject in data.inventory if its kind is loaded there, and returns
// the value it stored.
func (e *Evaluator) putInventory(ctx context.Context, s *Subject) (ast.Value, error) {
	e.invMu.Lock()
	defer e.invMu.Unlock()
	if !e.inventoryKinds[s.GroupKind()] {
		return nil, nil
	}
	return e.putLocked(ctx, s)
}

// putLocked stores the subject's value in data.inventory; callers hold invMu.
func (e *Evaluator) putLocked(ctx context.Context, s *Subject) (ast.Value, error) {
	v := s.Materialize()
	if err := e.inventory.Put(ctx, s.InventoryPath(), v); err != nil {
		return nil, fmt.Errorf("storing %s %s/%s in the inventory: %w", s.GVK.Kind, s.Namespace, s.Name, err)
	}
	return v, nil
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

// deleteInventory removes the subject from data.inventory if its kind is loaded there.
func (e *Evaluator) deleteInventory(ctx context.Context, s *Subject) error {
	e.invMu.Lock()
	defer e.invMu.Unlock()
	if !e.inventoryKinds[s.GroupKind()] {
		return nil
	}
	if err := e.inventory.Delete(ctx, s.InventoryPath()); err != nil {
		return fmt.Errorf("removing %s %s/%s from the inventory: %w", s.GVK.Kind, s.Namespace, s.Name, err)
	}
	return nil
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

// Sweep evaluates one control against all the given subjects; see SweepControls. It returns an
// error if the control is not registered or ctx ends.
func (e *Evaluator) Sweep(ctx context.Context, control string, subjects []*Subject) error {
	e.mu.Lock()
	_, ok := e.controls[control]
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("control %q is not registered", control)
	}
	_, err := e.SweepControls(ctx, []string{control}, subjects)
	return err
}

// SweepControls evaluates the named controls against all the given subjects (every object of
// their target kinds) and replaces their results. It makes one pass over the subjects,
// evaluating each against every control that matches it, on a few goroutines and outside the
// evaluator's lock, so events keep being evaluated meanwhile; a subject an event evaluated
// during the sweep keeps the event's result, which is the newer. Controls that are not
// registered are skipped; it returns those it swept, and an error only if ctx ends.
func (e *Evaluator) SweepControls(ctx context.Context, controls []string, subjects []*Subject) ([]string, error) {
	jobs, scope := e.sweepSnapshot(controls)
	if len(jobs) == 0 {
		return nil, nil
	}
	if e.afterSweepSnapshot != nil {
		e.afterSweepSnapshot()
	}
	batch := e.batches.Add(1)
	evaluateAll(ctx, jobs, subjects, scope, e.workers, batch)

	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	var swept []string
	for _, job := range jobs {
		cs := job.cs
		touched := cs.touched
		cs.touched = nil
		if ctx.Err() != nil {
			continue
		}
		if e.controls[job.def.Name] != cs || cs.def.Policy != job.def.Policy || cs.def.Generation != job.def.Generation {
			cs.needsSweep = true // removed or changed while sweeping: these results are stale
			continue
		}
		e.mergeSweep(cs, job.results(subjects), touched, now)
		cs.sweptBatch = batch
		swept = append(swept, job.def.Name)
	}
	return swept, ctx.Err()
}

// sweepJob is one control of a sweep: what it was when the sweep started, and a verdict slot
// per subject.
type sweepJob struct {
	cs       *controlState
	def      ControlDefinition
	matcher  *Matcher
	verdicts []verdict
}

// verdict is one evaluation of a sweep, kept small: a sweep holds one per (control, subject).
type verdict struct {
	matched bool
	res     policy.Result
	err     error
}

func (j *sweepJob) results(subjects []*Subject) []subjectVerdict {
	out := make([]subjectVerdict, 0, len(subjects))
	for i, v := range j.verdicts {
		if v.matched {
			out = append(out, subjectVerdict{ref: refOf(subjects[i]), res: v.res, err: v.err})
		}
	}
	return out
}

// sweepSnapshot takes what a sweep evaluates: the controls' definitions, and the namespace
// labels that decide which subjects they match.
func (e *Evaluator) sweepSnapshot(controls []string) ([]*sweepJob, map[string]map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var jobs []*sweepJob
	for _, name := range dedupe(slices.Clone(controls)) {
		cs, ok := e.controls[name]
		if !ok {
			continue
		}
		cs.touched = map[types.UID]struct{}{}
		jobs = append(jobs, &sweepJob{cs: cs, def: cs.def, matcher: cs.matcher})
	}
	return jobs, maps.Clone(e.namespaceLabels) // label maps are replaced, never changed in place
}

type subjectVerdict struct {
	ref SubjectRef
	res policy.Result
	err error
}

// evaluateAll evaluates every subject against every job whose control matches it, on a few
// goroutines. Subject-major order evaluates all the controls of one object while its value is
// in the CPU's cache.
func evaluateAll(ctx context.Context, jobs []*sweepJob, subjects []*Subject, namespaceLabels map[string]map[string]string, workers int, batch uint64) {
	for _, job := range jobs {
		job.verdicts = make([]verdict, len(subjects))
	}
	const chunk = 32
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(workers, (len(subjects)+chunk-1)/chunk)) {
		wg.Go(func() {
			for {
				first := int(next.Add(chunk)) - chunk
				if first >= len(subjects) || ctx.Err() != nil {
					return
				}
				for i := first; i < min(first+chunk, len(subjects)); i++ {
					s := subjects[i]
					labels := namespaceLabels[s.Namespace]
					if IsNamespace(s.GroupKind()) {
						labels = s.Labels
					}
					// Built once for all the controls, and garbage when the next object is
					// evaluated: a sweep holds one engine value per goroutine, not per object.
					object := objectValue{s: s}
					for _, job := range jobs {
						if !job.matcher.Matches(s, labels) {
							continue
						}
						res, err := job.def.Policy.Evaluate(ctx, policy.Input{Object: object.get(), Parameters: job.def.Parameters})
						job.verdicts[i] = verdict{matched: true, res: res, err: err}
					}
					atomic.StoreUint64(&s.sweptIn, batch)
				}
			}
		})
	}
	wg.Wait()
}

// mergeSweep replaces a control's results with a sweep's, except for the subjects events
// touched during the sweep. Callers hold e.mu.
func (e *Evaluator) mergeSweep(cs *controlState, results []subjectVerdict, touched map[types.UID]struct{}, now time.Time) {
	// Keep which namespaces had failures so that their Findings are revisited (and resolved)
	// when nothing fails there any more.
	previous := cs.failing
	oldMatched, oldErrored := cs.matched, cs.errored
	cs.matched = make(map[types.UID]struct{}, len(results))
	cs.failing = make(map[string]map[types.UID]*SubjectResult, len(previous))
	cs.errored = map[types.UID]*SubjectResult{}
	for _, r := range results {
		if _, ok := touched[r.ref.key()]; !ok {
			// No namespace is marked dirty one by one: after a sweep all are (allDirty).
			e.recordResult(cs, r.ref, r.res, r.err, now)
		}
	}
	for key := range touched {
		if _, ok := oldMatched[key]; ok {
			cs.matched[key] = struct{}{}
		}
		if r, ok := oldErrored[key]; ok {
			cs.errored[key] = r
		}
		for ns, byUID := range previous {
			if r, ok := byUID[key]; ok {
				e.addFailing(cs, ns, key, r)
			}
		}
	}
	for ns := range cs.failing {
		cs.observed[ns] = now
	}
	for ns := range previous {
		if _, still := cs.failing[ns]; !still {
			delete(cs.observed, ns)
			cs.dirty[ns] = struct{}{} // its Finding resolves
		}
	}
	cs.swept, cs.needsSweep = true, false
	cs.lastSweep, cs.lastEvaluated = now, now
	cs.allDirty = true
}

// awaitsEvents reports whether events must evaluate the control. A control that was never
// swept and is not being swept needs no event evaluation: the sweep it waits for lists the
// watch's store, which holds the object before its event is delivered. Skipping these halves
// the work of a first evaluation, when the initial list of a new watch arrives as events.
func (cs *controlState) awaitsEvents() bool {
	return cs.swept || cs.touched != nil
}

// sweptThis reports whether the control's results already hold this very object, evaluated
// by its latest sweep, with no sweep under way since.
func (cs *controlState) sweptThis(s *Subject) bool {
	return cs.touched == nil && cs.sweptBatch != 0 && atomic.LoadUint64(&s.sweptIn) == cs.sweptBatch
}

func (cs *controlState) markTouched(s *Subject) {
	if cs.touched != nil {
		cs.touched[refOf(s).key()] = struct{}{}
	}
}

// evaluate re-evaluates one subject for one control and reports whether the result changed.
// Callers hold e.mu.
func (e *Evaluator) evaluate(ctx context.Context, cs *controlState, s *Subject, object *objectValue, now time.Time) bool {
	ref := refOf(s)
	if !cs.matcher.Matches(s, e.labelsOfScope(s)) {
		return e.forget(cs, ref)
	}
	res, err := cs.def.Policy.Evaluate(ctx, policy.Input{Object: object.get(), Parameters: cs.def.Parameters})
	return e.record(cs, ref, res, err, now)
}

// record stores the verdict on a matched subject and reports whether it changed anything.
// Callers hold e.mu.
func (e *Evaluator) record(cs *controlState, ref SubjectRef, res policy.Result, err error, now time.Time) bool {
	changed := e.recordResult(cs, ref, res, err, now)
	if changed {
		cs.markDirty(e.NamespaceOf(ref))
	}
	return changed
}

func (e *Evaluator) recordResult(cs *controlState, ref SubjectRef, res policy.Result, err error, now time.Time) bool {
	cs.lastEvaluated = now
	key := ref.key()
	_, wasMatched := cs.matched[key]
	cs.matched[key] = struct{}{}
	ns := e.NamespaceOf(ref)
	if err != nil {
		changed := e.removeFailing(cs, ns, key)
		prev := cs.errored[key]
		cs.errored[key] = &SubjectResult{Subject: ref, Err: err.Error()}
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

// forget drops a subject from a control's results and reports whether it was there.
func (e *Evaluator) forget(cs *controlState, ref SubjectRef) bool {
	key := ref.key()
	_, matched := cs.matched[key]
	delete(cs.matched, key)
	_, errored := cs.errored[key]
	delete(cs.errored, key)
	ns := e.NamespaceOf(ref)
	failing := e.removeFailing(cs, ns, key)
	if failing {
		cs.markDirty(ns)
	}
	return matched || errored || failing
}

func (cs *controlState) markDirty(ns string) {
	if !cs.allDirty {
		cs.dirty[ns] = struct{}{}
	}
}

// TakeDirty returns the namespaces whose Findings of the control must be synced since the last
// call, and forgets them; all is true when every namespace must be (after a sweep), with the
// failing namespaces listed. A caller that fails to sync a namespace gives it back with
// MarkDirty.
func (e *Evaluator) TakeDirty(control string) (namespaces []string, all bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[control]
	if !ok {
		return nil, false
	}
	all = cs.allDirty
	if all {
		for ns := range cs.failing {
			cs.dirty[ns] = struct{}{}
		}
	}
	namespaces = slices.Sorted(maps.Keys(cs.dirty))
	clear(cs.dirty)
	cs.allDirty = false
	return namespaces, all
}

// MarkDirty asks for the Findings of a control in the given namespaces to be synced again, for
// example because a sync failed or someone changed or deleted a Finding. It reports whether the
// control is known.
func (e *Evaluator) MarkDirty(control string, namespaces ...string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[control]
	if !ok {
		return false
	}
	for _, ns := range namespaces {
		cs.markDirty(ns)
	}
	return true
}

// MarkAllDirty asks for every Finding of a control to be synced again, as after a sweep, for
// example because the exceptions that apply to it changed. It reports whether the control is
// known.
func (e *Evaluator) MarkAllDirty(control string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[control]
	if ok {
		cs.allDirty = true
	}
	return ok
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

func (e *Evaluator) labelsOfScope(s *Subject) map[string]string {
	if IsNamespace(s.GroupKind()) {
		return s.Labels
	}
	return e.namespaceLabels[s.Namespace]
}

// NeedsSweep reports whether the control must be swept before its results can be trusted.
func (e *Evaluator) NeedsSweep(control string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	cs, ok := e.controls[control]
	return ok && (cs.needsSweep || !cs.swept)
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
		Evaluated:     len(cs.matched),
		Errored:       len(cs.errored),
		LastEvaluated: cs.lastEvaluated,
		LastSweep:     cs.lastSweep,
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

func dedupe(xs []string) []string {
	slices.Sort(xs)
	return slices.Compact(xs)
}
