// Package storetest is the test suite every evidence.Store passes: the SQLite and
// PostgreSQL stores run the same tests through Run.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

// Backend opens the stores under test.
type Backend struct {
	// Create makes a new, empty store location and returns its address (a directory, a URL).
	Create func(t *testing.T) string
	// Open opens the store at addr; opening the same address again reopens the same store.
	// The crash test's child process calls only Open, with the parent's address.
	Open func(t *testing.T, addr string) evidence.Store
}

// Run runs the suite. The test calling it must be a top-level test whose name is unique,
// since the crash test re-executes the test binary with -test.run on that name.
func Run(t *testing.T, b Backend) {
	if runCrashChild(t, b) {
		return
	}
	t.Run("AppendAndLog", func(t *testing.T) { testAppendAndLog(t, b) })
	t.Run("At", func(t *testing.T) { testAt(t, b) })
	t.Run("ProofsAndCheckpoints", func(t *testing.T) { testProofsAndCheckpoints(t, b) })
	t.Run("ExportVerify", func(t *testing.T) { testExportVerify(t, b) })
	t.Run("Prune", func(t *testing.T) { testPrune(t, b) })
	t.Run("Writer", func(t *testing.T) { testWriter(t, b) })
	t.Run("CrashBetweenBatches", func(t *testing.T) { testCrash(t, b) })
	t.Run("TwoReplicas", func(t *testing.T) { testTwoReplicas(t, b) })
}

// testTwoReplicas: two replicas open one store; the first appends as the leader, then the
// second takes over (Reload) and appends leaves of the same control and of a new one. Each
// must read the other's controls. The HA test found that a leader whose Store had loaded the
// control names before the other replica added a control failed every batch of its term.
func testTwoReplicas(t *testing.T, b Backend) {
	f := newFixture(t, b)
	second := b.Open(t, f.addr)
	t.Cleanup(func() { _ = second.Close() })
	follower := f.open(t, second) // opened before the leader appends, as a follower is
	f.append(t, marker(evidence.KindOperatorStarted, t0), transition("c1", "a", evidence.SubjectPassing, evidence.SubjectFailing, 1, t0))
	ctx := context.Background()
	if err := follower.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := follower.Append(ctx, []evidence.Leaf{
		marker(evidence.KindOperatorStarted, t0.Add(time.Second)),
		transition("c1", "b", evidence.SubjectPassing, evidence.SubjectFailing, 2, t0.Add(time.Second)),
		transition("c2", "a", evidence.SubjectPassing, evidence.SubjectFailing, 1, t0.Add(time.Second)),
	}); err != nil {
		t.Fatalf("the new leader's first batch: %v", err)
	}
	for name, st := range map[string]evidence.Store{"first": f.store, "second": second} {
		for control, want := range map[string]int{"c1": 2, "c2": 1, "": 2} {
			recs, err := st.Find(ctx, evidence.Query{Control: control})
			if err != nil || len(recs) != want {
				t.Errorf("%s replica: %d leaves of control %q (%v), want %d", name, len(recs), control, err, want)
			}
		}
		recs, err := st.Records(ctx, 0, 5)
		if err != nil || len(recs) != 5 || recs[4].Control != "c2" {
			t.Errorf("%s replica: records %+v (%v), want 5 ending with c2's", name, recs, err)
		}
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fixture is a ledger on a fresh store.
type fixture struct {
	addr   string
	store  evidence.Store
	keys   evidence.Keys
	ledger *evidence.Ledger
	now    time.Time
}

func newFixture(t *testing.T, b Backend) *fixture {
	t.Helper()
	f := &fixture{addr: b.Create(t), now: t0}
	f.store = b.Open(t, f.addr)
	t.Cleanup(func() { _ = f.store.Close() })
	keys, err := evidence.LoadOrCreateKeys(t.TempDir(), "storetest")
	if err != nil {
		t.Fatal(err)
	}
	f.keys = keys
	f.ledger = f.open(t, f.store)
	return f
}

func (f *fixture) open(t *testing.T, st evidence.Store) *evidence.Ledger {
	t.Helper()
	l, err := evidence.Open(context.Background(), st, f.keys, evidence.Options{Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (f *fixture) append(t *testing.T, leaves ...evidence.Leaf) uint64 {
	t.Helper()
	first, err := f.ledger.Append(context.Background(), leaves)
	if err != nil {
		t.Fatal(err)
	}
	return first
}

func state(kind evidence.Kind, control string, result evidence.Result, failing int, at time.Time) evidence.Leaf {
	return evidence.Leaf{V: 1, Kind: kind, Control: control, Time: at, State: &evidence.State{
		Counts: evidence.Counts{Failing: failing}, Digest: "sha256:" + control, Generation: 1, HeartbeatSeconds: 3600, Result: result}}
}

func transition(control, id string, from, to evidence.SubjectState, failing int, at time.Time) evidence.Leaf {
	return evidence.Leaf{V: 1, Kind: evidence.KindSubject, Control: control, Time: at,
		Subject: &evidence.SubjectTransition{Counts: evidence.Counts{Failing: failing}, From: from, ID: id, To: to}}
}

func finding(control, name, to string, open bool, at time.Time) evidence.Leaf {
	return evidence.Leaf{V: 1, Kind: evidence.KindFinding, Control: control, Time: at,
		Finding: &evidence.FindingChange{Name: name, Namespace: "ns", To: to, Open: open}}
}

func marker(kind evidence.Kind, at time.Time) evidence.Leaf {
	return evidence.Leaf{V: 1, Kind: kind, Time: at, Operator: &evidence.OperatorEvent{HeartbeatSeconds: 3600}}
}

func testAppendAndLog(t *testing.T, b Backend) {
	f := newFixture(t, b)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	f.append(t, marker(evidence.KindOperatorStarted, h(0)), state(evidence.KindControl, "c1", evidence.ResultPass, 0, h(0)),
		state(evidence.KindControl, "c2", evidence.ResultPass, 0, h(0)))
	f.append(t, transition("c1", "ns/a", evidence.SubjectPassing, evidence.SubjectFailing, 1, h(1)),
		state(evidence.KindControl, "c1", evidence.ResultFail, 1, h(1)), state(evidence.KindHeartbeat, "c2", evidence.ResultPass, 0, h(1)))
	f.append(t, finding("c1", "f1", "Open", true, h(2)), transition("c2", "ns/b", evidence.SubjectPassing, evidence.SubjectErrored, 0, h(2)))
	f.append(t, transition("c1", "ns/a", evidence.SubjectFailing, evidence.SubjectPassing, 0, h(30)))

	got, err := f.ledger.Log(context.Background(), evidence.LogQuery{Control: "c1", From: h(1), To: h(3)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint64{3, 4, 6}; !sameIndexes(got, want) {
		t.Fatalf("c1 log in [1h, 3h) has indexes %v, want %v", indexes(got), want)
	}
	if got[0].Digest != "sha256:c1" || got[0].Generation != 1 {
		t.Fatalf("subject entry attributed to digest %q generation %d, want the control state's", got[0].Digest, got[0].Generation)
	}
	all, err := f.ledger.Log(context.Background(), evidence.LogQuery{Control: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint64{0, 1, 3, 4, 6, 8}; !sameIndexes(all, want) {
		t.Fatalf("whole c1 log has indexes %v, want %v (with the start marker, without c2)", indexes(all), want)
	}
	for _, e := range all {
		recs, _ := f.store.Records(context.Background(), e.Index, e.Index+1)
		if len(recs) != 1 || !bytes.Equal(e.LeafHash, evidence.LeafHash(recs[0].Data)) {
			t.Fatalf("entry %d has a leaf hash that is not its leaf's", e.Index)
		}
	}
	withHB, _ := f.ledger.Log(context.Background(), evidence.LogQuery{Control: "c2", Heartbeats: true})
	if want := []uint64{0, 2, 5, 7}; !sameIndexes(withHB, want) {
		t.Fatalf("c2 log with heartbeats has indexes %v, want %v", indexes(withHB), want)
	}
}

func indexes(es []evidence.Entry) []uint64 {
	out := make([]uint64, len(es))
	for i, e := range es {
		out[i] = e.Index
	}
	return out
}

func sameIndexes(es []evidence.Entry, want []uint64) bool {
	return fmt.Sprint(indexes(es)) == fmt.Sprint(want)
}

func testAt(t *testing.T, b Backend) {
	f := newFixture(t, b)
	m := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	f.append(t, marker(evidence.KindOperatorStarted, m(0)),
		state(evidence.KindControl, "c1", evidence.ResultFail, 1, m(1)), state(evidence.KindControl, "c2", evidence.ResultPass, 0, m(1)))
	f.append(t, transition("c1", "ns/b", evidence.SubjectPassing, evidence.SubjectFailing, 2, m(10)), finding("c1", "f1", "Open", true, m(10)),
		finding("c1", "f2", "Open", true, m(11)), finding("c1", "f2", "Resolved", false, m(12)))
	f.append(t, state(evidence.KindHeartbeat, "c1", evidence.ResultFail, 2, m(61)))
	// The operator dies after 70 minutes and starts again at 5h; c2 has no heartbeat since 1m.
	f.append(t, marker(evidence.KindOperatorStarted, m(300)), state(evidence.KindControl, "c1", evidence.ResultPass, 0, m(302)))
	f.append(t, marker(evidence.KindOperatorStopped, m(400)))

	cases := map[string]struct {
		at       time.Time
		c1, c2   evidence.Result
		c1Failed int
		findings int
	}{
		"before anything":              {m(0), evidence.ResultNotEvaluated, evidence.ResultNotEvaluated, 0, 0},
		"first state":                  {m(5), evidence.ResultFail, evidence.ResultPass, 1, 0},
		"after a subject transition":   {m(30), evidence.ResultFail, evidence.ResultPass, 2, 1},
		"carried by the heartbeat":     {m(150), evidence.ResultFail, evidence.ResultNotEvaluated, 2, 1},
		"two heartbeats missed":        {m(190), evidence.ResultNotEvaluated, evidence.ResultNotEvaluated, 0, 0},
		"restarted, not yet evaluated": {m(301), evidence.ResultNotEvaluated, evidence.ResultNotEvaluated, 0, 0},
		"evaluated after the restart":  {m(303), evidence.ResultPass, evidence.ResultNotEvaluated, 0, 1},
		"after a clean stop":           {m(401), evidence.ResultNotEvaluated, evidence.ResultNotEvaluated, 0, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			snap, err := f.ledger.At(context.Background(), tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Controls) != 2 {
				t.Fatalf("%d controls, want 2", len(snap.Controls))
			}
			c1, c2 := snap.Controls[0], snap.Controls[1]
			if c1.Result != tc.c1 || c2.Result != tc.c2 {
				t.Fatalf("c1 %s (%s), c2 %s (%s); want %s, %s", c1.Result, c1.Reason, c2.Result, c2.Reason, tc.c1, tc.c2)
			}
			if c1.Counts.Failing != tc.c1Failed || len(c1.OpenFindings) != tc.findings {
				t.Fatalf("c1 has %d failing and findings %v, want %d and %d", c1.Counts.Failing, c1.OpenFindings, tc.c1Failed, tc.findings)
			}
			if c1.Result == evidence.ResultNotEvaluated && c1.Reason == "" {
				t.Fatal("NotEvaluated without a reason")
			}
			if err := evidence.VerifySnapshot(snap, f.keys.VerifierKey); err != nil {
				t.Fatalf("snapshot does not verify: %v", err)
			}
		})
	}
	snap, _ := f.ledger.At(context.Background(), m(30))
	snap.Controls[0].Evidence[0].Leaf.State.Counts.Failing = 0
	if evidence.VerifySnapshot(snap, f.keys.VerifierKey) == nil {
		t.Fatal("a snapshot with an altered evidence leaf verifies")
	}
}

// fill appends n subject leaves of control c1, one a minute from start, in batches.
func (f *fixture) fill(t *testing.T, n, batch int, start time.Time, every time.Duration) {
	t.Helper()
	for i := 0; i < n; i += batch {
		var leaves []evidence.Leaf
		for j := i; j < min(i+batch, n); j++ {
			from, to := evidence.SubjectPassing, evidence.SubjectFailing
			if j%2 == 1 {
				from, to = to, from
			}
			leaves = append(leaves, transition("c1", fmt.Sprintf("apps/v1/Deployment/ns/web-%d", j), from, to, j%2, start.Add(time.Duration(j)*every)))
		}
		f.now = start.Add(time.Duration(i) * every)
		f.append(t, leaves...)
	}
}

func testProofsAndCheckpoints(t *testing.T, b Backend) {
	ctx := context.Background()
	f := newFixture(t, b)
	f.fill(t, 1000, 37, t0, time.Minute) // a batch every 37 minutes: a checkpoint kept every 10
	head := f.ledger.Head()
	kept, err := f.store.Checkpoints(ctx, 0, head.Size)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) < 20 || len(kept) > 28 {
		t.Fatalf("%d checkpoints kept for 28 batches 37 minutes apart, want one per batch", len(kept))
	}
	for _, cp := range kept {
		parsed, err := evidence.OpenCheckpoint(cp.Checkpoint, f.keys.Verifier)
		if err != nil || parsed.Size != cp.Size || !bytes.Equal(parsed.Root, cp.Root) {
			t.Fatalf("kept checkpoint %d: %v", cp.Size, err)
		}
		p, err := f.ledger.ConsistencyProof(ctx, cp.Size, head.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := evidence.VerifyConsistency(cp.Size, head.Size, p, cp.Root, head.Root); err != nil {
			t.Fatalf("consistency %d -> %d: %v", cp.Size, head.Size, err)
		}
	}
	for _, idx := range []uint64{0, 1, 15, 16, 255, 256, 511, 999} {
		recs, _ := f.store.Records(ctx, idx, idx+1)
		p, err := f.ledger.InclusionProof(ctx, idx, head.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := evidence.VerifyInclusion(idx, head.Size, evidence.LeafHash(recs[0].Data), p, head.Root); err != nil {
			t.Fatalf("inclusion of %d: %v", idx, err)
		}
	}
	if _, err := evidence.VerifyStore(ctx, f.store, f.keys.VerifierKey); err != nil {
		t.Fatal(err)
	}
	// Reopening the store continues the same tree.
	again := f.open(t, f.store)
	if got := again.Head(); got.Size != head.Size || !bytes.Equal(got.Root, head.Root) {
		t.Fatalf("reopened head %d, want %d", got.Size, head.Size)
	}
}

func testExportVerify(t *testing.T, b Backend) {
	f := newFixture(t, b)
	f.fill(t, 500, 50, t0, time.Minute)
	var buf bytes.Buffer
	m, err := f.ledger.Export(context.Background(), &buf, t0.Add(100*time.Minute), t0.Add(300*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if m.First != 100 || m.End != 300 || m.StartSize > 100 || m.EndSize < 300 {
		t.Fatalf("manifest %+v, want leaves [100, 300) between checkpoints around them", m)
	}
	sum, err := evidence.VerifyBundle(bytes.NewReader(buf.Bytes()), f.keys.VerifierKey, evidence.DefaultLimits)
	if err != nil || sum.Entries != 200 {
		t.Fatalf("bundle: %d entries, %v", sum.Entries, err)
	}
	tampered := bytes.Replace(buf.Bytes(), []byte("web-150\""), []byte("web-151\""), 1)
	_, err = evidence.VerifyBundle(bytes.NewReader(tampered), f.keys.VerifierKey, evidence.DefaultLimits)
	if ve, ok := err.(*evidence.VerifyError); !ok || ve.Index != 150 {
		t.Fatalf("tampered bundle: %v, want an error naming leaf 150", err)
	}
}

func testPrune(t *testing.T, b Backend) {
	ctx := context.Background()
	f := newFixture(t, b)
	n := 2*evidence.SegmentSize + 100
	f.fill(t, n, 1024, t0, time.Second)
	f.append(t, state(evidence.KindControl, "c1", evidence.ResultPass, 0, t0.Add(48*time.Hour)))
	before := f.ledger.Head()
	cut := t0.Add(time.Duration(evidence.SegmentSize+10) * time.Second) // the first segment is older
	rep, err := f.ledger.Prune(ctx, cut.Add(evidence.DefaultRetention), 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Segments != 1 || rep.PrunedBefore != evidence.SegmentSize {
		t.Fatalf("pruned %+v, want the first segment only", rep)
	}
	if recs, _ := f.store.Records(ctx, 0, evidence.SegmentSize); len(recs) != 0 {
		t.Fatalf("%d leaves of the pruned segment remain", len(recs))
	}
	sum, err := evidence.VerifyStore(ctx, f.store, f.keys.VerifierKey)
	if err != nil || sum.Pruned != evidence.SegmentSize {
		t.Fatalf("verify after pruning: %+v, %v", sum, err)
	}
	// Proofs into and across the pruned segment still verify.
	hashes, _ := f.store.PrunedHashes(ctx, 0)
	p, err := f.ledger.InclusionProof(ctx, 7, before.Size)
	if err != nil || evidence.VerifyInclusion(7, before.Size, hashes[7*32:8*32], p, before.Root) != nil {
		t.Fatalf("inclusion of a pruned leaf: %v", err)
	}
	cp, err := f.ledger.ConsistencyProof(ctx, 100, before.Size)
	root100, _ := f.ledger.RootAt(ctx, 100)
	if err != nil || evidence.VerifyConsistency(100, before.Size, cp, root100, before.Root) != nil {
		t.Fatalf("consistency from inside the pruned segment: %v", err)
	}
	var buf bytes.Buffer
	m, err := f.ledger.Export(ctx, &buf, time.Time{}, t0.Add(49*time.Hour))
	if err != nil || m.First != evidence.SegmentSize || m.PrunedBefore != evidence.SegmentSize {
		t.Fatalf("export after pruning: %+v, %v", m, err)
	}
	if _, err := evidence.VerifyBundle(&buf, f.keys.VerifierKey, evidence.DefaultLimits); err != nil {
		t.Fatalf("bundle after pruning: %v", err)
	}
	f.append(t, state(evidence.KindHeartbeat, "c1", evidence.ResultPass, 0, t0.Add(49*time.Hour)))
	if _, err := evidence.VerifyStore(ctx, f.store, f.keys.VerifierKey); err != nil {
		t.Fatalf("verify after appending to a pruned ledger: %v", err)
	}
}

func testWriter(t *testing.T, b Backend) {
	f := newFixture(t, b)
	w := evidence.NewWriter(f.ledger, evidence.WriterOptions{QueueSize: 100, BatchSize: 10, FlushInterval: 10 * time.Millisecond})
	for i := 0; i < 60; i++ {
		if !w.Enqueue(transition("c1", fmt.Sprint(i), evidence.SubjectPassing, evidence.SubjectFailing, 1, t0)) {
			t.Fatalf("enqueue %d refused with room in the queue", i)
		}
	}
	if w.Enqueue(make([]evidence.Leaf, 1)...) {
		t.Fatal("an invalid leaf was accepted")
	}
	var tooMany []evidence.Leaf
	for i := 0; i < 40; i++ { // the start marker and 60 leaves leave room for 39
		tooMany = append(tooMany, transition("c1", fmt.Sprint(i), evidence.SubjectFailing, evidence.SubjectPassing, 0, t0))
	}
	if w.Enqueue(tooMany...) {
		t.Fatal("40 leaves accepted with room for 39")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for w.Stats().Appended < 60 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	if s.Appended != 62 || s.Dropped != 41 || s.Enqueued != 62 || s.QueueLen != 0 {
		t.Fatalf("stats %+v, want 60 leaves and 2 markers appended, 41 dropped", s)
	}
	log, _ := f.ledger.Log(context.Background(), evidence.LogQuery{Control: "c1"})
	if len(log) != 62 || log[0].Leaf.Kind != evidence.KindOperatorStarted || log[61].Leaf.Kind != evidence.KindOperatorStopped {
		t.Fatalf("log has %d entries, want the start marker, 60 transitions and the stop marker", len(log))
	}
}
