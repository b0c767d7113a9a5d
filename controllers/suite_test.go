package controllers

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/finding"
)

// The integration tests run the operator against a real kube-apiserver and etcd (envtest), as
// it runs in a cluster. They share one control plane and one manager; each test works in its
// own namespaces and Controls.

const operatorNamespace = "isms-system"

var (
	k8s     client.Client
	testCtx context.Context
	// testEnv and operatorCfg let a test restart the operator (see restartOperator).
	testEnv     *envtest.Environment
	operatorCfg *rest.Config
	// evidenceDir holds the suite operator's SQLite evidence ledger, kept across restarts.
	evidenceDir string
	// operator is the running operator.
	operator *runningOperator
)

// testHeartbeat is the suite operator's evidence heartbeat: short, so that a test can wait
// out two of them.
const testHeartbeat = time.Second

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

// runSuite starts the control plane and the operator, unless KUBEBUILDER_ASSETS is unset: then
// only the tests that need no API server run (make test-unit), and the others skip, saying so.
func runSuite(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: the tests that need a kube-apiserver skip; `make test` installs one and runs them")
		return m.Run()
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true), zap.Level(zapLevel())))

	webhooks, err := suiteWebhooks()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		// The validating webhooks, served by the manager below on envtest's address.
		WebhookInstallOptions: webhooks,
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testCtx, testEnv = ctx, env
	if evidenceDir, err = os.MkdirTemp("", "isms-evidence-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(evidenceDir) }()
	if err := setupOperatorUser(ctx, env, cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if operator, err = startOperator(operatorSettings{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	operator.stop()
	return code
}

// skipAdmissionLabel marks the objects the Control and Policy webhooks of the suite do not
// see: objects applied while the operator was down (their failurePolicy is Ignore), for the
// tests of what the reconcilers report about a Control or Policy that landed broken.
const skipAdmissionLabel = "isms.dev/test-skip-admission"

// suiteWebhooks are the generated webhook configurations (config/webhook/manifests.yaml),
// with the Control and Policy webhooks skipping the objects labelled skipAdmissionLabel.
func suiteWebhooks() (envtest.WebhookInstallOptions, error) {
	var opts envtest.WebhookInstallOptions
	data, err := os.ReadFile(filepath.Join(repoRoot(), "config", "webhook", "manifests.yaml"))
	if err != nil {
		return opts, err
	}
	for _, doc := range bytes.Split(bytes.TrimPrefix(data, []byte("---\n")), []byte("\n---\n")) {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return opts, fmt.Errorf("reading the webhook manifests: %w", err)
		}
		switch meta.Kind {
		case "MutatingWebhookConfiguration":
			var cfg admissionregistrationv1.MutatingWebhookConfiguration
			if err := yaml.UnmarshalStrict(doc, &cfg); err != nil {
				return opts, fmt.Errorf("reading the webhook manifests: %w", err)
			}
			opts.MutatingWebhooks = append(opts.MutatingWebhooks, &cfg)
		case "ValidatingWebhookConfiguration":
			var cfg admissionregistrationv1.ValidatingWebhookConfiguration
			if err := yaml.UnmarshalStrict(doc, &cfg); err != nil {
				return opts, fmt.Errorf("reading the webhook manifests: %w", err)
			}
			skipLabelledAdmission(&cfg)
			opts.ValidatingWebhooks = append(opts.ValidatingWebhooks, &cfg)
		default:
			return opts, fmt.Errorf("the webhook manifests hold a %q", meta.Kind)
		}
	}
	return opts, nil
}

// skipLabelledAdmission makes the Control and Policy webhooks skip objects labelled
// skipAdmissionLabel.
func skipLabelledAdmission(cfg *admissionregistrationv1.ValidatingWebhookConfiguration) {
	for i, w := range cfg.Webhooks {
		if w.Name == "vcontrol.isms.dev" || w.Name == "vpolicy.isms.dev" {
			cfg.Webhooks[i].ObjectSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: skipAdmissionLabel, Operator: metav1.LabelSelectorOpDoesNotExist}}}
		}
	}
}

// landedUnchecked labels obj so that the suite's Control and Policy webhooks skip it, as if
// it had been applied while the operator was down, and returns it.
func landedUnchecked[T client.Object](obj T) T {
	labels := obj.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[skipAdmissionLabel] = "true"
	obj.SetLabels(labels)
	return obj
}

// setupOperatorUser creates the admin client, the operator's namespace, and the user the
// operator runs as.
func setupOperatorUser(ctx context.Context, env *envtest.Environment, adminCfg *rest.Config) error {
	var err error
	if k8s, err = client.New(adminCfg, client.Options{Scheme: NewScheme()}); err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil {
		return fmt.Errorf("creating the operator namespace: %w", err)
	}
	operatorCfg, err = operatorConfig(ctx, env)
	return err
}

// operatorSettings vary the suite's operator between starts.
type operatorSettings struct {
	// restart: controllers of this name ran before in this process.
	restart bool
	// metricsAddr, when set, serves /metrics and /evidence/ there behind the API server's
	// authentication and authorisation, as the manager binary does.
	metricsAddr string
	// reports, when set, publishes OpenReports (reports_publisher_test.go).
	reports *ReportsOptions
}

// runningOperator is a started manager with its evidence ledger.
type runningOperator struct {
	cancel  context.CancelFunc
	done    chan struct{}
	ledger  *evidence.Ledger
	metrics *operatorRegistry
}

// stop stops the manager and closes its ledger, as the manager binary does on SIGTERM, and
// takes its metrics off controller-runtime's registry, for the next operator's.
func (o *runningOperator) stop() {
	o.cancel()
	<-o.done
	_ = o.ledger.Store().Close()
	o.metrics.unregisterAll()
}

// operatorRegistry registers one operator's metrics with controller-runtime's registry, which
// the metrics server serves, and remembers them, so that an operator started after it in the
// same process serves its own metrics, as the manager binary would after a restart.
type operatorRegistry struct {
	mu         sync.Mutex
	collectors []prometheus.Collector
}

func (r *operatorRegistry) Register(c prometheus.Collector) error {
	if err := metrics.Registry.Register(c); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.collectors = append(r.collectors, c)
	return nil
}

func (r *operatorRegistry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *operatorRegistry) Unregister(c prometheus.Collector) bool {
	return metrics.Registry.Unregister(c)
}

func (r *operatorRegistry) unregisterAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.collectors {
		metrics.Registry.Unregister(c)
	}
	r.collectors = nil
}

// startOperator runs the manager as a user that holds only the generated roles
// (config/rbac/role.yaml), so a permission missing from the rbac markers fails the tests.
func startOperator(set operatorSettings) (*runningOperator, error) {
	mgr, err := ctrl.NewManager(operatorCfg, managerOptions(set))
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	ledger, err := OpenLedger(testCtx, LedgerConfig{Dir: evidenceDir})
	if err != nil {
		return nil, err
	}
	registry := &operatorRegistry{}
	opts := Options{Namespace: operatorNamespace, MaxConcurrentReconciles: 4, Findings: testFindingPolicy(), EnableWebhooks: true,
		Evidence: &EvidenceOptions{Ledger: ledger, Heartbeat: testHeartbeat, Version: "test"}, Registry: registry,
		Reports: set.reports}
	if err := SetupWithManager(mgr, opts); err != nil {
		registry.unregisterAll()
		return nil, fmt.Errorf("setting up controllers: %w", err)
	}
	ctx, cancel := context.WithCancel(testCtx)
	op := &runningOperator{cancel: cancel, done: make(chan struct{}), ledger: ledger, metrics: registry}
	go func() {
		defer close(op.done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
			os.Exit(1)
		}
	}()
	return op, nil
}

func managerOptions(set operatorSettings) ctrl.Options {
	env := testEnv
	opts := ctrl.Options{
		Scheme:                 NewScheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer: webhook.NewServer(webhook.Options{
			Host:    env.WebhookInstallOptions.LocalServingHost,
			Port:    env.WebhookInstallOptions.LocalServingPort,
			CertDir: env.WebhookInstallOptions.LocalServingCertDir,
		}),
	}
	if set.metricsAddr != "" {
		opts.Metrics = metricsserver.Options{BindAddress: set.metricsAddr, SecureServing: true,
			FilterProvider: filters.WithAuthenticationAndAuthorization}
	}
	if set.restart {
		opts.Controller = config.Controller{SkipNameValidation: ptr.To(true)}
	}
	return opts
}

// requireAPIServer skips a test that needs the control plane and the operator when they were
// not started (KUBEBUILDER_ASSETS unset).
func requireAPIServer(t *testing.T) {
	t.Helper()
	if k8s == nil {
		t.Skip("needs a kube-apiserver and etcd: KUBEBUILDER_ASSETS is not set (run `make test`)")
	}
}

// testFindingPolicy is the default workflow, except that Findings of severity low fall due
// after a few seconds, for TestFindingFallsOverdue; the other tests use severity high.
func testFindingPolicy() finding.Workflow {
	p := finding.DefaultWorkflow()
	p.DuePeriods[ismsv1.SeverityLow] = lowSeverityDue
	return p
}

const lowSeverityDue = 3 * time.Second

const operatorUser = "isms-operator-under-test"

func operatorConfig(ctx context.Context, env *envtest.Environment) (*rest.Config, error) {
	objs, err := operatorRoles()
	if err != nil {
		return nil, err
	}
	for _, obj := range objs {
		if err := k8s.Create(ctx, obj); err != nil {
			return nil, fmt.Errorf("creating %s: %w", obj.GetName(), err)
		}
	}
	user, err := env.AddUser(envtest.User{Name: operatorUser}, nil)
	if err != nil {
		return nil, fmt.Errorf("adding the operator's user: %w", err)
	}
	return user.Config(), nil
}

// operatorRoles are the roles the operator is given in a cluster, bound to its test user:
// the generated ClusterRole and Role (config/rbac/role.yaml), and the metrics endpoint's
// TokenReview and SubjectAccessReview rights (config/rbac/metrics_auth_role.yaml).
func operatorRoles() ([]client.Object, error) {
	var objs []client.Object
	subjects := []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: operatorUser}}
	for _, file := range []string{"role.yaml", "metrics_auth_role.yaml"} {
		data, err := os.ReadFile(filepath.Join(repoRoot(), "config", "rbac", file))
		if err != nil {
			return nil, err
		}
		for _, doc := range bytes.Split(bytes.TrimPrefix(data, []byte("---\n")), []byte("\n---\n")) {
			var meta metav1.TypeMeta
			if err := yaml.Unmarshal(doc, &meta); err != nil {
				return nil, fmt.Errorf("reading %s: %w", file, err)
			}
			switch meta.Kind {
			case "ClusterRole":
				var role rbacv1.ClusterRole
				if err := yaml.UnmarshalStrict(doc, &role); err != nil {
					return nil, fmt.Errorf("reading %s: %w", file, err)
				}
				objs = append(objs, &role, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name}, Subjects: subjects,
					RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}})
			case "Role":
				var role rbacv1.Role
				if err := yaml.UnmarshalStrict(doc, &role); err != nil {
					return nil, fmt.Errorf("reading %s: %w", file, err)
				}
				role.Namespace = operatorNamespace
				objs = append(objs, &role, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: operatorNamespace},
					Subjects: subjects, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}})
			default:
				return nil, fmt.Errorf("%s: unexpected kind %q", file, meta.Kind)
			}
		}
	}
	return objs, nil
}

// zapLevel keeps test output quiet unless ISMS_TEST_VERBOSE is set.
func zapLevel() zapcore.Level {
	if os.Getenv("ISMS_TEST_VERBOSE") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.ErrorLevel
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}
