// Command manager runs the isms-operator controllers in a cluster.
package main

import (
	"flag"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/isms-operator/isms-operator/controllers"
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
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "Address the metrics endpoint binds to; 0 disables it.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS, authenticated and authorized by the API server.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health probes bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader, so that only one replica evaluates and writes.")
	flag.StringVar(&namespace, "namespace", envOr("POD_NAMESPACE", "isms-system"), "The operator's namespace: Findings of cluster-scoped subjects are recorded here.")
	flag.DurationVar(&evaluationTimeout, "evaluation-timeout", 250*time.Millisecond, "Deadline of one policy evaluation of one object.")
	flag.IntVar(&concurrency, "max-concurrent-reconciles", 4, "How many Controls are reconciled at once. Reconciles write Findings and status; sweeps run apart, on one goroutine per CPU.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "Address of the pprof endpoint (/debug/pprof), for profiling; 0 disables it.")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	mgrOpts := ManagerOptions(metricsAddr, secureMetrics, probeAddr, leaderElect)
	mgrOpts.PprofBindAddress = pprofAddr
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), mgrOpts)
	if err != nil {
		log.Error(err, "Unable to create manager")
		os.Exit(1)
	}
	if err := controllers.SetupWithManager(mgr, controllers.Options{
		Namespace:               namespace,
		EvaluationTimeout:       evaluationTimeout,
		MaxConcurrentReconciles: concurrency,
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

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
