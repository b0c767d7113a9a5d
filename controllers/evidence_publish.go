package controllers

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/postgres"
	"github.com/isms-operator/isms-operator/internal/evidence/sqlite"
)

// EvidenceConfigMap is the ConfigMap, in the operator's namespace, that publishes the
// ledger's verifier key and its latest kept checkpoint, for auditors to pin.
const EvidenceConfigMap = "isms-evidence"

// The data keys of EvidenceConfigMap.
const (
	EvidenceKeyVerifier   = "verifierKey"
	EvidenceKeyCheckpoint = "checkpoint"
	EvidenceKeyOrigin     = "origin"
)

// +kubebuilder:rbac:groups="",namespace=isms-system,resources=configmaps,verbs=get;create;update

// checkpointPublisher writes each newly kept checkpoint to EvidenceConfigMap, with an Event.
// It reads the ConfigMap from the API server: the cache holds no ConfigMaps (the operator
// may read them in its own namespace only).
type checkpointPublisher struct {
	client    client.Client
	reader    client.Reader
	events    events.EventRecorder
	namespace string
	ledger    *evidence.Ledger

	mu sync.Mutex
	// published is the size of the checkpoint last published. It starts at the ledger's size
	// when it was opened: the first batch after that always keeps a checkpoint.
	published uint64
}

func newCheckpointPublisher(mgr ctrl.Manager, ledger *evidence.Ledger, namespace string) *checkpointPublisher {
	return &checkpointPublisher{client: mgr.GetClient(), reader: mgr.GetAPIReader(), events: eventRecorder(mgr),
		namespace: namespace, ledger: ledger, published: ledger.Head().Size}
}

// publish writes the latest kept checkpoint newer than the last one published, if any.
func (p *checkpointPublisher) publish(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	head := p.ledger.Head()
	if head.Size <= p.published {
		return nil
	}
	kept, err := p.ledger.Store().Checkpoints(ctx, p.published+1, head.Size)
	if err != nil || len(kept) == 0 {
		return err
	}
	latest := kept[len(kept)-1]
	cm, err := p.write(ctx, latest)
	if err != nil {
		return err
	}
	p.published = latest.Size
	p.events.Eventf(cm, nil, corev1.EventTypeNormal, ismsv1.EventEvidenceCheckpoint, "Publish",
		"Kept checkpoint of %d leaves, signed at %s", latest.Size, latest.Time.UTC().Format("2006-01-02T15:04:05Z"))
	return nil
}

// write creates or updates the ConfigMap with a checkpoint.
func (p *checkpointPublisher) write(ctx context.Context, head evidence.Head) (*corev1.ConfigMap, error) {
	checkpoint := string(head.Checkpoint)
	data := map[string]string{
		EvidenceKeyVerifier:   p.ledger.VerifierKey(),
		EvidenceKeyCheckpoint: checkpoint,
		EvidenceKeyOrigin:     strings.SplitN(checkpoint, "\n", 2)[0],
	}
	var cm corev1.ConfigMap
	err := p.reader.Get(ctx, client.ObjectKey{Namespace: p.namespace, Name: EvidenceConfigMap}, &cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: p.namespace, Name: EvidenceConfigMap,
			Labels: map[string]string{"app.kubernetes.io/name": "isms-operator"}}, Data: data}
		if err := p.client.Create(ctx, &cm); err != nil {
			return nil, fmt.Errorf("creating ConfigMap %s: %w", EvidenceConfigMap, err)
		}
		return &cm, nil
	case err != nil:
		return nil, fmt.Errorf("reading ConfigMap %s: %w", EvidenceConfigMap, err)
	}
	cm.Data = data
	if err := p.client.Update(ctx, &cm); err != nil {
		return nil, fmt.Errorf("updating ConfigMap %s: %w", EvidenceConfigMap, err)
	}
	return &cm, nil
}

// LedgerConfig says where the evidence ledger lives.
type LedgerConfig struct {
	// Dir holds the SQLite database (unless DatabaseURL is set) and the generated signing key
	// (unless SigningKeyFile is set).
	Dir string
	// DatabaseURL, a postgres:// URL, keeps the ledger in PostgreSQL instead.
	DatabaseURL string
	// SigningKeyFile is a file holding the note private key text (e.g. from a Secret).
	SigningKeyFile string
}

// maxSigningKeyFile bounds the key file read.
const maxSigningKeyFile = 4096

// OpenLedger opens the ledger's store and signing key, and the ledger over them. The
// caller closes ledger.Store() when done.
func OpenLedger(ctx context.Context, cfg LedgerConfig) (*evidence.Ledger, error) {
	keys, err := ledgerKeys(cfg)
	if err != nil {
		return nil, err
	}
	var store evidence.Store
	if cfg.DatabaseURL != "" {
		store, err = postgres.Open(ctx, cfg.DatabaseURL)
	} else {
		store, err = sqlite.Open(ctx, cfg.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the evidence store: %w", err)
	}
	ledger, err := evidence.Open(ctx, store, keys, evidence.Options{})
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("opening the evidence ledger: %w", err)
	}
	return ledger, nil
}

func ledgerKeys(cfg LedgerConfig) (evidence.Keys, error) {
	if cfg.SigningKeyFile == "" {
		if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
			return evidence.Keys{}, fmt.Errorf("creating the evidence directory: %w", err)
		}
		return evidence.LoadOrCreateKeys(cfg.Dir, evidence.DefaultKeyName)
	}
	f, err := os.Open(cfg.SigningKeyFile)
	if err != nil {
		return evidence.Keys{}, fmt.Errorf("reading the evidence signing key: %w", err)
	}
	defer func() { _ = f.Close() }()
	text, err := io.ReadAll(io.LimitReader(f, maxSigningKeyFile+1))
	if err != nil || len(text) > maxSigningKeyFile {
		return evidence.Keys{}, fmt.Errorf("reading the evidence signing key %s: too large or unreadable", cfg.SigningKeyFile)
	}
	return evidence.KeysFromPrivate(string(text))
}

// evidenceCollector serves the writer's counters as metrics, read at each scrape.
type evidenceCollector struct {
	rec                                 *evidenceRecorder
	ledger                              *evidence.Ledger
	queue, lag, size                    *prometheus.Desc
	enqueued, dropped, appended, failed *prometheus.Desc
}

func newEvidenceCollector(rec *evidenceRecorder, ledger *evidence.Ledger) *evidenceCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &evidenceCollector{
		rec:      rec,
		ledger:   ledger,
		queue:    d("isms_evidence_queue_length", "Leaves waiting in the evidence ledger's queue."),
		lag:      d("isms_evidence_append_lag_seconds", "How long the oldest leaf of the last committed batch waited in the queue."),
		size:     d("isms_evidence_ledger_leaves", "Leaves in the evidence ledger (its tree size)."),
		enqueued: d("isms_evidence_leaves_enqueued_total", "Leaves accepted into the evidence ledger's queue since this replica became the leader."),
		dropped:  d("isms_evidence_leaves_dropped_total", "Leaves refused because the evidence queue was full (the control's change is retried)."),
		appended: d("isms_evidence_leaves_appended_total", "Leaves committed to the evidence ledger."),
		failed:   d("isms_evidence_failed_batches_total", "Batch commits to the evidence store that failed (each is retried)."),
	}
}

func (c *evidenceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queue, c.lag, c.size, c.enqueued, c.dropped, c.appended, c.failed} {
		ch <- d
	}
}

func (c *evidenceCollector) Collect(ch chan<- prometheus.Metric) {
	var st evidence.WriterStats
	if w := c.rec.writer.Load(); w != nil {
		st = w.Stats()
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(c.queue, float64(st.QueueLen))
	gauge(c.lag, st.LastAppendLag.Seconds())
	gauge(c.size, float64(c.ledger.Head().Size))
	counter(c.enqueued, st.Enqueued)
	counter(c.dropped, st.Dropped)
	counter(c.appended, st.Appended)
	counter(c.failed, st.Failed)
}
