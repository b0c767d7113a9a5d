package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// driftResult is the time from an API write that flips a Deployment into or out of violation to
// the Finding change, seen through a watch as a user's tooling would see it.
type driftResult struct {
	Flips    int `json:"flips"`
	TimedOut int `json:"timedOut"`
	// FailedWrites are flips whose write the API server refused or timed out (it did at 100k
	// Deployments under 200 updates/s on two cores): counted, not timed, and the run goes on.
	FailedWrites    int     `json:"failedWrites,omitempty"`
	FirstWriteError string  `json:"firstWriteError,omitempty"`
	ChurnPerSec     float64 `json:"churnUpdatesPerSecond"`
	ChurnWrites     int64   `json:"churnWrites"`
	P50ms           float64 `json:"p50Milliseconds"`
	P95ms           float64 `json:"p95Milliseconds"`
	P99ms           float64 `json:"p99Milliseconds"`
	MaxMs           float64 `json:"maxMilliseconds"`
	latenciesSecs   []float64
}

// maxErrorLen bounds an error message the results keep.
const maxErrorLen = 500

type findingView struct {
	namespace string
	subjects  []string
}

func measureDrift(ctx context.Context, c client.WithWatch, cfg Config, control string, progress func(string)) (driftResult, error) {
	res := driftResult{ChurnPerSec: cfg.ChurnPerSecond}
	// Flip the first Deployment of each namespace that starts compliant: it sorts first in its
	// namespace's Finding, so it is listed however many subjects fail there.
	var flippers []int
	for i := 0; i < min(cfg.Namespaces, cfg.Objects); i++ {
		if !privilegedAt(i, cfg.Namespaces, cfg.Violating) {
			flippers = append(flippers, i)
		}
	}
	if len(flippers) == 0 {
		return res, fmt.Errorf("no compliant Deployment to flip")
	}

	views, stopWatch, err := watchFindings(ctx, c, control)
	if err != nil {
		return res, err
	}
	defer stopWatch()

	churnCtx, stopChurn := context.WithCancel(ctx)
	defer stopChurn()
	var churnWrites atomic.Int64
	if cfg.ChurnPerSecond > 0 {
		go churn(churnCtx, c, cfg, flippers, &churnWrites)
	}
	churnStart := time.Now()

	privileged := false
	for n := range cfg.Flips {
		i := flippers[(n/2)%len(flippers)]
		if n%2 == 0 {
			privileged = true
		} else {
			privileged = false
		}
		ns, name := namespaceName(i%cfg.Namespaces), deploymentName(i)
		// Drain views from earlier flips so that only a change after this write counts.
		for len(views) > 0 {
			<-views
		}
		if err := setPrivileged(ctx, c, cfg, i, privileged); err != nil {
			if ctx.Err() != nil {
				return res, err
			}
			res.FailedWrites++
			if res.FirstWriteError == "" {
				res.FirstWriteError = policy.Truncate(err.Error(), maxErrorLen)
			}
			res.Flips++
			continue
		}
		written := time.Now()
		if lat, ok := awaitFinding(views, ns, name, privileged, 10*time.Second); ok {
			res.latenciesSecs = append(res.latenciesSecs, lat.Sub(written).Seconds())
		} else {
			res.TimedOut++
		}
		res.Flips++
		if (n+1)%max(1, cfg.Flips/5) == 0 {
			progress(fmt.Sprintf("drift: %d/%d flips", n+1, cfg.Flips))
		}
	}
	stopChurn()
	if res.FailedWrites == res.Flips {
		return res, fmt.Errorf("every flip's write failed, the first with: %s", res.FirstWriteError)
	}
	res.ChurnWrites = churnWrites.Load()
	res.ChurnPerSec = float64(res.ChurnWrites) / time.Since(churnStart).Seconds()
	lat := slices.Clone(res.latenciesSecs)
	slices.Sort(lat)
	res.P50ms, res.P95ms, res.P99ms = percentile(lat, 50)*1000, percentile(lat, 95)*1000, percentile(lat, 99)*1000
	if len(lat) > 0 {
		res.MaxMs = lat[len(lat)-1] * 1000
	}
	return res, nil
}

// watchFindings streams the namespace and failing subjects of every Finding of the control as
// it is written, until stop is called.
func watchFindings(ctx context.Context, c client.WithWatch, control string) (<-chan findingView, func(), error) {
	w, err := c.Watch(ctx, &ismsv1.FindingList{}, client.MatchingLabels{ismsv1.LabelControl: control})
	if err != nil {
		return nil, nil, fmt.Errorf("watching findings: %w", err)
	}
	views := make(chan findingView, 1024)
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			f, ok := ev.Object.(*ismsv1.Finding)
			if !ok {
				continue
			}
			v := findingView{namespace: f.Namespace}
			for _, s := range f.Status.Subjects {
				v.subjects = append(v.subjects, s.Name)
			}
			views <- v
		}
	}()
	return views, w.Stop, nil
}

// setPrivileged turns Deployment i's app container privileged or back.
func setPrivileged(ctx context.Context, c client.Client, cfg Config, i int, privileged bool) error {
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"containers":[{"name":"app","securityContext":{"privileged":%t,"allowPrivilegeEscalation":%t}}]}}}}`, privileged, privileged)
	d := &appsv1.Deployment{}
	d.Namespace, d.Name = namespaceName(i%cfg.Namespaces), deploymentName(i)
	if err := c.Patch(ctx, d, client.RawPatch(types.StrategicMergePatchType, []byte(patch))); err != nil {
		return fmt.Errorf("flipping %s/%s: %w", d.Namespace, d.Name, err)
	}
	return nil
}

// awaitFinding waits until the namespace's Finding lists (or no longer lists) the Deployment.
func awaitFinding(views <-chan findingView, ns, name string, present bool, timeout time.Duration) (time.Time, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case v := <-views:
			if v.namespace == ns && slices.Contains(v.subjects, name) == present {
				return time.Now(), true
			}
		case <-deadline:
			return time.Time{}, false
		}
	}
}

// churn updates random Deployments (not the flipped ones) at the configured rate, the way a
// busy cluster changes objects that stay compliant or non-compliant.
func churn(ctx context.Context, c client.Client, cfg Config, flippers []int, writes *atomic.Int64) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.ChurnPerSecond))
	defer tick.Stop()
	flipping := map[int]bool{}
	for _, i := range flippers {
		flipping[i] = true
	}
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		i := rand.IntN(cfg.Objects)
		if flipping[i] {
			continue
		}
		d := &appsv1.Deployment{}
		d.Namespace, d.Name = namespaceName(i%cfg.Namespaces), deploymentName(i)
		patch := fmt.Sprintf(`{"metadata":{"annotations":{"bench.isms.dev/churn":"%d"}}}`, n)
		go func() {
			if err := c.Patch(ctx, d, client.RawPatch(types.MergePatchType, []byte(patch))); err == nil {
				writes.Add(1)
			}
		}()
	}
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	idx := int(float64(len(sorted)-1) * p / 100)
	return sorted[idx]
}
