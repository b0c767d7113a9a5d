package controllers

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/isms-operator/isms-operator/internal/health"
)

// DefaultEvaluationStallTimeout is how long evaluation may make no progress while work waits
// before the liveness probe fails. One subject takes at most the evaluation timeout per
// control that matches it (250ms each by default), so a healthy sweep moves much sooner.
const DefaultEvaluationStallTimeout = 5 * time.Minute

// addHealthChecks adds the readiness check of the watches (each watched kind listed once, on
// the replica that runs them) and the liveness check of evaluation (progress while work waits;
// see health.Heartbeat).
func (r *ControlReconciler) addHealthChecks(mgr ctrl.Manager, stallTimeout time.Duration) error {
	if err := mgr.AddReadyzCheck("watches", func(*http.Request) error {
		return health.WatchesReady(r.watchesState(mgr.Elected()))
	}); err != nil {
		return fmt.Errorf("adding the watches' ready check: %w", err)
	}
	beat := &health.Heartbeat{Limit: stallTimeout}
	if err := mgr.AddHealthzCheck("evaluation", func(*http.Request) error {
		busy := r.Sweeper.Working() || r.eventsInFlight.Load() > 0
		return beat.Check(time.Now(), r.Evaluator.Progress(), busy)
	}); err != nil {
		return fmt.Errorf("adding the evaluation's health check: %w", err)
	}
	return nil
}

func (r *ControlReconciler) watchesState(elected <-chan struct{}) health.Watches {
	s := health.Watches{}
	select {
	case <-elected:
		s.Leading = true
	default:
	}
	select {
	case <-r.Watches.started:
		s.Started = true
	default:
	}
	s.Synced, s.Waiting = r.Watches.Synced(r.Watches.watched())
	return s
}

// watched returns the kinds being watched.
func (w *Watches) watched() []schema.GroupKind {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Collect(maps.Keys(w.kinds))
}

// Working reports whether a sweep waits or runs.
func (s *Sweeper) Working() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) > 0 || len(s.running) > 0
}

func stallTimeout(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultEvaluationStallTimeout
	case d < 0:
		return 0 // health.Heartbeat never fails
	}
	return d
}
