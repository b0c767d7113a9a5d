// Command manager runs the isms-operator controllers in a cluster.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/controllers"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/finding"
	"github.com/isms-operator/isms-operator/internal/openreports"
	"github.com/isms-operator/isms-operator/internal/version"
)

// config is the manager's command line.
type config struct {
	metricsAddr       string
	probeAddr         string
	secureMetrics     bool
	leaderElection    leaderElectionConfig
	namespace         string
	evaluationTimeout time.Duration
	sweepBudget       time.Duration
	concurrency       int
	pprofAddr         string
	findings          finding.Workflow
	enableWebhooks    bool
	webhookPort       int
	webhookCertDir    string
	webhookCerts      webhookCertConfig
	stallTimeout      time.Duration
	evidence          evidenceConfig
	reports           reportsConfig
}

// reportsConfig is the OpenReports publisher's part of the command line: off unless format is
// "openreports".
type reportsConfig struct {
	format string
	controllers.ReportsOptions
}

// options are the publisher's options, nil when it is off.
func (r reportsConfig) options() (*controllers.ReportsOptions, error) {
	switch r.format {
	case "":
		return nil, nil
	case "openreports":
		return &r.ReportsOptions, nil
	}
	return nil, fmt.Errorf("--publish-reports=%q: the only format is openreports", r.format)
}

// leaderElectionConfig is the leader election's part of the command line. The timings are
// client-go's (and controller-runtime's) defaults unless set: a follower takes over a lease
// its holder stopped renewing after leaseDuration; a leader that cannot renew within
// renewDeadline steps down; candidates retry every retryPeriod.
type leaderElectionConfig struct {
	enabled       bool
	leaseDuration time.Duration
	renewDeadline time.Duration
	retryPeriod   time.Duration
}

// evidenceConfig is the evidence ledger's part of the command line.
type evidenceConfig struct {
	enabled   bool
	ledger    controllers.LedgerConfig
	heartbeat time.Duration
	retention time.Duration
}

func main() {
	cfg, zapOpts, err := parseFlags(flag.CommandLine, os.Args[1:])
	if err != nil {
		os.Exit(2) // the flag package has printed the error and the usage
	}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(zapOpts)))
	setGCPercent()
	setMemoryLimit(ctrl.Log.WithName("setup"))
	if err := run(ctrl.SetupSignalHandler(), ctrl.GetConfigOrDie(), cfg); err != nil {
		ctrl.Log.WithName("setup").Error(err, "Manager failed")
		os.Exit(1)
	}
}

// parseFlags reads the manager's command line from args into fs (flag.CommandLine in the
// binary, where controller-runtime's --kubeconfig is registered too).
func parseFlags(fs *flag.FlagSet, args []string) (config, *zap.Options, error) {
	cfg := config{findings: finding.DefaultWorkflow()}
	fs.StringVar(&cfg.metricsAddr, "metrics-bind-address", ":8443", "Address the metrics endpoint (and the evidence API under /evidence/) binds to; 0 disables it.")
	fs.BoolVar(&cfg.secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS, authenticated and authorized by the API server.")
	fs.StringVar(&cfg.probeAddr, "health-probe-bind-address", ":8081", "Address the health probes bind to.")
	leaderElectionFlags(fs, &cfg.leaderElection)
	fs.StringVar(&cfg.namespace, "namespace", envOr("POD_NAMESPACE", "isms-system"), "The operator's namespace: Findings of cluster-scoped subjects are recorded here.")
	fs.DurationVar(&cfg.evaluationTimeout, "evaluation-timeout", 250*time.Millisecond, "Deadline of one policy evaluation of one object.")
	fs.DurationVar(&cfg.sweepBudget, "control-sweep-budget", evaluation.DefaultSweepBudget, "Evaluation time one Control may spend in one sweep; the subjects it does not reach are Error (SweepBudgetExceeded) until the next sweep.")
	fs.DurationVar(&cfg.stallTimeout, "evaluation-stall-timeout", controllers.DefaultEvaluationStallTimeout, "The liveness probe fails when no evaluation finishes for this long while work waits; negative disables it.")
	fs.IntVar(&cfg.concurrency, "max-concurrent-reconciles", 4, "How many Controls are reconciled at once. Reconciles write Findings and status; sweeps run apart, on one goroutine per CPU.")
	fs.StringVar(&cfg.pprofAddr, "pprof-bind-address", "0", "Address of the pprof endpoint (/debug/pprof), for profiling; 0 disables it.")
	for _, sev := range []ismsv1.Severity{ismsv1.SeverityCritical, ismsv1.SeverityHigh, ismsv1.SeverityMedium, ismsv1.SeverityLow} {
		fs.Var(durationValue{cfg.findings.DuePeriods, sev}, "due-"+string(sev),
			"How long an open Finding of severity "+string(sev)+" may stay open before it is Overdue; 0 sets no due date.")
	}
	fs.DurationVar(&cfg.findings.Retention, "finding-retention", finding.DefaultRetention, "How long a Resolved Finding is kept before it is deleted; 0 keeps them.")
	fs.BoolVar(&cfg.enableWebhooks, "enable-webhooks", true, "Serve the validating webhooks (their certificate comes from --webhook-cert-rotation or is mounted into --webhook-cert-dir).")
	fs.IntVar(&cfg.webhookPort, "webhook-port", 9443, "Port of the webhook server.")
	fs.StringVar(&cfg.webhookCertDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs", "Folder holding the webhook server's tls.crt and tls.key.")
	webhookCertFlags(fs, &cfg.webhookCerts)
	evidenceFlags(fs, &cfg.evidence)
	fs.StringVar(&cfg.reports.format, "publish-reports", "", "Publish the results as reports of this format, for Policy Reporter: openreports (a Report per failing namespace; needs the OpenReports CRDs and config/components/openreports). Empty publishes none.")
	fs.DurationVar(&cfg.reports.Interval, "publish-reports-interval", controllers.DefaultReportsInterval, "With --publish-reports, how often the reports are brought up to date: each is written at most once per interval.")
	fs.IntVar(&cfg.reports.MaxResults, "publish-reports-max-results", openreports.DefaultMaxResults, fmt.Sprintf("With --publish-reports, the most results one report holds (at most %d); its summary counts them all.", openreports.MaxMaxResults))
	opts := &zap.Options{}
	opts.BindFlags(fs)
	err := fs.Parse(args)
	return cfg, opts, err
}

func leaderElectionFlags(fs *flag.FlagSet, le *leaderElectionConfig) {
	fs.BoolVar(&le.enabled, "leader-elect", false, "Elect a leader (a Lease in --namespace), so that only one replica evaluates and writes; the others serve the webhooks and wait.")
	fs.DurationVar(&le.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a follower waits, after the leader last renewed its Lease, before it takes over (a leader that stops cleanly releases the Lease at once).")
	fs.DurationVar(&le.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew its Lease before it gives up and exits; less than the lease duration.")
	fs.DurationVar(&le.retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often candidates try to acquire, and the leader to renew, the Lease.")
}

func evidenceFlags(fs *flag.FlagSet, e *evidenceConfig) {
	fs.BoolVar(&e.enabled, "evidence", true, "Record the evidence ledger: every control's state over time, tamper-evident, outside etcd.")
	fs.StringVar(&e.ledger.Dir, "evidence-dir", "/var/lib/isms-operator/evidence", "Folder of the SQLite ledger (ledger.db) and, unless --evidence-signing-key is set, the generated signing key (ledger.key, mode 0600).")
	fs.StringVar(&e.ledger.DatabaseURL, "evidence-database-url", os.Getenv("EVIDENCE_DATABASE_URL"), "A PostgreSQL URL (postgres://...): the ledger lives there instead of SQLite (for more than one replica). Defaults to $EVIDENCE_DATABASE_URL, so that a URL with a password can come from a Secret rather than the command line.")
	fs.StringVar(&e.ledger.SigningKeyFile, "evidence-signing-key", "", "File of the ledger's signing key (note private key text), e.g. mounted from a Secret.")
	fs.DurationVar(&e.heartbeat, "evidence-heartbeat", evidence.DefaultHeartbeat, "A heartbeat leaf per control at least this often while it is evaluated and unchanged.")
	fs.DurationVar(&e.retention, "evidence-retention", evidence.DefaultRetention, "Prune whole ledger segments older than this (checked daily).")
}

// run starts the manager against the API server of restCfg and blocks until ctx ends; the
// ledger is closed after the manager stopped, so the writer's last batch and stop marker are
// committed first.
func run(ctx context.Context, restCfg *rest.Config, cfg config) error {
	log := ctrl.Log.WithName("setup")
	mgrOpts := managerOptions(cfg)
	certsReady := make(chan struct{})
	if cfg.enableWebhooks {
		mgrOpts.WebhookServer = &certWaitingServer{
			Server: webhook.NewServer(webhook.Options{Port: cfg.webhookPort, CertDir: cfg.webhookCertDir}), ready: certsReady}
	}
	mgr, err := ctrl.NewManager(restCfg, mgrOpts)
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	opts := controllers.Options{
		Namespace:               cfg.namespace,
		EvaluationTimeout:       cfg.evaluationTimeout,
		SweepBudget:             cfg.sweepBudget,
		EvaluationStallTimeout:  cfg.stallTimeout,
		MaxConcurrentReconciles: cfg.concurrency,
		Findings:                cfg.findings,
		EnableWebhooks:          cfg.enableWebhooks,
	}
	if opts.Reports, err = cfg.reports.options(); err != nil {
		return err
	}
	if cfg.evidence.enabled {
		ledger, err := controllers.OpenLedger(ctx, cfg.evidence.ledger)
		if err != nil {
			return err
		}
		defer func() { _ = ledger.Store().Close() }()
		opts.Evidence = &controllers.EvidenceOptions{Ledger: ledger, Heartbeat: cfg.evidence.heartbeat,
			Retention: cfg.evidence.retention, Version: version.Version()}
		log.Info("Recording the evidence ledger", "size", ledger.Head().Size, "verifierKey", ledger.VerifierKey())
	}
	if err := controllers.SetupWithManager(mgr, opts); err != nil {
		return fmt.Errorf("setting up the controllers: %w", err)
	}
	if err := addProbes(mgr, cfg, certsReady); err != nil {
		return err
	}
	log.Info("Starting manager", "namespace", cfg.namespace, "version", version.Version(), "commit", version.Commit())
	return mgr.Start(ctx)
}

// addProbes adds the liveness ping and, with the webhooks on, the webhook's certificate (see
// setupWebhookCerts) and its server to readiness; controllers.SetupWithManager added the
// watches and evaluation checks.
func addProbes(mgr ctrl.Manager, cfg config, certsReady chan struct{}) error {
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("setting up the health check: %w", err)
	}
	if !cfg.enableWebhooks {
		return nil
	}
	if err := setupWebhookCerts(mgr, cfg, certsReady); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhook-certificate", closedChecker(certsReady, "the webhook's certificate is not ready")); err != nil {
		return fmt.Errorf("setting up the certificate's ready check: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook-server", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return fmt.Errorf("setting up the webhook server's ready check: %w", err)
	}
	return nil
}

// managerOptions are the manager's options: our kinds only in its cache (what Controls target is
// watched separately, in compact form), without managedFields; a Lease in the operator's
// namespace when electing a leader.
func managerOptions(cfg config) ctrl.Options {
	metricsOpts := metricsserver.Options{BindAddress: cfg.metricsAddr, SecureServing: cfg.secureMetrics}
	if cfg.secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	le := cfg.leaderElection
	return ctrl.Options{
		Scheme:                 controllers.NewScheme(),
		Metrics:                metricsOpts,
		HealthProbeBindAddress: cfg.probeAddr,
		PprofBindAddress:       cfg.pprofAddr,
		LeaderElection:         le.enabled,
		LeaderElectionID:       "isms-operator.isms.dev",
		// Without this, a manager outside a pod could not find a namespace for the Lease.
		LeaderElectionNamespace: cfg.namespace,
		// A leader that stops (SIGTERM: a rolling update, a drain) releases the Lease once its
		// leader-only runnables have stopped, so a follower takes over within a retry period
		// instead of a lease duration. controller-runtime requires that nothing act as the
		// leader after the manager stops: run only closes the ledger's store then, whose
		// writer has already committed its last batch and stop marker.
		LeaderElectionReleaseOnCancel: true,
		LeaderElectionLabels:          map[string]string{version.LeaseLabel: version.LabelValue(version.Version())},
		LeaseDuration:                 &le.leaseDuration,
		RenewDeadline:                 &le.renewDeadline,
		RetryPeriod:                   &le.retryPeriod,
		Cache:                         cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
	}
}

// durationValue is a flag that sets the due period of one severity.
type durationValue struct {
	periods  map[ismsv1.Severity]time.Duration
	severity ismsv1.Severity
}

func (v durationValue) String() string {
	if v.periods == nil {
		return ""
	}
	return v.periods[v.severity].String()
}

func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	v.periods[v.severity] = d
	return nil
}

// defaultGCPercent is the manager's GOGC unless the environment sets one. Most of its heap is
// the long-lived cache of watched objects, so Go's default (100: collect when the heap has
// doubled since the last collection) would let garbage grow to the size of the whole cache,
// and the resident set with it. At 50, garbage stays at half the cache: measured at 10k
// Deployments (make bench), peak RSS went from 219-223 MiB to 171-177 MiB. The price is twice
// the collections: during a sweep of 4 controls the collector took about a third of the
// manager's CPU in the profile. GOGC=100 in the environment trades the memory back.
const defaultGCPercent = 50

func setGCPercent() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
