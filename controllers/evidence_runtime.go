package controllers

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/api"
	"github.com/isms-operator/isms-operator/internal/report/reportapi"
)

// EvidenceOptions turn on the evidence ledger (see internal/evidence).
type EvidenceOptions struct {
	// Ledger is the open ledger (OpenLedger). The caller closes its store once the manager
	// has stopped: the writer flushes its queue and the stop marker on the way out.
	Ledger *evidence.Ledger
	// Heartbeat is how often an evaluated, unchanged control's state is confirmed; zero
	// means evidence.DefaultHeartbeat.
	Heartbeat time.Duration
	// Retention: whole segments older than this are pruned, checked daily; zero means
	// evidence.DefaultRetention.
	Retention time.Duration
	// Version is recorded in the operator's start and stop markers.
	Version string
	// Writer tunes the queue; its Heartbeat and Version are set from the fields above.
	Writer evidence.WriterOptions
}

// EvidencePath is where the ledger's query API is served on the metrics server.
const EvidencePath = "/evidence/"

// pruneEvery is how often the retention is applied.
const pruneEvery = 24 * time.Hour

// publishEvery is how often, at most, a newly kept checkpoint is looked for; one is kept
// every evidence.DefaultCheckpointEvery (10 minutes) while leaves are appended.
const publishEvery = 30 * time.Second

// setupEvidence adds the ledger's writer and its loops (leader-only), its metrics, and its
// query API and audit report under EvidencePath on the metrics server, which applies the
// same authentication and authorisation to them as to /metrics.
func (r *ControlReconciler) setupEvidence(mgr ctrl.Manager, opts *EvidenceOptions, namespace string, reg prometheus.Registerer) error {
	ledger := opts.Ledger
	w := &evidenceWriter{ledger: ledger, rec: r.evidence, opts: opts.Writer}
	w.opts.Heartbeat, w.opts.Version = r.evidence.heartbeat, opts.Version
	loops := &evidenceLoops{
		rec:       r.evidence,
		ledger:    ledger,
		retention: opts.Retention,
		synced:    func(gks []schema.GroupKind) bool { ok, _ := r.Watches.Synced(gks); return ok },
		publisher: newCheckpointPublisher(mgr, ledger, namespace),
	}
	if loops.retention <= 0 {
		loops.retention = evidence.DefaultRetention
	}
	if err := mgr.Add(w); err != nil {
		return fmt.Errorf("adding the evidence writer: %w", err)
	}
	if err := mgr.Add(loops); err != nil {
		return fmt.Errorf("adding the evidence loops: %w", err)
	}
	if err := reg.Register(newEvidenceCollector(r.evidence, ledger)); err != nil {
		return fmt.Errorf("registering the evidence metrics: %w", err)
	}
	if err := mgr.AddMetricsServerExtraHandler(EvidencePath, r.evidenceAPI(mgr, ledger)); err != nil {
		return fmt.Errorf("serving the evidence API: %w", err)
	}
	return nil
}

// evidenceAPI is the ledger's query API with the audit report beside it (GET
// /evidence/report), which computes from the cached Controls and Risks and the operator's own
// due periods, as `kubectl isms report` computes from the cluster's.
func (r *ControlReconciler) evidenceAPI(mgr ctrl.Manager, ledger *evidence.Ledger) http.Handler {
	cache := mgr.GetClient()
	objects := func(ctx context.Context) ([]ismsv1.Control, []ismsv1.Risk, error) {
		var controls ismsv1.ControlList
		if err := cache.List(ctx, &controls); err != nil {
			return nil, nil, fmt.Errorf("listing Controls: %w", err)
		}
		var risks ismsv1.RiskList
		if err := cache.List(ctx, &risks); err != nil {
			return nil, nil, fmt.Errorf("listing Risks: %w", err)
		}
		return controls.Items, risks.Items, nil
	}
	statements := func(ctx context.Context) ([]ismsv1.StatementOfApplicability, error) {
		var list ismsv1.StatementOfApplicabilityList
		if err := cache.List(ctx, &list); err != nil {
			return nil, fmt.Errorf("listing Statements of Applicability: %w", err)
		}
		return list.Items, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /report", reportapi.New(reportapi.Options{Ledger: ledger, Objects: objects, Statements: statements,
		DuePeriods: r.Workflow.DuePeriods}))
	mux.Handle("/", api.New(ledger))
	return http.StripPrefix(EvidencePath[:len(EvidencePath)-1], mux)
}

// evidenceWriter runs the ledger's Writer while this replica leads. It reloads the ledger
// first (another replica may have appended to a shared store) and creates the Writer then,
// so its operator-started marker carries the time this replica took over.
type evidenceWriter struct {
	ledger *evidence.Ledger
	rec    *evidenceRecorder
	opts   evidence.WriterOptions
}

// NeedLeaderElection: only the leader appends.
func (w *evidenceWriter) NeedLeaderElection() bool { return true }

// Start appends until ctx ends, then writes the stop marker and what is still queued.
func (w *evidenceWriter) Start(ctx context.Context) error {
	if err := w.ledger.Reload(ctx); err != nil {
		return fmt.Errorf("reloading the evidence ledger: %w", err)
	}
	wr := evidence.NewWriter(w.ledger, w.opts)
	w.rec.writer.Store(wr)
	err := wr.Start(ctx)
	w.rec.writer.Store(nil)
	if err != nil {
		return fmt.Errorf("flushing the evidence ledger: %w", err)
	}
	return nil
}

// evidenceLoops are the leader's periodic ledger work: heartbeats, retention, and
// publishing kept checkpoints.
type evidenceLoops struct {
	rec       *evidenceRecorder
	ledger    *evidence.Ledger
	retention time.Duration
	synced    func([]schema.GroupKind) bool
	publisher *checkpointPublisher
}

// NeedLeaderElection: heartbeats and pruning are the writer's business.
func (l *evidenceLoops) NeedLeaderElection() bool { return true }

// Start runs the loops until ctx ends. Heartbeats are looked at four times a heartbeat, so
// one is written at most a quarter late; pruning runs at start and daily.
func (l *evidenceLoops) Start(ctx context.Context) error {
	log := ctrl.LoggerFrom(ctx).WithName("evidence")
	var wg sync.WaitGroup
	wg.Go(func() {
		every(ctx, max(l.rec.heartbeat/4, 50*time.Millisecond), func() { l.rec.heartbeats(l.synced) })
	})
	wg.Go(func() {
		every(ctx, pruneEvery, func() {
			rep, err := l.ledger.Prune(ctx, l.rec.now(), l.retention)
			if err != nil && ctx.Err() == nil {
				log.Error(err, "Pruning the evidence ledger")
			} else if rep.Segments > 0 {
				log.Info("Pruned the evidence ledger", "segments", rep.Segments, "prunedBefore", rep.PrunedBefore)
			}
		})
	})
	wg.Go(func() {
		every(ctx, min(publishEvery, max(l.rec.heartbeat/4, 50*time.Millisecond)), func() {
			if err := l.publisher.publish(ctx); err != nil && ctx.Err() == nil {
				log.Error(err, "Publishing the evidence checkpoint")
			}
		})
	})
	wg.Wait()
	return nil
}

// every runs fn now and then every period until ctx ends.
func every(ctx context.Context, period time.Duration, fn func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
