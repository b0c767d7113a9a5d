package ha

import (
	"context"
	"math/rand/v2"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/postgres"
	"github.com/isms-operator/isms-operator/test/internal/groundtruth"
)

// converge waits until the Findings and Controls match the ground truth and the leader has
// swept every Control since it took over (so that what an earlier leader wrote cannot pass
// for its work), and returns how long that took. A pair that failed at the last convergence
// and passes now must have its Finding, Resolved: a hand-over must not lose it.
func (h *harness) converge(leader *replica) time.Duration {
	start := time.Now()
	var last []string
	for time.Since(start) < convergeTimeout {
		m, tr, err := h.compare()
		if err != nil {
			m = []string{"reading the state: " + err.Error()}
		}
		if last = m; len(m) == 0 && h.sweptAll(leader) {
			h.converged = map[groundtruth.Pair]bool{}
			for p := range tr.Failing {
				h.converged[p] = true
			}
			return time.Since(start)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(last) == 0 {
		last = []string{"replica " + leader.name + " has not swept every control"}
	}
	h.fail("still wrong after %s (%d mismatches):\n  %s", convergeTimeout, len(last), strings.Join(last[:min(len(last), 20)], "\n  "))
	return 0
}

// compare reads the objects, Findings and Controls and compares them with the truth decided
// from those same objects.
func (h *harness) compare() ([]string, groundtruth.Truth, error) {
	o, err := groundtruth.Observe(h.ctx, h.c)
	if err != nil {
		return nil, groundtruth.Truth{}, err
	}
	tr := groundtruth.Decide(o.Deployments, o.Namespaces, operatorNamespace)
	tr.Resolved = map[groundtruth.Pair]bool{}
	for p := range h.converged {
		if _, failing := tr.Failing[p]; !failing {
			tr.Resolved[p] = true
		}
	}
	return tr.Mismatches(o), tr, nil
}

func (h *harness) sweptAll(r *replica) bool {
	sweeps, err := r.Sweeps()
	return err == nil && countDone(sweeps, nil) == len(groundtruth.Controls())
}

// countDone counts the controls swept more often than in before.
func countDone(sweeps, before map[string]float64) int {
	done := 0
	for _, name := range groundtruth.Controls() {
		if sweeps[name] > before[name] {
			done++
		}
	}
	return done
}

// changes makes count changes to the estate, one after the other.
func (h *harness) changes(rng *rand.Rand, count int) (ok, failed int) {
	for range count {
		ctx, cancel := context.WithTimeout(h.ctx, 2*time.Second)
		if h.estate.ChurnOnce(ctx, h.c, rng) == nil {
			ok++
		} else {
			failed++
		}
		cancel()
	}
	return ok, failed
}

func objectMeta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }

// checkLedger verifies the shared ledger as an auditor would (every leaf, the tree and every
// kept checkpoint, against the shared key) and counts the operator's markers: one start per
// term of leadership, one stop per leader that stopped cleanly (a SIGKILLed one writes none).
func (h *harness) checkLedger(wantStarted, wantStopped int) {
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	store, err := postgres.Open(ctx, h.ledgerURL)
	if err != nil {
		h.fail("opening the ledger: %v", err)
	}
	defer func() { _ = store.Close() }()
	sum, err := evidence.VerifyStore(ctx, store, h.verifierKey)
	if err != nil {
		h.fail("the shared ledger does not verify: %v", err)
	}
	for kind, want := range map[evidence.Kind]int{evidence.KindOperatorStarted: wantStarted, evidence.KindOperatorStopped: wantStopped} {
		recs, err := store.Find(ctx, evidence.Query{Kinds: []evidence.Kind{kind}})
		if err != nil {
			h.fail("reading the ledger's %s markers: %v", kind, err)
		}
		if len(recs) != want {
			h.t.Errorf("the ledger has %d %s markers, want %d", len(recs), kind, want)
		}
	}
	h.t.Logf("the shared ledger verifies: %d leaves, %d kept checkpoints", sum.Size, sum.Checkpoints)
}
