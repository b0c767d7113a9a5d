package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/sqlite"
)

func openBenchLedger(b *testing.B, dir string) *evidence.Ledger {
	st, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	keys, err := evidence.LoadOrCreateKeys(dir, "bench")
	if err != nil {
		b.Fatal(err)
	}
	l, err := evidence.Open(context.Background(), st, keys, evidence.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

func benchSubject(control string, i int, at time.Time) evidence.Leaf {
	from, to := evidence.SubjectPassing, evidence.SubjectFailing
	if i%2 == 1 {
		from, to = to, from
	}
	return evidence.Leaf{V: 1, Kind: evidence.KindSubject, Control: control, Time: at,
		Subject: &evidence.SubjectTransition{Counts: evidence.Counts{Failing: 200 + i%2}, From: from, To: to, ID: subjectKey(i % simSubjects)}}
}

// BenchmarkAppend measures batched appends on SQLite (the goal is 20k leaves/s or more).
func BenchmarkAppend(b *testing.B) {
	const batch = 2048
	l := openBenchLedger(b, b.TempDir())
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	leaves := make([]evidence.Leaf, batch)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i := range leaves {
			leaves[i] = benchSubject(fmt.Sprintf("iso-8.%02d-workload-hardening", i%simControls), n*batch+i, at)
		}
		if _, err := l.Append(context.Background(), leaves); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "leaves/s")
}

// BenchmarkAt measures a point-in-time answer for 100 controls over -evidence.days days of
// the sizing workload's leaves (the goal is under 1 s for a year: -evidence.days=365).
func BenchmarkAt(b *testing.B) {
	l, start, days := atLedger(b)
	mid := start.Add(time.Duration(days) * 12 * time.Hour).Add(17 * time.Minute)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		snap, err := l.At(context.Background(), mid)
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Controls) != simControls || snap.Controls[0].Result != evidence.ResultFail {
			b.Fatalf("%d controls, the first %s (%s)", len(snap.Controls), snap.Controls[0].Result, snap.Controls[0].Reason)
		}
	}
}

var atBench struct {
	once   sync.Once
	ledger *evidence.Ledger
}

// atLedger builds the At benchmark's ledger once per test binary (the benchmark function
// runs several times), in a directory TestMain removes.
func atLedger(b *testing.B) (*evidence.Ledger, time.Time, int) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	atBench.once.Do(func() {
		dir, err := os.MkdirTemp("", "evidence-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDirs = append(benchDirs, dir)
		st, err := sqlite.Open(context.Background(), dir)
		if err != nil {
			b.Fatal(err)
		}
		keys, _ := evidence.LoadOrCreateKeys(dir, "bench")
		l, err := evidence.Open(context.Background(), st, keys, evidence.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for d := 0; d < *benchDays; d++ {
			appendBenchDay(b, l, start.Add(time.Duration(d)*24*time.Hour))
		}
		b.Logf("%d days, %d leaves", *benchDays, l.Head().Size)
		atBench.ledger = l
	})
	return atBench.ledger, start, *benchDays
}

// benchDirs are removed after the tests and benchmarks ran.
var benchDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range benchDirs {
		_ = os.RemoveAll(d)
	}
	os.Exit(code)
}

// appendBenchDay appends one day of the workload: per control an hourly heartbeat and 100
// subject transitions spread over the day.
func appendBenchDay(b *testing.B, l *evidence.Ledger, day time.Time) {
	var batch []evidence.Leaf
	for minute := 0; minute < 24*60; minute += 10 {
		at := day.Add(time.Duration(minute) * time.Minute)
		for c := 0; c < simControls; c++ {
			control := fmt.Sprintf("iso-8.%02d-workload-hardening", c)
			if minute%60 == 0 {
				batch = append(batch, evidence.Leaf{V: 1, Kind: evidence.KindHeartbeat, Control: control, Time: at,
					State: &evidence.State{Counts: evidence.Counts{Failing: 200}, Digest: fmt.Sprintf("sha256:%064x", c),
						Generation: 3, HeartbeatSeconds: 3600, Result: evidence.ResultFail}})
			}
			if (minute/10*7+c)%simSweepsPerDay < simChurnPerDay { // 100 of the 144 sweeps a day

				batch = append(batch, benchSubject(control, minute*simControls+c, at))
			}
		}
		if len(batch) >= 8192 {
			if _, err := l.Append(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := l.Append(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
}
