package report_test

import (
	"io"
	"iter"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/frameworks"
	"github.com/isms-operator/isms-operator/internal/report"
	"github.com/isms-operator/isms-operator/internal/report/reporttest"
)

// heapPeak samples the live heap (runtime/metrics, no stop-the-world) and keeps the highest.
type heapPeak struct {
	sample []metrics.Sample
	peak   uint64
}

func newHeapPeak() *heapPeak {
	return &heapPeak{sample: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}}
}

func (p *heapPeak) read() {
	metrics.Read(p.sample)
	p.peak = max(p.peak, p.sample[0].Value.Uint64())
}

// sampled reads the heap every 4096 entries of a stream.
func (p *heapPeak) sampled(entries iter.Seq2[evidence.Entry, error]) iter.Seq2[evidence.Entry, error] {
	return func(yield func(evidence.Entry, error) bool) {
		n := 0
		for e, err := range entries {
			if n++; n%4096 == 0 {
				p.read()
			}
			if !yield(e, err) {
				return
			}
		}
	}
}

// BenchmarkReportYear computes and renders (Markdown and JSON) the report of a year of a
// ledger of 100 controls over 10k subjects each: hourly heartbeats, a few incidents per
// control a year. The entries are generated and leaf-hashed as they are read, so the time
// includes producing them, as reading a bundle would. Target: < 10 s, < 300 MiB of heap.
//
//	go test ./internal/report/ -run '^$' -bench ReportYear -benchtime 1x
func BenchmarkReportYear(b *testing.B) {
	catalog, _ := frameworks.Default().Lookup("iso27001-2022")
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(1, 0, 0)
	for b.Loop() {
		runtime.GC()
		peak := newHeapPeak()
		l := reporttest.Generate(reporttest.Shape{From: from, To: to, Controls: 100, Subjects: 10_000,
			Heartbeat: time.Hour, IncidentsPerControl: 6, Seed: 1})
		r, err := report.Compute(report.Input{Catalog: catalog, Period: report.Period{From: from, To: to}, Controls: l.Controls,
			Entries: peak.sampled(l.Entries()), DuePeriods: reporttest.DuePeriods, Checkpoint: reporttest.Checkpoint})
		if err != nil {
			b.Fatal(err)
		}
		peak.read()
		if err := report.WriteMarkdown(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		if err := report.WriteJSON(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		peak.read()
		b.ReportMetric(float64(peak.peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(r.Methodology.Entries), "entries")
		b.ReportMetric(float64(len(r.Findings)), "findings")
	}
}
