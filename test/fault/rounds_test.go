package fault

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/test/internal/groundtruth"
	"github.com/isms-operator/isms-operator/test/internal/managerproc"
)

// runRound makes one fault, brings the operator back as a cluster would (the kubelet restarts
// a killed manager), and waits for convergence.
func (h *harness) runRound(n int, kind faultKind) roundResult {
	r := roundResult{kind: kind, pendingControls: map[string]bool{}}
	var back time.Time
	switch kind {
	case restartAPIServer:
		back = h.restartAPIServer(n, &r)
	default:
		h.killAt(n, kind, &r)
		r.pending = h.pending()
		back = time.Now()
		if err := h.mgr.Start(); err != nil {
			h.fail("round %d: %v", n, err)
		}
	}
	h.converge(back, kind != restartAPIServer, &r)
	return r
}

// killAt SIGKILLs the manager at the round's moment and describes it.
func (h *harness) killAt(n int, kind faultKind, r *roundResult) {
	switch kind {
	case killFirstEvaluation:
		h.killInFirstEvaluation(n, r)
	case killMidSweep:
		h.killMidSweep(n, r)
	case killMidWrite:
		h.killMidWrite(n, r)
	case killRandom:
		delay := time.Duration(h.rng.IntN(3000)) * time.Millisecond
		stop := h.churn(n, 30)
		time.Sleep(delay)
		h.kill(n)
		r.changes, r.failedChanges = stop()
		r.moment = fmt.Sprintf("after %s of churn", delay)
	}
}

func (h *harness) kill(n int) {
	if err := h.mgr.Kill(); err != nil {
		h.fail("round %d: %v", n, err)
	}
}

// killInFirstEvaluation stops the manager gracefully (except the first time, when it has not
// run yet), changes objects while it is down so that its next start has Findings to write,
// starts it and kills it during its first evaluation: while its caches fill, at its first
// finished sweep, or after a random delay.
func (h *harness) killInFirstEvaluation(n int, r *roundResult) {
	if err := h.mgr.Stop(); err != nil {
		h.fail("round %d: %v", n, err)
	}
	if h.mgr.Starts > 0 {
		r.changes, r.failedChanges = h.changes(n, 10)
	}
	if err := h.mgr.Start(); err != nil {
		h.fail("round %d: %v", n, err)
	}
	start := time.Now()
	target := h.rng.IntN(3) // 0: metrics up, 1: first sweep done, 2: a random delay
	delay := time.Duration(h.rng.IntN(2000)) * time.Millisecond
	for time.Since(start) < 20*time.Second {
		sweeps, err := h.mgr.Sweeps()
		done := countDone(sweeps, nil)
		if target == 0 && err == nil || target == 1 && done > 0 || target == 2 && time.Since(start) >= delay {
			h.kill(n)
			r.moment = fmt.Sprintf("start+%s, %d/%d swept", time.Since(start).Round(time.Millisecond), done, len(groundtruth.Controls()))
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.kill(n)
	r.moment = "start+20s, target not seen"
}

// killMidSweep changes every Control's interval (a spec change: each is swept again) and kills
// the manager as soon as its metrics say the first of the sweeps has ended, while the others
// run or wait. (The Controls' status.lastSweep would say so too late: the operator writes
// counts and times at most every 5s.)
func (h *harness) killMidSweep(n int, r *roundResult) {
	before, err := h.mgr.Sweeps()
	if err != nil {
		h.fail("round %d: reading the sweep metrics: %v", n, err)
	}
	patch := client.RawPatch(types.MergePatchType, fmt.Appendf(nil, `{"spec":{"interval":"%dm"}}`, 10+n))
	for _, name := range groundtruth.Controls() {
		if err := h.c.Patch(h.ctx, &ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: name}}, patch); err != nil {
			h.fail("round %d: %v", n, err)
		}
	}
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		sweeps, err := h.mgr.Sweeps()
		if done := countDone(sweeps, before); err == nil && done > 0 {
			h.kill(n)
			r.moment = fmt.Sprintf("spec change+%s, %d/%d swept", time.Since(start).Round(time.Millisecond), done, len(groundtruth.Controls()))
			return
		}
	}
	h.kill(n)
	r.moment = "no sweep ended within 10s"
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

// killMidWrite changes a burst of objects and kills the manager a few milliseconds after the
// first Finding write it causes, while the others are being written.
func (h *harness) killMidWrite(n int, r *roundResult) {
	w, err := h.c.Watch(h.ctx, &ismsv1.FindingList{})
	if err != nil {
		h.fail("round %d: watching findings: %v", n, err)
	}
	defer w.Stop()
	drain(w) // the initial ADDED events of existing Findings
	jitter := time.Duration(h.rng.IntN(30)) * time.Millisecond
	burst := make(chan [2]int, 1)
	go func() { ok, failed := h.changes(n, 40); burst <- [2]int{ok, failed} }()
	start := time.Now()
	select {
	case <-w.ResultChan():
		time.Sleep(jitter)
		h.kill(n)
		r.moment = fmt.Sprintf("first write+%s (burst+%s)", jitter, time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		h.kill(n)
		r.moment = "no Finding write seen in 10s"
	}
	counts := <-burst
	r.changes, r.failedChanges = counts[0], counts[1]
}

// drain discards the events already delivered.
func drain(w watch.Interface) {
	for {
		select {
		case <-w.ResultChan():
		case <-time.After(300 * time.Millisecond):
			return
		}
	}
}

// restartAPIServer stops and starts kube-apiserver (etcd keeps running) while objects churn,
// and returns when it serves again. A manager that exited meanwhile is started again, as its
// Deployment would be, and the round says so.
func (h *harness) restartAPIServer(n int, r *roundResult) time.Time {
	stop := h.churn(n, 30)
	time.Sleep(time.Duration(500+h.rng.IntN(1000)) * time.Millisecond)
	api := h.env.ControlPlane.APIServer
	stopped := time.Now()
	if err := api.Stop(); err != nil {
		h.fail("round %d: stopping kube-apiserver: %v\n--- its log ---\n%s", n, err, managerproc.TailFile(h.apiLog, 30))
	}
	down := time.Duration(1000+h.rng.IntN(2000)) * time.Millisecond
	time.Sleep(down)
	if err := api.Start(); err != nil {
		h.fail("round %d: starting kube-apiserver again: %v", n, err)
	}
	back := time.Now()
	time.Sleep(time.Second)
	r.changes, r.failedChanges = stop()
	// Down from the stop to serving again: the graceful stop, the pause, and the start.
	r.moment = fmt.Sprintf("down %s (paused %s)", back.Sub(stopped).Round(100*time.Millisecond), down.Round(100*time.Millisecond))
	if !h.mgr.Running() {
		r.moment += ", manager exited"
		_ = h.mgr.Kill() // reaps it
		if err := h.mgr.Start(); err != nil {
			h.fail("round %d: %v", n, err)
		}
	}
	return back
}

// changes makes count changes one after the other and counts those that succeeded and failed.
func (h *harness) changes(n, count int) (ok, failed int) {
	rng := rand.New(rand.NewPCG(h.seed, uint64(n)<<8))
	for range count {
		if h.change(rng) {
			ok++
		} else {
			failed++
		}
	}
	return ok, failed
}

func (h *harness) change(rng *rand.Rand) bool {
	ctx, cancel := context.WithTimeout(h.ctx, 2*time.Second)
	defer cancel()
	return h.estate.ChurnOnce(ctx, h.c, rng) == nil
}

// churn changes objects at perSecond in the background until the returned function is
// called, which returns the counts.
func (h *harness) churn(n int, perSecond int) func() (ok, failed int) {
	rng := rand.New(rand.NewPCG(h.seed, uint64(n)<<8|1))
	var okCount, failedCount atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if h.change(rng) {
					okCount.Add(1)
				} else {
					failedCount.Add(1)
				}
			}
		}
	})
	return func() (int, int) {
		close(done)
		wg.Wait()
		return int(okCount.Load()), int(failedCount.Load())
	}
}
