package sqlite_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/sqlite"
	"github.com/isms-operator/isms-operator/internal/evidence/sqlstore"
)

// The sizing workload of the issue: 100 controls of 10k subjects each, 1% of the subjects
// changing state every day, full sweeps every 10 minutes, hourly heartbeats.
const (
	simControls      = 100
	simSubjects      = 10000
	simChurnPerDay   = simSubjects / 100
	simSweep         = 10 * time.Minute
	simSweepsPerDay  = int(24 * time.Hour / simSweep)
	simFailingAtRest = 200 // subjects failing per control at the start
)

var benchDays = flag.Int("evidence.days", 30, "days of the sizing workload the At benchmark builds")

// simulation drives the recorder through the workload and appends one batch per sweep.
type simulation struct {
	ledger   *evidence.Ledger
	store    *sqlstore.Store
	rng      *rand.Rand
	now      time.Time
	recorded []*evidence.Recorded
	states   []evidence.ControlState
	leaves   uint64
}

func newSimulation(t testing.TB, dir string) *simulation {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	keys, err := evidence.LoadOrCreateKeys(dir, "sizing")
	if err != nil {
		t.Fatal(err)
	}
	s := &simulation{store: st, rng: rand.New(rand.NewPCG(1, 2)), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.ledger, err = evidence.Open(ctx, st, keys, evidence.Options{Now: func() time.Time { return s.now }})
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < simControls; c++ {
		state := evidence.ControlState{Control: fmt.Sprintf("iso-8.%02d-workload-hardening", c), Result: evidence.ResultFail,
			Digest: fmt.Sprintf("sha256:%064x", c), Generation: 3, Subjects: map[string]evidence.SubjectState{}}
		for i := 0; i < simFailingAtRest; i++ {
			state.Subjects[subjectKey(i)] = evidence.SubjectFailing
		}
		state.Counts.Failing = len(state.Subjects)
		s.states = append(s.states, state)
		s.recorded = append(s.recorded, nil)
	}
	return s
}

func subjectKey(i int) string {
	return fmt.Sprintf("apps/v1/Deployment/team-%03d/web-%05d", i%400, i)
}

// day runs one simulated day of sweeps.
func (s *simulation) day(t testing.TB) {
	p := float64(simChurnPerDay) / float64(simSweepsPerDay)
	for sweep := 0; sweep < simSweepsPerDay; sweep++ {
		var batch []evidence.Leaf
		for c := range s.states {
			for n := poisson(s.rng, p); n > 0; n-- {
				s.churn(c)
			}
			leaves, rec := evidence.Decide(s.recorded[c], s.states[c], s.now, evidence.DefaultHeartbeat)
			s.recorded[c] = &rec
			batch = append(batch, leaves...)
		}
		if _, err := s.ledger.Append(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		s.leaves += uint64(len(batch))
		s.now = s.now.Add(simSweep)
	}
}

// churn flips one random subject of control c between passing and failing.
func (s *simulation) churn(c int) {
	st := &s.states[c]
	next := make(map[string]evidence.SubjectState, len(st.Subjects)+1)
	for k, v := range st.Subjects {
		next[k] = v
	}
	key := subjectKey(s.rng.IntN(simSubjects))
	if _, failing := next[key]; failing {
		delete(next, key)
	} else {
		next[key] = evidence.SubjectFailing
	}
	st.Subjects, st.Counts.Failing = next, len(next)
}

func poisson(r *rand.Rand, mean float64) int {
	n, p := 0, r.Float64()
	for limit := math.Exp(-mean); p > limit; n++ {
		p *= r.Float64()
	}
	return n
}

// dbBytes returns the database's size once its WAL is folded in.
func dbBytes(t testing.TB, s *simulation, dir string) int64 {
	if _, err := s.store.DB().Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestYearOfEvidenceFitsUnder1GiB measures bytes per leaf on SQLite over simulated days of
// the sizing workload and extrapolates to a year; it fails at 1 GiB or more.
func TestYearOfEvidenceFitsUnder1GiB(t *testing.T) {
	if raceEnabled {
		t.Skip("a size measurement on one goroutine: run without -race")
	}
	dir := t.TempDir()
	s := newSimulation(t, dir)
	s.day(t) // the first day holds the baselines of every control: measure the days after it
	leaves0, bytes0 := s.leaves, dbBytes(t, s, dir)
	const days = 2
	for d := 0; d < days; d++ {
		s.day(t)
	}
	perLeaf := float64(dbBytes(t, s, dir)-bytes0) / float64(s.leaves-leaves0)
	leavesPerDay := float64(s.leaves-leaves0) / days
	year := perLeaf * leavesPerDay * 365
	t.Logf("%.0f leaves/day, %.1f bytes/leaf on SQLite (row, index, tree nodes, checkpoints): %.0f MiB a year",
		leavesPerDay, perLeaf, year/(1<<20))
	logTableSizes(t, s)
	if year >= 1<<30 {
		t.Fatalf("a year of the sizing workload takes %.2f GiB, want under 1 GiB", year/(1<<30))
	}
	if leavesPerDay < simControls*(simChurnPerDay+20) {
		t.Fatalf("%.0f leaves a day: the simulation lost its churn or heartbeats", leavesPerDay)
	}
}

// logTableSizes logs each table's and index's share, where SQLite was built with dbstat.
func logTableSizes(t *testing.T, s *simulation) {
	rows, err := s.store.DB().Query("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
	if err != nil {
		t.Logf("no table sizes (%v)", err)
		return
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var name string
		var size int64
		if rows.Scan(&name, &size) == nil {
			t.Logf("  %-20s %6.1f MiB for %d leaves", name, float64(size)/(1<<20), s.leaves)
		}
	}
}
