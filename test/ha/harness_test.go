package ha

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/isms-operator/isms-operator/controllers"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/postgres/pgtest"
	"github.com/isms-operator/isms-operator/test/internal/groundtruth"
	"github.com/isms-operator/isms-operator/test/internal/managerproc"
)

const (
	operatorNamespace = "isms-system"
	// The Lease timings the replicas run with: client-go's defaults (15s, 10s, 2s) scaled
	// down so that the test waits seconds, not a minute, while a busy machine still does not
	// make the leader miss its renewals, and a released Lease (taken within a retry period)
	// stays far apart from an expired one (a lease duration).
	leaseDuration = 8 * time.Second
	renewDeadline = 5 * time.Second
	retryPeriod   = time.Second
	// convergeTimeout bounds each wait for the Findings to match the truth.
	convergeTimeout = 60 * time.Second
	pollInterval    = 50 * time.Millisecond
)

// harness is the control plane, the shared evidence database and two manager replicas.
type harness struct {
	t        *testing.T
	ctx      context.Context
	c        client.Client // uncached: what a user reads
	estate   *groundtruth.Estate
	replicas [2]*replica
	// ledgerURL and verifierKey are the shared ledger's, to check it at the end.
	ledgerURL, verifierKey string
	// converged are the failing pairs when the replicas last converged.
	converged map[groundtruth.Pair]bool
}

// newHarness starts the control plane and PostgreSQL, loads the estate and the Controls, and
// prepares two replicas as the HA install runs them: leader election on, one ledger in
// PostgreSQL (its URL from the environment, as from a Secret) signed with one shared key,
// and the webhooks served with a mounted certificate.
func newHarness(t *testing.T, seed uint64) *harness {
	log.SetLogger(logr.Discard()) // envtest's own logging
	h := &harness{t: t, ctx: t.Context(), estate: &groundtruth.Estate{}}
	dir := workDir(t)
	bin := managerproc.Build(t, dir)
	pg := pgtest.Start(t)
	h.ledgerURL = pg.NewDatabase(t)
	kubeconfig := h.startControlPlane(dir)
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
	keys, err := evidence.LoadOrCreateKeys(dir, "ha-test/evidence")
	if err != nil {
		t.Fatal(err)
	}
	h.verifierKey = keys.VerifierKey
	certDir := writeServingCert(t, filepath.Join(dir, "certs"))
	for i := range h.replicas {
		h.replicas[i] = h.newReplica(dir, i, bin, kubeconfig, certDir)
	}
	return h
}

// replica is one manager process and where its webhook server listens.
type replica struct {
	*managerproc.Manager
	name        string
	webhookAddr string
}

func (h *harness) newReplica(dir string, i int, bin, kubeconfig, certDir string) *replica {
	webhookAddr, err := managerproc.FreeAddr()
	if err != nil {
		h.t.Fatal(err)
	}
	_, port, _ := strings.Cut(webhookAddr, ":")
	m := &managerproc.Manager{
		Binary: bin, Kubeconfig: kubeconfig, Namespace: operatorNamespace,
		Flags: []string{
			"--leader-elect",
			"--leader-elect-lease-duration", leaseDuration.String(),
			"--leader-elect-renew-deadline", renewDeadline.String(),
			"--leader-elect-retry-period", retryPeriod.String(),
			"--evidence-signing-key", filepath.Join(dir, evidence.KeyFileName),
			"--evidence-dir", filepath.Join(dir, "unused-evidence-dir"),
			"--webhook-cert-rotation=false", "--webhook-cert-dir", certDir, "--webhook-port", port,
			// The wall-time deadline per evaluation, with room for a starved CI machine
			// (see test/fault's evaluationTimeout).
			"--evaluation-timeout", "2s",
		},
		Env: []string{"EVIDENCE_DATABASE_URL=" + h.ledgerURL},
	}
	name := string(rune('a' + i))
	if m.Log, err = os.Create(filepath.Join(dir, "manager-"+name+".log")); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		if m.Running() {
			_ = m.Kill()
		}
		_ = m.Log.Close()
	})
	return &replica{Manager: m, name: name, webhookAddr: webhookAddr}
}

// startControlPlane starts kube-apiserver and etcd with the CRDs, and writes a kubeconfig for
// the managers.
func (h *harness) startControlPlane(dir string) string {
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		h.t.Fatalf("starting the control plane: %v", err)
	}
	h.t.Cleanup(func() { _ = env.Stop() })
	cfg.QPS, cfg.Burst = 500, 1000
	if h.c, err = client.New(cfg, client.Options{Scheme: controllers.NewScheme()}); err != nil {
		h.t.Fatal(err)
	}
	user, err := env.AddUser(envtest.User{Name: "ha-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		h.t.Fatal(err)
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// workDir holds the managers' logs; it is kept when the test fails.
func workDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "isms-ha-")
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

// fail stops the test with both replicas' last words.
func (h *harness) fail(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf(format+"\n--- end of replica a's log ---\n%s\n--- end of replica b's log ---\n%s",
		append(args, h.replicas[0].LogTail(25), h.replicas[1].LogTail(25))...)
}

// waitFor polls cond until it holds or timeout passes, and returns how long that took.
func (h *harness) waitFor(what string, timeout time.Duration, cond func() bool) time.Duration {
	h.t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(pollInterval)
	}
	h.fail("%s: not within %s", what, timeout)
	return 0
}
