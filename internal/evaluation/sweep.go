package evaluation

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/isms-operator/isms-operator/internal/policy"
)

// Events and sweeps
//
// A sweep evaluates outside e.mu, so that events keep being evaluated while it runs (a sweep of
// 10k objects takes seconds), and an event and a sweep can then judge the same subject. The
// newer judgement wins: the subjects a sweep evaluates were listed before it started, and an
// event delivered during the sweep carries an object at least as new, so the result an event
// left during a sweep stands. Four mechanisms serve this, all under e.mu unless said:
//
//  1. The sweeping flag: controlState.touched is non-nil exactly while a sweep of the control
//     runs, from sweepSnapshot to the merge in SweepControls. Sweeps of one control never
//     overlap (the Sweeper runs one at a time); a second one would reset the set.
//  2. The touched set: while a sweep runs, Upsert and Delete record each subject they
//     evaluate or forget (markTouched), and mergeSweep keeps, for those subjects, the results
//     the events left instead of the sweep's verdicts.
//  3. awaitsEvents: a control that was never swept and is not being swept is not evaluated on
//     events at all. The sweep it waits for lists the watch's store, which holds an object
//     before its event is delivered; skipping halves the work of a new control, whose watch's
//     initial list arrives as events.
//  4. sweptThis: evaluateAll stamps each Subject it evaluated with the sweep's batch number
//     (Subject.sweptIn, atomic), and the merge records the batch a control's results come
//     from (controlState.sweptBatch). An event for that very Subject (a watch's initial list
//     reaching the handler after the sweep listed the store) would change nothing, and is
//     skipped unless another sweep is under way. An update is a new Subject: never skipped.
//
// At the merge, a sweep's results are also dropped when ctx ended, or when the control was
// removed or redefined (generation or policy) since the snapshot; needsSweep asks for another.
//
// SweepControls lists the subjects only after its snapshot, through the caller's list
// function: an event handled before the snapshot is then for an object no newer than the one
// listed, and one handled after it is in the touched set. Listing first would let an event
// that lands between the list and the snapshot be overwritten by the sweep's verdict on the
// older object, until the subject's next event or sweep.

// Sweep evaluates one control against all the given subjects; see SweepControls. It returns an
// error if the control is not registered or ctx ends.
func (e *Evaluator) Sweep(ctx context.Context, control string, subjects []*Subject) error {
	e.mu.Lock()
	_, ok := e.controls[control]
	e.mu.Unlock()
	if !ok {
		return fmt.Errorf("control %q is not registered", control)
	}
	_, err := e.SweepControls(ctx, []string{control}, func() []*Subject { return subjects })
	return err
}

// SweepControls evaluates the named controls against all the subjects list returns (every
// object of their target kinds), and replaces their results. It calls list once, after it has
// marked the controls as sweeping (see "Events and sweeps" above). It makes one pass over the subjects,
// evaluating each against every control that matches it, on a few goroutines and outside the
// evaluator's lock, so events keep being evaluated meanwhile; a subject an event evaluated
// during the sweep keeps the event's result, which is the newer (see "Events and sweeps"
// above). Controls that are not registered are skipped; it returns those it swept, and an
// error only if ctx ends.
func (e *Evaluator) SweepControls(ctx context.Context, controls []string, list func() []*Subject) ([]string, error) {
	jobs, scope := e.sweepSnapshot(controls)
	if len(jobs) == 0 {
		return nil, nil
	}
	if e.afterSweepSnapshot != nil {
		e.afterSweepSnapshot()
	}
	subjects := list()
	batch := e.batches.Add(1)
	versions := e.evaluateAll(ctx, jobs, subjects, scope, batch)

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
		e.mergeSweep(cs, job, subjects, versions, touched, now)
		cs.sweptBatch, cs.sweepBudgetSpent = batch, job.overBudget.Load()
		cs.sweepEvaluated, cs.sweepReused = int(job.evaluated.Load()), int(job.reused.Load())
		swept = append(swept, job.def.Name)
	}
	return swept, ctx.Err()
}

// sweepJob is one control of a sweep: what it was when the sweep started, a byte per
// subject, and the verdicts that are not a plain pass.
type sweepJob struct {
	cs      *controlState
	def     ControlDefinition
	matcher *Matcher
	// states says, for each subject, whether the control matched it and kept its verdict.
	states []subjectState
	// outcomes are the verdicts that are not a plain pass (violations or an error), in the
	// order the workers found them; sortOutcomes puts them in subject order for the merge.
	outcomesMu sync.Mutex
	outcomes   []sweepOutcome
	// inputs is the control's inputsEpoch at the snapshot, and volatile says its policy's
	// verdicts are never kept (see "Reused verdicts" in memo.go).
	inputs   uint64
	volatile bool
	// evaluated and reused count the subjects evaluated and those whose verdict was kept.
	evaluated, reused atomic.Int64

	// budget is the evaluation time the control may spend in this sweep; spent is what its
	// evaluations took so far, in nanoseconds, on all the workers; overBudget is set when a
	// subject was not evaluated for want of budget (see "Budgets" in budget.go).
	budget     time.Duration
	spent      atomic.Int64
	overBudget atomic.Bool
}

// evaluate judges one matched subject, unless the control has spent its budget.
func (j *sweepJob) evaluate(ctx context.Context, object *objectValue) (policy.Result, error) {
	if time.Duration(j.spent.Load()) >= j.budget {
		j.overBudget.Store(true)
		return policy.Result{}, ErrSweepBudget
	}
	// The object's value is built once per sweep by whichever control reads it first: its cost
	// is not that control's evaluation, and charging it would spend a fast control's budget on
	// a big object a slow control shares (the value is built before the clock starts).
	value := object.get()
	start := time.Now()
	res, err := j.def.Policy.Evaluate(ctx, policy.Input{Object: value, Parameters: j.def.Parameters})
	j.spent.Add(int64(time.Since(start)))
	j.evaluated.Add(1)
	return res, err
}

// subjectState is what a sweep knows of one (control, subject) pair besides its outcome. A
// sweep holds one per pair, so it is a byte: at 100k subjects and 50 controls, a verdict of
// 56 bytes a pair (a Result and an error) was 280 MB for the sweep's length, and pointers the
// collector scanned, where almost every pair passes.
type subjectState uint8

const (
	// matched: the control's scope includes the subject.
	matched subjectState = 1 << iota
	// reused: the control's results hold this subject's verdict, which the merge keeps.
	reused
)

// sweepOutcome is a verdict that is not a plain pass: the subject's index in the sweep's list,
// and the result or error.
type sweepOutcome struct {
	subject int
	res     policy.Result
	err     error
}

// passes says whether a verdict is a plain pass, which the sweep does not keep as an outcome.
func passes(res policy.Result, err error) bool {
	return err == nil && len(res.Violations) == 0 && res.Truncated == 0
}

// addOutcomes keeps a chunk's outcomes.
func (j *sweepJob) addOutcomes(o []sweepOutcome) {
	if len(o) == 0 {
		return
	}
	j.outcomesMu.Lock()
	j.outcomes = append(j.outcomes, o...)
	j.outcomesMu.Unlock()
}

// sortOutcomes puts the outcomes in subject order, once the workers are done.
func (j *sweepJob) sortOutcomes() {
	slices.SortFunc(j.outcomes, func(a, b sweepOutcome) int { return a.subject - b.subject })
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
		jobs = append(jobs, &sweepJob{cs: cs, def: cs.def, matcher: cs.matcher, budget: e.sweepBudget,
			inputs: e.inputsEpoch(cs), volatile: cs.volatile})
	}
	return jobs, maps.Clone(e.namespaceLabels) // label maps are replaced, never changed in place
}

// sweepChunk is how many subjects a sweep's goroutine takes at a time.
const sweepChunk = 32

// evaluateAll evaluates every subject against every job whose control matches it, on a few
// goroutines, unless the job can keep the subject's verdict (see "Reused verdicts" in
// memo.go). Subject-major order evaluates all the controls of one object while its value is
// in the CPU's cache. e.progress counts the subjects done. It returns the subjects'
// resourceVersions, as verdictMemo keeps them.
func (e *Evaluator) evaluateAll(ctx context.Context, jobs []*sweepJob, subjects []*Subject, namespaceLabels map[string]map[string]string, batch uint64) []uint64 {
	for _, job := range jobs {
		job.states = make([]subjectState, len(subjects))
	}
	versions := make([]uint64, len(subjects))
	const chunk = sweepChunk
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(e.workers, (len(subjects)+chunk-1)/chunk)) {
		wg.Go(func() {
			for {
				first := int(next.Add(chunk)) - chunk
				if first >= len(subjects) || ctx.Err() != nil {
					return
				}
				e.evaluateChunk(ctx, jobs, subjects, versions, namespaceLabels, first, min(first+chunk, len(subjects)), batch)
			}
		})
	}
	wg.Wait()
	for _, job := range jobs {
		job.sortOutcomes()
	}
	return versions
}

// evaluateChunk evaluates subjects[first:end]: it matches them, looks up under e.mu the
// verdicts it can keep, and evaluates the others outside the lock.
func (e *Evaluator) evaluateChunk(ctx context.Context, jobs []*sweepJob, subjects []*Subject, versions []uint64, namespaceLabels map[string]map[string]string, first, end int, batch uint64) {
	anyVersion := false
	for i := first; i < end; i++ {
		s := subjects[i]
		versions[i] = resourceVersionOf(s)
		anyVersion = anyVersion || versions[i] != 0
		labels := namespaceLabels[s.Namespace]
		if IsNamespace(s.GroupKind()) {
			labels = s.Labels
		}
		for _, job := range jobs {
			if job.matcher.Matches(s, labels) {
				job.states[i] = matched
			}
		}
	}
	if anyVersion {
		e.markReused(jobs, subjects, versions, first, end)
	}
	var found [][]sweepOutcome // by job, made at the chunk's first outcome
	for i := first; i < end; i++ {
		s := subjects[i]
		// Built once for all the controls, and garbage when the next object is evaluated: a
		// sweep holds one engine value per goroutine, not per object.
		object := objectValue{s: s}
		for j, job := range jobs {
			if job.states[i] != matched {
				continue // not matched, or its verdict is kept
			}
			res, err := job.evaluate(ctx, &object)
			if passes(res, err) {
				continue
			}
			if found == nil {
				found = make([][]sweepOutcome, len(jobs))
			}
			// The details go now, not at the merge (recordResult drops them too): at 100k
			// subjects the failing pairs' decoded details were 56 MB of the first sweep's
			// live heap.
			res.Violations = withoutDetails(res.Violations)
			found[j] = append(found[j], sweepOutcome{subject: i, res: res, err: err})
		}
		atomic.StoreUint64(&s.sweptIn, batch)
		e.progress.Add(1)
	}
	for j := range found {
		jobs[j].addOutcomes(found[j])
	}
}

// markReused marks the matched verdicts of subjects[first:end] that the jobs can keep: the
// control's results hold a verdict on the very same object under the same inputs. It reads
// the results under e.mu; a result that an event changes afterwards is the event's, which
// the merge keeps (the touched set), so the verdict marked here is still there at the merge.
func (e *Evaluator) markReused(jobs []*sweepJob, subjects []*Subject, versions []uint64, first, end int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, job := range jobs {
		for i := first; i < end; i++ {
			if job.states[i] != matched || versions[i] == 0 {
				continue
			}
			prev, known := job.cs.matched.get(&e.slots, subjects[i].Key())
			if reusable(prev, known, verdictMemo{resourceVersion: versions[i], inputs: job.inputs}, job.volatile) {
				job.states[i] |= reused
				job.reused.Add(1)
			}
		}
	}
}

// mergeSweep replaces a control's results with a sweep's (the job's verdicts on subjects, an
// outcome or else a pass, whose resourceVersions are versions), except for the subjects
// events touched during the sweep, whose results are the events' (mechanism 2 of "Events and
// sweeps"). It updates the results in place: a verdict the sweep kept is there already, so
// that a sweep in which nothing changed costs no more than a look at each subject. Callers
// hold e.mu.
func (e *Evaluator) mergeSweep(cs *controlState, job *sweepJob, subjects []*Subject, versions []uint64, touched map[types.UID]struct{}, now time.Time) {
	// Keep which namespaces had failures so that their Findings are revisited (and resolved)
	// when nothing fails there any more.
	previous := slices.Collect(maps.Keys(cs.failing))
	judged := 0 // subjects the sweep matched that no event touched
	outcomes := job.outcomes
	for i, st := range job.states {
		var res policy.Result
		var err error
		if len(outcomes) > 0 && outcomes[0].subject == i {
			res, err = outcomes[0].res, outcomes[0].err
			outcomes = outcomes[1:]
		}
		if st&matched == 0 || isTouched(touched, subjects[i].Key()) {
			continue
		}
		judged++
		if st&reused == 0 {
			// No namespace is marked dirty one by one: after a sweep all are (allDirty).
			e.recordResult(cs, refOf(subjects[i]), res, err, verdictMemo{resourceVersion: versions[i], inputs: job.inputs}, now)
		}
	}
	e.dropUnjudged(cs, job, subjects, touched, judged)
	for ns := range cs.failing {
		cs.observed[ns] = now
	}
	for _, ns := range previous {
		if _, still := cs.failing[ns]; !still {
			delete(cs.observed, ns)
			cs.dirty[ns] = struct{}{} // its Finding resolves
		}
	}
	cs.eventsDeferred, cs.deferredInSweep = cs.deferredInSweep, false
	cs.transientRetries = nextRetries(cs)
	cs.swept, cs.needsSweep = true, false
	cs.lastSweep, cs.lastEvaluated = now, now
	cs.allDirty = true
}

func isTouched(touched map[types.UID]struct{}, key types.UID) bool {
	if len(touched) == 0 {
		return false
	}
	_, ok := touched[key]
	return ok
}

// dropUnjudged forgets the subjects the results hold that the sweep did not judge and no
// event touched: deleted, or out of scope now (a namespace label that a namespaceSelector
// reads). After the merge the results hold every judged subject, so when they hold no more
// than those and the touched ones, there is nothing to drop, and nothing is looked at.
// Callers hold e.mu.
func (e *Evaluator) dropUnjudged(cs *controlState, job *sweepJob, subjects []*Subject, touched map[types.UID]struct{}, judged int) {
	held := judged
	for key := range touched {
		if _, ok := cs.matched.get(&e.slots, key); ok {
			held++
		}
	}
	if cs.matched.len() == held {
		return
	}
	keep := make(map[types.UID]struct{}, judged+len(touched))
	maps.Copy(keep, touched)
	for i, st := range job.states {
		if st&matched != 0 {
			keep[subjects[i].Key()] = struct{}{}
		}
	}
	for _, key := range cs.matched.keys(&e.slots) {
		if _, ok := keep[key]; !ok {
			cs.matched.remove(&e.slots, key)
			delete(cs.errored, key)
		}
	}
	for ns, byUID := range cs.failing {
		for key := range byUID {
			if _, ok := keep[key]; !ok {
				e.removeFailing(cs, ns, key)
			}
		}
	}
}

// nextRetries counts the sweep into the control's run of sweeps that left transient errors,
// or ends the run.
func nextRetries(cs *controlState) int {
	for _, r := range cs.errored {
		if r.Transient {
			return cs.transientRetries + 1
		}
	}
	return 0
}

// awaitsEvents reports whether events must evaluate the control: not before its first sweep,
// unless that sweep is under way (mechanism 3 of "Events and sweeps").
func (cs *controlState) awaitsEvents() bool {
	return cs.swept || cs.touched != nil
}

// sweptThis reports whether the control's results already hold this very object, evaluated
// by its latest sweep, with no sweep under way since (mechanism 4 of "Events and sweeps").
func (cs *controlState) sweptThis(s *Subject) bool {
	return cs.touched == nil && cs.sweptBatch != 0 && atomic.LoadUint64(&s.sweptIn) == cs.sweptBatch
}

// markTouched records, while a sweep of the control runs, that an event evaluated or forgot
// the subject (mechanism 2 of "Events and sweeps").
func (cs *controlState) markTouched(s *Subject) {
	if cs.touched != nil {
		cs.touched[refOf(s).key()] = struct{}{}
	}
}
