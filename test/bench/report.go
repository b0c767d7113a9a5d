package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func printTable(w io.Writer, r *Results) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	fmt.Fprintf(tw, "isms-operator benchmark\t%d Deployments in %d namespaces, %.0f%% violating, %d controls\n",
		r.Config.Objects, r.Config.Namespaces, r.Config.Violating*100, r.Config.Controls)
	row("machine", fmt.Sprintf("%d CPUs, %s, %s", r.Machine.CPUs, r.Machine.CPUModel, r.Machine.GoVersion))
	row("load (API writes)", fmt.Sprintf("%.1f s", r.LoadSeconds))
	row("first evaluation (list + convert + evaluate)", fmt.Sprintf("%.2f s, Findings written by %.2f s", r.InitialSeconds, r.SettledSeconds))
	row("full sweep", fmt.Sprintf("%.2f s wall for %d evaluations: %.0f evaluations/s (slowest control %.2f s)", r.Sweep.WallSeconds, r.Sweep.Evaluations, r.Sweep.PerSecond, r.Sweep.SlowestSweep))
	row("raw engine limit, same run", fmt.Sprintf("%.0f evaluations/s on %d goroutines, %.0f on 1 (%.0f µs/object to list and convert)", r.Raw.PerSecond, r.Raw.Goroutines, r.Raw.SingleGoroutinePS, r.Raw.ConvertPerObj))
	row("sweep / raw limit", fmt.Sprintf("%.2f", r.SweepToRaw))
	if cpu := r.Sweep.CPUSeconds; len(cpu) > 0 {
		row("CPU during the sweep", fmt.Sprintf("manager %.1f s, kube-apiserver %.1f s, etcd %.1f s, benchmark %.1f s (of %.1f s on %d CPUs)",
			cpu["manager"], cpu["kube-apiserver"], cpu["etcd"], cpu["benchmark"], r.Sweep.WallSeconds*float64(r.Machine.CPUs), r.Machine.CPUs))
	}
	if len(r.Sweep.APIRequests) > 0 {
		row("API requests during the sweep", topRequests(r.Sweep.APIRequests, 5))
	}
	row("drift to Finding", fmt.Sprintf("p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms over %d flips (%d timed out), churn %.0f updates/s",
		r.Drift.P50ms, r.Drift.P95ms, r.Drift.P99ms, r.Drift.MaxMs, r.Drift.Flips, r.Drift.TimedOut, r.Drift.ChurnPerSec))
	if r.Drift.FailedWrites > 0 {
		row("drift flips not written", fmt.Sprintf("%d, the first: %s", r.Drift.FailedWrites, r.Drift.FirstWriteError))
	}
	row("manager RSS", fmt.Sprintf("peak %s, steady %s, before any Control %s", mib(r.Memory.PeakRSSBytes), mib(r.Memory.SteadyRSSBytes), mib(r.Memory.BaselineRSSBytes)))
	row("manager Go heap (after GC)", fmt.Sprintf("baseline %s, loaded %s, steady %s", mib(r.Memory.BaselineHeapBytes), mib(r.Memory.LoadedHeapBytes), mib(r.Memory.SteadyHeapBytes)))
	row("bytes per cached object", fmt.Sprintf("%.0f (%d objects)", r.Memory.BytesPerCachedObject, r.Memory.CachedObjects))
	row("Findings in etcd", fmt.Sprintf("%d (%d open, %d failing control/namespace pairs), %d bytes, largest %d bytes (%s)",
		r.Findings.Count, r.Findings.Open, r.Findings.FailingPairs, r.Findings.TotalBytes, r.Findings.LargestBytes, r.Findings.Largest))
	printRest(row, r)
	printEvidence(row, r)
	if sk := r.Soak; sk != nil && len(sk.Samples) > 0 {
		first, last := sk.Samples[0], sk.Samples[len(sk.Samples)-1]
		row("soak", fmt.Sprintf("%.0f s of churn (%d writes) and %d flips: heap %s to %s (x%.2f), goroutines %d to %d",
			sk.Seconds, sk.ChurnWrites, sk.Flips, mib(first.HeapBytes), mib(last.HeapBytes), sk.HeapGrowth, first.Goroutines, last.Goroutines))
	}
	_ = tw.Flush()
}

// printRest reports the periodic sweep in which nothing changed and the CPU at rest.
func printRest(row func(string, any), r *Results) {
	u, rest := r.UnchangedSweep, r.Rest
	row("unchanged sweep", fmt.Sprintf("%.3f s summed over %d controls (slowest %.3f s), manager CPU %.2f s: %.1f%% of the full sweep's %.2f s, %.1f%% of its %.2f s CPU; %d verdicts kept, %d evaluated (interval %.0f s)",
		u.Seconds, u.Controls, u.SlowestSeconds, u.CPUSeconds, u.FractionOfFull*100, u.FullSeconds, u.CPUFractionOfFull*100, u.FullCPUSeconds,
		u.ReusedSubjects, u.EvaluatedSubjects, u.IntervalSeconds))
	row("manager CPU at rest (projected)", fmt.Sprintf("%.2f%% of a core at the default %.0f s interval: idle %.2f%% (%.2f s CPU over %.0f s with no sweep) + unchanged sweeps %.2f%% (%.2f s CPU every %.0f s)",
		rest.ProjectedFractionOfCore*100, rest.DefaultIntervalSeconds, rest.IdleFractionOfCore*100, rest.IdleCPUSeconds, rest.IdleSeconds,
		rest.SweepsFractionOfCore*100, u.CPUSeconds, rest.DefaultIntervalSeconds))
	if m := rest.Measured; m != nil {
		row("manager CPU at rest (measured)", fmt.Sprintf("%.2f%% of a core: %.2f s CPU over %.0f s, %d periodic sweep(s) per control",
			m.FractionOfCore*100, m.CPUSeconds, m.WindowSeconds, m.SweepsPerControl))
	}
}

// printEvidence reports what the ledger recorded, and its effect on the full sweep.
func printEvidence(row func(string, any), r *Results) {
	if !r.Evidence.Enabled {
		row("evidence ledger", "off")
		return
	}
	row("evidence ledger", fmt.Sprintf("%d leaves appended, %d dropped, %d in the ledger, database %s",
		r.Evidence.Appended, r.Evidence.Dropped, r.Evidence.Leaves, mib(uint64(r.Evidence.DBBytes))))
	if off := r.SweepLedgerOff; off != nil && off.WallSeconds > 0 {
		row("full sweep, ledger off", fmt.Sprintf("%.2f s wall: %.0f evaluations/s; the ledger adds %+.1f%% to the sweep's wall time",
			off.WallSeconds, off.PerSecond, (r.Sweep.WallSeconds/off.WallSeconds-1)*100))
	}
}

// topRequests lists the n most frequent requests, most frequent first.
func topRequests(reqs map[string]int, n int) string {
	keys := make([]string, 0, len(reqs))
	for k := range reqs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if reqs[keys[i]] != reqs[keys[j]] {
			return reqs[keys[i]] > reqs[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var parts []string
	for _, k := range keys[:min(n, len(keys))] {
		parts = append(parts, fmt.Sprintf("%d %s", reqs[k], k))
	}
	return strings.Join(parts, ", ")
}

// printPeersTable prints the two sides' figures and Gatekeeper's over isms-operator's.
func printPeersTable(w io.Writer, r *PeerResults) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "isms-operator vs Gatekeeper\t%d Deployments in %d namespaces, %.0f%% violating, one privileged-container policy each, audit every %s\n",
		r.Config.Objects, r.Config.Namespaces, r.Config.Violating*100, r.Peer.AuditInterval)
	fmt.Fprintf(tw, "machine\t%d CPUs, %s, %s; load average %s before, %s after (figures move with it; read the ratios)\n",
		r.Machine.CPUs, r.Machine.CPUModel, r.Machine.GoVersion, r.LoadAverage[0], r.LoadAverage[1])
	fmt.Fprintln(tw, "\tisms-operator\tGatekeeper\tGatekeeper / isms-operator")
	o, t := r.Ours, r.Theirs
	fmt.Fprintf(tw, "violations found\t%d\t%d\t\n", o.Violations, t.Violations)
	fmt.Fprintf(tw, "first result after the policy is created\t%.2f s\t%.2f s\t%.1f\n", o.FirstResultSeconds, t.FirstResultSeconds, ratio(t.FirstResultSeconds, o.FirstResultSeconds))
	fmt.Fprintf(tw, "full sweep (audit), fastest of %d\t%.2f s\t%.2f s\t%.1f\n", len(o.Sweeps), o.SweepSeconds, t.SweepSeconds, r.Ratios.Sweep)
	fmt.Fprintf(tw, "CPU of the process during it\t%.2f s\t%.2f s\t%.1f\n", o.CPUSeconds, t.CPUSeconds, r.Ratios.CPU)
	fmt.Fprintf(tw, "CPU of kube-apiserver + etcd during it\t%.2f s\t%.2f s\t%.1f\n", o.ControlPlaneCPUSeconds, t.ControlPlaneCPUSeconds, ratio(t.ControlPlaneCPUSeconds, o.ControlPlaneCPUSeconds))
	fmt.Fprintf(tw, "peak RSS\t%s\t%s\t%.2f\n", mib(o.PeakRSSBytes), mib(t.PeakRSSBytes), r.Ratios.PeakRSS)
	fmt.Fprintf(tw, "new violation visible, median of %d (max)\t%.3f s (%.3f s)\t%.1f s (%.1f s)\t%.0f\n",
		len(o.VisibleSeconds), o.VisibleMedianSeconds, o.VisibleMaxSeconds, t.VisibleMedianSeconds, t.VisibleMaxSeconds, r.Ratios.Visible)
	_ = tw.Flush()
}
