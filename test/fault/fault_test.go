// Package fault kills the manager (SIGKILL) at chosen and random moments and restarts the
// kube-apiserver while objects churn, and after each fault checks that the Findings and
// Controls converge to a ground truth decided from the objects alone (truth_test.go).
package fault

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

const (
	operatorNamespace = "isms-system"
	// convergeTimeout bounds each round's wait for the truth.
	convergeTimeout = 60 * time.Second
	pollInterval    = 250 * time.Millisecond
)

// faultKind is what a round does to the operator.
type faultKind string

const (
	killFirstEvaluation faultKind = "kill during first evaluation"
	killMidSweep        faultKind = "kill mid-sweep"
	killMidWrite        faultKind = "kill mid-Finding-write"
	killRandom          faultKind = "kill at random, churning"
	restartAPIServer    faultKind = "restart kube-apiserver, churning"
)

// roundResult is one line of the summary.
type roundResult struct {
	kind   faultKind
	moment string // what the test saw at the fault
	// changes made to the objects during the round (failed: refused, e.g. while the
	// kube-apiserver was down).
	changes, failedChanges int
	// pending counts the mismatches right after the fault: work it interrupted or that the
	// operator had not done yet.
	pending int
	// converged is the time from the operator being back (manager started, kube-apiserver
	// ready) to Findings and Controls matching the truth; zero if they never did.
	converged time.Duration
	// polls with a mismatch before convergence, and the most mismatches one poll saw.
	badPolls, maxMismatches int
	example                 string // one mismatch seen before convergence
	// pendingControls are the Controls seen with result Pending before convergence: a restarted
	// manager shows every Control Pending until its first sweep of it.
	pendingControls map[string]bool
	// opened and resolved count the failing pairs that appeared and went away since the last
	// convergence: the round's work for the operator.
	opened, resolved int
}

// faultPlan is the seeded order of the rounds: the first kill is during the manager's very
// first evaluation, then 19 more kills of four kinds and two kube-apiserver restarts, shuffled.
func faultPlan(rng *rand.Rand) []faultKind {
	var rest []faultKind
	for _, k := range []faultKind{killFirstEvaluation, killMidSweep, killMidWrite, killRandom} {
		n := 5
		if k == killFirstEvaluation {
			n = 4
		}
		for range n {
			rest = append(rest, k)
		}
	}
	rest = append(rest, restartAPIServer, restartAPIServer)
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	return append([]faultKind{killFirstEvaluation}, rest...)
}

// requireControlPlane skips a test that runs the manager and the control plane under -short,
// and without a control plane to run (make test-unit), saying so.
func requireControlPlane(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the manager binary and a control plane for minutes; skipped with -short")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("needs a kube-apiserver and etcd: KUBEBUILDER_ASSETS is not set (run `make test` or `make test-fault`)")
	}
}

// TestFaults is the fault test of issue 12: 20 SIGKILLs of the manager and 2 kube-apiserver
// restarts against a few hundred Deployments and five library Controls. FAULT_SEED=<n>
// replays a run's generator, plan and delays (the timing of the processes still varies).
func TestFaults(t *testing.T) {
	requireControlPlane(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FAULT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("FAULT_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (FAULT_SEED=%d replays it)", seed, seed)
	h := newHarness(t, seed)
	var results []roundResult
	defer func() { t.Log("\n" + summary(results)) }()
	for i, kind := range faultPlan(h.rng) {
		r := h.runRound(i+1, kind)
		results = append(results, r)
		if r.converged == 0 {
			h.fail("round %d (%s, %s): no convergence within %s", i+1, kind, r.moment, convergeTimeout)
		}
	}
	h.checkQuiet(3 * time.Second)
	kills := 0
	for _, r := range results {
		if r.kind != restartAPIServer {
			kills++
		}
	}
	h.verifyLedger(kills)
	// Without pairs that pass again, or fail anew, a Finding that never resolves or never
	// opens would go unnoticed. The first round opens the initial ones.
	var opened, resolved int
	for _, r := range results[1:] {
		opened, resolved = opened+r.opened, resolved+r.resolved
	}
	if opened < 3 || resolved < 3 {
		t.Errorf("after the first round the churn opened %d and resolved %d failing pairs: too few to test both ways", opened, resolved)
	}
}
