// Command manager runs the isms-operator controllers in a cluster.
package main

import (
	"flag"
	"os"
	"runtime/debug"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/controllers"
	"github.com/isms-operator/isms-operator/internal/finding"
)

func main() {
	var (
		metricsAddr       string
		probeAddr         string
		secureMetrics     bool
		leaderElect       bool
		namespace         string
		evaluationTimeout time.Duration
		concurrency       int
		pprofAddr         string
		findings          = finding.DefaultWorkflow()
		enableWebhooks    bool
		webhookPort       int
		webhookCertDir    string
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "Address the metrics endpoint binds to; 0 disables it.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS, authenticated and authorized by the API server.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health probes bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader, so that only one replica evaluates and writes.")
	flag.StringVar(&namespace, "namespace", envOr("POD_NAMESPACE", "isms-system"), "The operator's namespace: Findings of cluster-scoped subjects are recorded here.")
	flag.DurationVar(&evaluationTimeout, "evaluation-timeout", 250*time.Millisecond, "Deadline of one policy evaluation of one object.")
	flag.IntVar(&concurrency, "max-concurrent-reconciles", 4, "How many Controls are reconciled at once. Reconciles write Findings and status; sweeps run apart, on one goroutine per CPU.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "Address of the pprof endpoint (/debug/pprof), for profiling; 0 disables it.")
	for _, sev := range []ismsv1.Severity{ismsv1.SeverityCritical, ismsv1.SeverityHigh, ismsv1.SeverityMedium, ismsv1.SeverityLow} {
		flag.Var(durationValue{findings.DuePeriods, sev}, "due-"+string(sev),
			"How long an open Finding of severity "+string(sev)+" may stay open before it is Overdue; 0 sets no due date.")
	}
	flag.DurationVar(&findings.Retention, "finding-retention", finding.DefaultRetention, "How long a Resolved Finding is kept before it is deleted; 0 keeps them.")
	flag.BoolVar(&enableWebhooks, "enable-webhooks", true, "Serve the ControlException validating webhook (needs a serving certificate in --webhook-cert-dir, e.g. from cert-manager).")
	flag.IntVar(&webhookPort, "webhook-port", 9443, "Port of the webhook server.")
	flag.StringVar(&webhookCertDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs", "Folder holding the webhook server's tls.crt and tls.key.")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")
	setGCPercent()

	mgrOpts := ManagerOptions(metricsAddr, secureMetrics, probeAddr, leaderElect)
	mgrOpts.PprofBindAddress = pprofAddr
	mgrOpts.WebhookServer = webhook.NewServer(webhook.Options{Port: webhookPort, CertDir: webhookCertDir})
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), mgrOpts)
	if err != nil {
		log.Error(err, "Unable to create manager")
		os.Exit(1)
	}
	if err := controllers.SetupWithManager(mgr, controllers.Options{
		Namespace:               namespace,
		EvaluationTimeout:       evaluationTimeout,
		MaxConcurrentReconciles: concurrency,
		Findings:                findings,
		EnableWebhooks:          enableWebhooks,
	}); err != nil {
		log.Error(err, "Unable to set up controllers")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "Unable to set up health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "Unable to set up ready check")
		os.Exit(1)
	}
	log.Info("Starting manager", "namespace", namespace)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "Manager stopped with an error")
		os.Exit(1)
	}
}

// ManagerOptions are the manager's options: our kinds only in its cache (what Controls target is
// watched separately, in compact form), without managedFields.
func ManagerOptions(metricsAddr string, secureMetrics bool, probeAddr string, leaderElect bool) ctrl.Options {
	metricsOpts := metricsserver.Options{BindAddress: metricsAddr, SecureServing: secureMetrics}
	if secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	return ctrl.Options{
		Scheme:                 controllers.NewScheme(),
		Metrics:                metricsOpts,
		HealthProbeBindAddress: probeAddr,
		LeaderElection:         leaderElect,
		LeaderElectionID:       "isms-operator.isms.dev",
		Cache:                  cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
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
