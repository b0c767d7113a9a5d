package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// cpuSample is the CPU seconds used so far by Gatekeeper and by the control plane, at a time.
type cpuSample struct {
	at                  float64 // unix seconds
	process, controlSet float64
}

// auditWatcher polls Gatekeeper's log and the processes' CPU, and keeps every audit that
// finished while it ran, with the CPU it cost: the samples just before its start and just
// after its end bracket it.
type auditWatcher struct {
	mu      sync.Mutex
	samples []cpuSample
	audits  []auditRun
}

const auditPoll = 200 * time.Millisecond

func (w *auditWatcher) run(ctx context.Context, gk *gatekeeperProcess) {
	log := &auditLog{path: gk.logPath}
	for {
		cpu := processCPU("gatekeeper", gk.pid())
		runs, err := log.next()
		w.mu.Lock()
		w.samples = append(w.samples, cpuSample{
			at:      float64(time.Now().UnixNano()) / 1e9,
			process: cpu["gatekeeper"], controlSet: cpu["kube-apiserver"] + cpu["etcd"],
		})
		if err == nil {
			w.audits = append(w.audits, runs...)
		}
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(auditPoll):
		}
	}
}

// finished returns the audits that ended after the given unix time.
func (w *auditWatcher) finished(after float64) []auditRun {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []auditRun
	for _, a := range w.audits {
		if a.end > after {
			out = append(out, a)
		}
	}
	return out
}

// cpuOver returns the CPU Gatekeeper and the control plane used over an audit: from the last
// sample at or before its start to the first at or after its end.
func (w *auditWatcher) cpuOver(a auditRun) (process, controlPlane float64, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return cpuBetween(w.samples, a.start, a.end)
}

// cpuBetween brackets [start, end] with the samples (in time order) around it.
func cpuBetween(samples []cpuSample, start, end float64) (process, controlPlane float64, ok bool) {
	var before, after *cpuSample
	for i := range samples {
		s := &samples[i]
		if s.at <= start {
			before = s
		}
		if s.at >= end && after == nil {
			after = s
		}
	}
	if before == nil || after == nil {
		return 0, 0, false
	}
	return after.process - before.process, after.controlSet - before.controlSet, true
}

// measureGatekeeper runs Gatekeeper with the equivalent constraint alone, after the manager
// has stopped.
func measureGatekeeper(ctx context.Context, plane *estate, cfg Config, peer PeerConfig, flippers []int, progress func(string)) (peerFigures, error) {
	var f peerFigures
	progress(fmt.Sprintf("gatekeeper: starting it, audit every %s", peer.AuditInterval))
	gk, err := startGatekeeper(ctx, peer.GatekeeperBinary, plane.kubeconfig, cfg.WorkDir, peer.AuditInterval)
	if err != nil {
		return f, err
	}
	defer gk.stop()
	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	watcher := &auditWatcher{}
	go watcher.run(watchCtx, gk)

	created, err := createGatekeeperPolicy(ctx, plane.client)
	if err != nil {
		return f, err
	}
	// An audit can take longer than the interval; it then starts again at once.
	timeout := 3*peer.AuditInterval + 10*time.Minute
	first, err := awaitConstraintAudit(ctx, plane, func(constraintAudit) bool { return true }, timeout)
	if err != nil {
		return f, err
	}
	f.FirstResultSeconds = time.Since(created).Seconds()
	f.Violations = first.totalViolations
	firstSeen := float64(time.Now().UnixNano()) / 1e9

	progress(fmt.Sprintf("gatekeeper: turning %d Deployments privileged, one at a time", len(flippers)))
	if f.VisibleSeconds, err = flipUntilAudited(ctx, plane, cfg, flippers, peer.AuditInterval, timeout); err != nil {
		return f, err
	}
	f.finishVisible()

	progress(fmt.Sprintf("gatekeeper: timing %d audits", peerSweeps))
	if err := gatekeeperSweeps(ctx, watcher, firstSeen, timeout, &f); err != nil {
		return f, err
	}
	_, f.PeakRSSBytes, err = rssOf(gk.pid())
	return f, err
}

// flipUntilAudited turns each Deployment privileged and times until an audit counts it in the
// constraint's totalViolations. How long that takes depends on where in the audit interval the
// write falls: flip k of n is written (k+1/2)/n of an interval after an audit's result, so that
// the writes sample the interval evenly, as writes at random times would.
func flipUntilAudited(ctx context.Context, plane *estate, cfg Config, flippers []int, interval, timeout time.Duration) ([]float64, error) {
	var latencies []float64
	for k, i := range flippers {
		now, err := awaitConstraintAudit(ctx, plane, func(constraintAudit) bool { return true }, timeout)
		if err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration((float64(k) + 0.5) / float64(len(flippers)) * float64(interval))):
		}
		if err := setPrivileged(ctx, plane.client, cfg, i, true); err != nil {
			return nil, err
		}
		written := time.Now()
		counted := func(a constraintAudit) bool { return a.totalViolations > now.totalViolations }
		if _, err := awaitConstraintAudit(ctx, plane, counted, timeout); err != nil {
			return nil, fmt.Errorf("waiting for the audit to count %s: %w", deploymentName(i), err)
		}
		latencies = append(latencies, time.Since(written).Seconds())
	}
	return latencies, nil
}

// gatekeeperSweeps waits for peerSweeps audits that ended after the first result and keeps
// their durations, with the CPU of the fastest.
func gatekeeperSweeps(ctx context.Context, watcher *auditWatcher, after float64, timeout time.Duration, f *peerFigures) error {
	deadline := time.Now().Add(timeout)
	for len(watcher.finished(after)) < peerSweeps {
		if time.Now().After(deadline) {
			return fmt.Errorf("fewer than %d audits within %s", peerSweeps, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	time.Sleep(2 * auditPoll) // a CPU sample after the last audit's end
	for n, a := range watcher.finished(after)[:peerSweeps] {
		seconds := a.end - a.start
		f.Sweeps = append(f.Sweeps, seconds)
		if n == 0 || seconds < f.SweepSeconds {
			process, controlPlane, ok := watcher.cpuOver(a)
			if !ok {
				return fmt.Errorf("no CPU samples around the audit that started at %.1f", a.start)
			}
			f.SweepSeconds, f.CPUSeconds, f.ControlPlaneCPUSeconds = seconds, process, controlPlane
		}
	}
	return nil
}

// awaitConstraintAudit polls the constraint until an audit wrote a result that done accepts.
func awaitConstraintAudit(ctx context.Context, plane *estate, done func(constraintAudit) bool, timeout time.Duration) (constraintAudit, error) {
	deadline := time.Now().Add(timeout)
	for {
		a, ok, err := getConstraintAudit(ctx, plane.client)
		if err == nil && ok && done(a) {
			return a, nil
		}
		if time.Now().After(deadline) {
			return a, fmt.Errorf("no such audit result within %s (last error: %v)", timeout, err)
		}
		select {
		case <-ctx.Done():
			return a, ctx.Err()
		case <-time.After(auditPoll):
		}
	}
}
