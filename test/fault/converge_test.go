package fault

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/test/internal/groundtruth"
)

// mismatchesNow reads the objects, Findings and Controls and compares them with the truth
// decided from those same objects.
func (h *harness) mismatchesNow() ([]string, error) {
	m, _, _, err := h.compare()
	return m, err
}

// compare is mismatchesNow with what was observed and the truth.
func (h *harness) compare() ([]string, groundtruth.Observed, groundtruth.Truth, error) {
	o, err := groundtruth.Observe(h.ctx, h.c)
	if err != nil {
		return nil, o, groundtruth.Truth{}, err
	}
	tr := groundtruth.Decide(o.Deployments, o.Namespaces, operatorNamespace)
	tr.Resolved = map[groundtruth.Pair]bool{}
	for p := range h.converged {
		if _, failing := tr.Failing[p]; !failing {
			tr.Resolved[p] = true
		}
	}
	return tr.Mismatches(o), o, tr, nil
}

// convergedOn records the failing pairs of a converged state, and counts the pairs that
// opened and resolved since the last one.
func (h *harness) convergedOn(tr groundtruth.Truth, r *roundResult) {
	for p := range tr.Failing {
		if !h.converged[p] {
			r.opened++
		}
	}
	for p := range h.converged {
		if _, failing := tr.Failing[p]; !failing {
			r.resolved++
		}
	}
	h.converged = map[groundtruth.Pair]bool{}
	for p := range tr.Failing {
		h.converged[p] = true
	}
}

// pending counts the mismatches right after a kill.
func (h *harness) pending() int {
	m, err := h.mismatchesNow()
	if err != nil {
		h.fail("reading the state after a kill: %v", err)
	}
	return len(m)
}

// converge polls until the state matches the truth, and records how long that took from back
// and what was wrong meanwhile. After a kill it also waits for the new manager to have swept
// every control, so that what the killed one left cannot pass for convergence. A read that
// fails (the API server is still settling) counts as a bad poll.
func (h *harness) converge(back time.Time, afterKill bool, r *roundResult) {
	var last []string
	for time.Since(back) < convergeTimeout {
		m, o, tr, err := h.compare()
		if err != nil {
			m = []string{"reading the state: " + err.Error()}
		}
		for _, c := range o.Controls {
			if c.Status.Result == ismsv1.ResultPending {
				r.pendingControls[c.Name] = true
			}
		}
		if err == nil && len(m) == 0 && (!afterKill || h.sweptAll()) {
			r.converged = max(time.Since(back), time.Millisecond)
			h.convergedOn(tr, r)
			return
		}
		if len(m) > 0 {
			r.badPolls++
			r.maxMismatches = max(r.maxMismatches, len(m))
			if r.example == "" {
				r.example = m[0]
			}
			last = m
		}
		time.Sleep(pollInterval)
	}
	if len(last) == 0 {
		last = []string{"the manager has not swept every control"}
	}
	h.t.Errorf("still wrong after %s (%d mismatches):\n  %s", convergeTimeout, len(last), strings.Join(last[:min(len(last), 20)], "\n  "))
}

// sweptAll reports whether the running manager has swept every control at least once.
func (h *harness) sweptAll() bool {
	sweeps, err := h.mgr.Sweeps()
	return err == nil && countDone(sweeps, nil) == len(groundtruth.Controls())
}

// checkQuiet checks, after the last round, that the converged state holds for a while with
// nothing changing: no late write from before a fault undoes it.
func (h *harness) checkQuiet(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		m, err := h.mismatchesNow()
		if err != nil {
			h.fail("reading the final state: %v", err)
		}
		if len(m) > 0 {
			h.fail("the converged state did not hold (%d mismatches):\n  %s", len(m), strings.Join(m[:min(len(m), 20)], "\n  "))
		}
		time.Sleep(pollInterval)
	}
	if !h.mgr.Running() {
		h.fail("the manager is not running at the end")
	}
}

// summary is the table of rounds, with the totals.
func summary(results []roundResult) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "round\tfault\tmoment\tchanges (failed)\tpending after fault\tconverged in\tbad polls\tmax mismatches\tControls seen Pending\tpairs opened/resolved\texample")
	var kills, restarts int
	var slowest, total time.Duration
	for i, r := range results {
		if r.kind == restartAPIServer {
			restarts++
		} else {
			kills++
		}
		converged := "NEVER"
		if r.converged > 0 {
			converged = r.converged.Round(10 * time.Millisecond).String()
			slowest, total = max(slowest, r.converged), total+r.converged
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d (%d)\t%d\t%s\t%d\t%d\t%d\t%d/%d\t%s\n", i+1, r.kind, r.moment,
			r.changes, r.failedChanges, r.pending, converged, r.badPolls, r.maxMismatches, len(r.pendingControls),
			r.opened, r.resolved, policy.Truncate(r.example, 90))
	}
	_ = w.Flush()
	if len(results) > 0 {
		fmt.Fprintf(&b, "%d SIGKILLs, %d kube-apiserver restarts; converged in %s on average, %s at worst\n",
			kills, restarts, (total / time.Duration(len(results))).Round(10*time.Millisecond), slowest.Round(10*time.Millisecond))
	}
	return b.String()
}
