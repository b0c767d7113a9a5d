package controllers

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/finding"
)

// The integration tests run the operator against a real kube-apiserver and etcd (envtest), as
// it runs in a cluster. They share one control plane and one manager; each test works in its
// own namespaces and Controls.

const operatorNamespace = "isms-system"

var (
	k8s     client.Client
	testCtx context.Context
)

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

	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		// The ControlException webhook, served by the manager below on envtest's address.
		WebhookInstallOptions: envtest.WebhookInstallOptions{Paths: []string{filepath.Join(repoRoot(), "config", "webhook")}},
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting envtest:", err)
		return 1
	}
	defer func() { _ = env.Stop() }()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testCtx = ctx
	if err := startOperator(ctx, env, cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	cancel()
	<-managerDone
	return code
}

// startOperator runs the manager as a user that holds only the generated ClusterRole
// (config/rbac/role.yaml), so a permission missing from the rbac markers fails the tests.
func startOperator(ctx context.Context, env *envtest.Environment, adminCfg *rest.Config) error {
	var err error
	if k8s, err = client.New(adminCfg, client.Options{Scheme: NewScheme()}); err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil {
		return fmt.Errorf("creating the operator namespace: %w", err)
	}
	cfg, err := operatorConfig(ctx, env)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 NewScheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer: webhook.NewServer(webhook.Options{
			Host:    env.WebhookInstallOptions.LocalServingHost,
			Port:    env.WebhookInstallOptions.LocalServingPort,
			CertDir: env.WebhookInstallOptions.LocalServingCertDir,
		}),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	if err := SetupWithManager(mgr, Options{Namespace: operatorNamespace, MaxConcurrentReconciles: 4, Findings: testFindingPolicy(), EnableWebhooks: true}); err != nil {
		return fmt.Errorf("setting up controllers: %w", err)
	}
	go func() {
		defer close(managerDone)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
			os.Exit(1)
		}
	}()
	return nil
}

// requireAPIServer skips a test that needs the control plane and the operator when they were
// not started (KUBEBUILDER_ASSETS unset).
func requireAPIServer(t *testing.T) {
	t.Helper()
	if k8s == nil {
		t.Skip("needs a kube-apiserver and etcd: KUBEBUILDER_ASSETS is not set (run `make test`)")
	}
}

// managerDone is closed when the manager has stopped, so that the control plane (and the
// webhook's serving certificate) outlive it.
var managerDone = make(chan struct{})

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
	data, err := os.ReadFile(filepath.Join(repoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(bytes.TrimPrefix(data, []byte("---\n")), &role); err != nil {
		return nil, fmt.Errorf("reading the generated ClusterRole: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: operatorUser}},
	}
	for _, obj := range []client.Object{&role, binding} {
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
