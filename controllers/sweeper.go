package controllers

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/isms-operator/isms-operator/internal/evaluation"
)

// The sweeper waits for requests to stop arriving, sweepQuiet without one, before it sweeps, and
// never longer than sweepSettleMax after the first: controls applied together (kubectl apply
// -k, a GitOps sync, the reconciles after a restart) are swept in one pass over the objects
// instead of one pass each. Each pass builds every object's engine value once, which at a few
// controls costs as much as evaluating them.
const (
	sweepQuiet     = 50 * time.Millisecond
	sweepSettleMax = time.Second
)

// Sweeper evaluates controls against every object they target, away from the reconcilers: a
// sweep of 10k objects takes seconds, and a reconciler busy sweeping would delay the Findings
// of every other control. Requests that arrive while a sweep runs are batched into the next
// one, which makes a single pass over the objects for all of them. It is a manager.Runnable.
type Sweeper struct {
	evaluator *evaluation.Evaluator
	watches   *Watches
	metrics   *Metrics
	log       logr.Logger
	// swept is told which controls a sweep finished, so that their Findings and status follow.
	swept func(controls []string)

	mu      sync.Mutex
	pending map[string][]schema.GroupKind // control -> its target kinds
	running map[string]bool
	wake    chan struct{}
}

// NewSweeper returns a sweeper that lists subjects from watches and reports finished sweeps to
// swept.
func NewSweeper(ev *evaluation.Evaluator, watches *Watches, metrics *Metrics, log logr.Logger, swept func([]string)) *Sweeper {
	return &Sweeper{
		evaluator: ev,
		watches:   watches,
		metrics:   metrics,
		log:       log,
		swept:     swept,
		pending:   map[string][]schema.GroupKind{},
		running:   map[string]bool{},
		wake:      make(chan struct{}, 1),
	}
}

// Request asks for a sweep of a control over the objects of kinds. It returns at once; a control
// already waiting for a sweep is not queued twice.
func (s *Sweeper) Request(control string, kinds []schema.GroupKind) {
	s.mu.Lock()
	s.pending[control] = kinds
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Busy reports whether a control waits for a sweep or is being swept.
func (s *Sweeper) Busy(control string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, pending := s.pending[control]
	return pending || s.running[control]
}

// Start implements manager.Runnable.
func (s *Sweeper) Start(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		}
		if !s.settle(ctx) {
			return nil
		}
		s.sweep(ctx, s.take())
	}
}

// settle waits until no request has arrived for sweepQuiet, or sweepSettleMax has passed. It
// returns false when ctx ends.
func (s *Sweeper) settle(ctx context.Context) bool {
	deadline := time.NewTimer(sweepSettleMax)
	defer deadline.Stop()
	quiet := time.NewTimer(sweepQuiet)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return true
		case <-quiet.C:
			return true
		case <-s.wake:
			quiet.Reset(sweepQuiet)
		}
	}
}

// take moves the pending requests to running.
func (s *Sweeper) take() map[string][]schema.GroupKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.pending
	s.pending = map[string][]schema.GroupKind{}
	for name := range batch {
		s.running[name] = true
	}
	return batch
}

func (s *Sweeper) sweep(ctx context.Context, batch map[string][]schema.GroupKind) {
	if len(batch) == 0 {
		return
	}
	defer func() {
		s.mu.Lock()
		for name := range batch {
			delete(s.running, name)
		}
		s.mu.Unlock()
		// Queued even when not swept (removed or changed meanwhile): the reconcile decides.
		s.swept(slices.Sorted(maps.Keys(batch)))
	}()

	kinds := map[schema.GroupKind]bool{}
	for _, gks := range batch {
		for _, gk := range gks {
			kinds[gk] = true
		}
	}
	start := time.Now()
	var subjects []*evaluation.Subject
	list := func() []*evaluation.Subject { // called once the controls are marked as sweeping
		subjects = s.watches.List(slices.Collect(maps.Keys(kinds)))
		return subjects
	}
	swept, err := s.evaluator.SweepControls(ctx, slices.Collect(maps.Keys(batch)), list)
	took := time.Since(start)
	if err != nil {
		s.log.Error(err, "Sweep interrupted", "controls", len(batch))
		return
	}
	evaluations, skipped := 0, 0
	for _, name := range swept {
		sum := s.evaluator.Summarize(name)
		evaluations += sum.SweepEvaluated
		skipped += sum.SweepSkipped // verdicts kept: nothing they depend on changed
		s.metrics.ObserveSweep(name, sum.Evaluated, sum.SweepSkipped, took.Seconds(), start.Add(took))
	}
	s.log.V(1).Info("Swept controls", "controls", len(swept), "objects", len(subjects), "evaluations", evaluations, "skipped", skipped, "took", took)
}
