package fault

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/isms-operator/isms-operator/controllers"
	"github.com/isms-operator/isms-operator/test/internal/groundtruth"
	"github.com/isms-operator/isms-operator/test/internal/managerproc"
)

// harness is the control plane, the manager process and the estate of one fault test.
type harness struct {
	t      *testing.T
	ctx    context.Context
	seed   uint64
	rng    *rand.Rand // the plan's and the delays'; churn goroutines have their own
	env    *envtest.Environment
	c      client.WithWatch // uncached: what a user reads
	mgr    *managerproc.Manager
	estate *groundtruth.Estate
	apiLog string // kube-apiserver's output
	// evidenceDir holds the manager's SQLite ledger and its signing key, killed mid-write too.
	evidenceDir string
	// converged are the failing pairs when the operator last converged.
	converged map[groundtruth.Pair]bool
}

func newHarness(t *testing.T, seed uint64) *harness {
	log.SetLogger(logr.Discard()) // envtest's own logging
	h := &harness{t: t, ctx: t.Context(), seed: seed, rng: rand.New(rand.NewPCG(seed, 0)), estate: &groundtruth.Estate{}}
	dir := workDir(t)
	h.evidenceDir = filepath.Join(dir, "evidence")
	bin := managerproc.Build(t, dir)
	h.startControlPlane(dir)
	if err := h.c.Create(h.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: operatorNamespace, Labels: map[string]string{groundtruth.OwnerLabel: "platform-security"},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := h.estate.Load(h.ctx, h.c, rand.New(rand.NewPCG(seed, 1))); err != nil {
		t.Fatal(err)
	}
	if err := groundtruth.CreateControls(h.ctx, h.c); err != nil {
		t.Fatal(err)
	}
	user, err := h.env.AddUser(envtest.User{Name: "fault-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	h.mgr = &managerproc.Manager{
		Binary: bin, Kubeconfig: filepath.Join(dir, "kubeconfig"), Namespace: operatorNamespace,
		Flags: []string{
			"--enable-webhooks=false",       // no serving certificate on envtest
			"--evidence-dir", h.evidenceDir, // the ledger is killed mid-write too
			"--evaluation-timeout", evaluationTimeout(),
		},
	}
	if err := os.WriteFile(h.mgr.Kubeconfig, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	if h.mgr.Log, err = os.Create(filepath.Join(dir, "manager.log")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if h.mgr.Running() {
			_ = h.mgr.Kill()
		}
		_ = h.mgr.Log.Close()
	})
	return h
}

// evaluationTimeout is the manager's deadline per evaluation: FAULT_EVALUATION_TIMEOUT, 2s by
// default. The deadline is wall time, and on a starved CI machine (2 cores, the control
// plane, the manager starting and other builds) an evaluation of the default 250ms can run
// past it; its subject is then Error until the next sweep, 10 minutes later. That is not a
// fault this test makes, so it gives the deadline room; FAULT_EVALUATION_TIMEOUT=250ms shows
// the effect.
func evaluationTimeout() string {
	if v := os.Getenv("FAULT_EVALUATION_TIMEOUT"); v != "" {
		return v
	}
	return "2s"
}

// workDir is the test's folder: the manager's and kube-apiserver's logs and the evidence
// ledger. It is kept when the test fails, for the logs.
func workDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "isms-fault-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the logs are kept in %s", dir)
			return
		}
		_ = os.RemoveAll(dir)
	})
	return dir
}

// startControlPlane starts kube-apiserver and etcd. The API server's certificates are kept
// in a folder of the test's: envtest would otherwise put them in a temporary folder that
// Stop removes, and a restarted API server would serve a new CA that the manager's
// kubeconfig does not trust. Its port is kept across restarts too.
func (h *harness) startControlPlane(dir string) {
	certs := filepath.Join(dir, "apiserver")
	if err := os.MkdirAll(certs, 0o700); err != nil {
		h.t.Fatal(err)
	}
	h.env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	apiLog, err := os.Create(filepath.Join(dir, "kube-apiserver.log"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = apiLog.Close() })
	h.apiLog = apiLog.Name()
	api := &envtest.APIServer{CertDir: certs, Out: apiLog, Err: apiLog}
	// A graceful stop waits up to the request timeout (60s) for connections with open watches,
	// longer than envtest waits; with Retry-After it drains the requests in flight and closes
	// the rest after 2s, as a production API server configured so does.
	api.Configure().Set("shutdown-send-retry-after", "true")
	h.env.ControlPlane.APIServer = api
	cfg, err := h.env.Start()
	if err != nil {
		h.t.Fatalf("starting the control plane: %v", err)
	}
	h.t.Cleanup(func() { _ = h.env.Stop() })
	cfg.QPS, cfg.Burst = 500, 1000
	if h.c, err = client.NewWithWatch(cfg, client.Options{Scheme: controllers.NewScheme()}); err != nil {
		h.t.Fatal(err)
	}
}

// fail stops the test with the manager's last words.
func (h *harness) fail(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf(format+"\n--- end of the manager's log ---\n%s", append(args, h.mgr.LogTail(30))...)
}
