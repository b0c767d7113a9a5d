package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// soakResult is the manager's live heap and goroutines, sampled while objects churn and
// Deployments flip into and out of violation for -soak: once the manager is warm neither may
// grow, and a leak (a forgotten goroutine, a map that only grows) shows as the difference
// between the first sample and the last.
type soakResult struct {
	Seconds          float64      `json:"seconds"`
	Samples          []soakSample `json:"samples"`
	Flips            int          `json:"flips"`
	ChurnWrites      int64        `json:"churnWrites"`
	HeapGrowth       float64      `json:"heapGrowth"` // last sample's heap over the first's
	GoroutinesGrowth int          `json:"goroutinesGrowth"`
}

type soakSample struct {
	AtSeconds  float64 `json:"atSeconds"`
	HeapBytes  uint64  `json:"heapBytes"`
	Goroutines int     `json:"goroutines"`
}

// soakSamples is how many times the soak samples the manager, evenly over its duration.
const soakSamples = 10

// measureSoak churns for cfg.Soak, flipping one Deployment a second, and samples the manager.
func measureSoak(ctx context.Context, c client.Client, cfg Config, mgr *managerProcess, progress func(string)) (soakResult, error) {
	res := soakResult{Seconds: cfg.Soak.Seconds()}
	soakCtx, stop := context.WithTimeout(ctx, cfg.Soak)
	defer stop()
	var writes atomic.Int64
	go churn(soakCtx, c, cfg, nil, &writes)
	flips := make(chan int, 1)
	go func() { flips <- flipEverySecond(soakCtx, c, cfg) }()
	start := time.Now()
	every := cfg.Soak / soakSamples
	for i := 0; i <= soakSamples; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(time.Until(start.Add(time.Duration(i) * every))):
			}
		}
		s, err := mgr.sample()
		if err != nil {
			return res, err
		}
		s.AtSeconds = time.Since(start).Seconds()
		res.Samples = append(res.Samples, s)
		progress(fmt.Sprintf("soak: %.0fs, heap %.1f MiB, %d goroutines", s.AtSeconds, float64(s.HeapBytes)/(1<<20), s.Goroutines))
	}
	stop()
	res.Flips, res.ChurnWrites = <-flips, writes.Load()
	first, last := res.Samples[0], res.Samples[len(res.Samples)-1]
	res.HeapGrowth = float64(last.HeapBytes) / float64(max(first.HeapBytes, 1))
	res.GoroutinesGrowth = last.Goroutines - first.Goroutines
	return res, nil
}

// flipEverySecond flips the first Deployment of a namespace into or out of violation once a
// second, round the namespaces, until ctx ends, and returns how many flips it wrote.
func flipEverySecond(ctx context.Context, c client.Client, cfg Config) int {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return n
		case <-tick.C:
		}
		i := (n / 2) % min(cfg.Namespaces, cfg.Objects)
		privileged := n%2 == 0 != privilegedAt(i, cfg.Namespaces, cfg.Violating)
		d := &appsv1.Deployment{}
		d.Namespace, d.Name = namespaceName(i%cfg.Namespaces), deploymentName(i)
		patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","securityContext":{"privileged":%t,"allowPrivilegeEscalation":%t}}]}}}}`, privileged, privileged)
		_ = c.Patch(ctx, d, client.RawPatch(types.StrategicMergePatchType, []byte(patch)))
	}
}

// sample reads the manager's live heap (after a forced collection) and its goroutine count.
func (m *managerProcess) sample() (soakSample, error) {
	heap, err := m.heapAfterGC()
	if err != nil {
		return soakSample{}, err
	}
	resp, err := http.Get("http://" + m.pprofAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return soakSample{}, err
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	_, _ = io.Copy(io.Discard, resp.Body)
	total, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if err != nil || !ok {
		return soakSample{}, fmt.Errorf("no goroutine total in %q", line)
	}
	n, err := strconv.Atoi(total)
	return soakSample{HeapBytes: heap, Goroutines: n}, err
}
