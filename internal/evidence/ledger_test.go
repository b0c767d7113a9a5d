package evidence_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence/evidencetest"

	"golang.org/x/mod/sumdb/note"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/memstore"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newKeys(t testing.TB) evidence.Keys {
	t.Helper()
	keys, err := evidence.LoadOrCreateKeys(t.TempDir(), "test-log")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func subject(control string, i int, at time.Time) evidence.Leaf {
	from, to := evidence.SubjectPassing, evidence.SubjectFailing
	if i%2 == 1 {
		from, to = to, from
	}
	return evidence.Leaf{V: 1, Kind: evidence.KindSubject, Control: control, Time: at,
		Subject: &evidence.SubjectTransition{From: from, To: to, ID: fmt.Sprintf("apps/v1/Deployment/ns/web-%d", i)}}
}

// filledLedger appends n subject leaves, one a minute, in batches of batch.
func filledLedger(t testing.TB, n, batch int) (*evidence.Ledger, *memstore.Store, evidence.Keys) {
	t.Helper()
	st := memstore.New()
	keys := newKeys(t)
	l, err := evidence.Open(context.Background(), st, keys, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += batch {
		var leaves []evidence.Leaf
		for j := i; j < min(i+batch, n); j++ {
			leaves = append(leaves, subject("c1", j, t0.Add(time.Duration(j)*time.Minute)))
		}
		if _, err := l.Append(context.Background(), leaves); err != nil {
			t.Fatal(err)
		}
	}
	return l, st, keys
}

func TestProofsVerify(t *testing.T) {
	ctx := context.Background()
	l, st, _ := filledLedger(t, 300, 7)
	head := l.Head()
	for _, size := range []uint64{1, 2, 15, 16, 17, 64, 255, 256, 257, 300} {
		root, err := l.RootAt(ctx, size)
		if err != nil {
			t.Fatal(err)
		}
		for _, idx := range []uint64{0, size / 2, size - 1} {
			recs, _ := st.Records(ctx, idx, idx+1)
			p, err := l.InclusionProof(ctx, idx, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := evidence.VerifyInclusion(idx, size, evidence.LeafHash(recs[0].Data), p, root); err != nil {
				t.Fatalf("inclusion %d in %d: %v", idx, size, err)
			}
			other, _ := st.Records(ctx, (idx+1)%size, (idx+1)%size+1)
			if size > 1 && evidence.VerifyInclusion(idx, size, evidence.LeafHash(other[0].Data), p, root) == nil {
				t.Fatalf("inclusion %d in %d verified for another leaf", idx, size)
			}
		}
		p, err := l.ConsistencyProof(ctx, size, head.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := evidence.VerifyConsistency(size, head.Size, p, root, head.Root); err != nil {
			t.Fatalf("consistency %d -> %d: %v", size, head.Size, err)
		}
	}
}

func TestReopenedLedgerContinuesTheSameTree(t *testing.T) {
	ctx := context.Background()
	l, st, keys := filledLedger(t, 100, 9)
	again, err := evidence.Open(ctx, st, keys, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Append(ctx, []evidence.Leaf{subject("c1", 100, t0.Add(200*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.VerifyStore(ctx, st, keys.VerifierKey); err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.Open(ctx, st, newKeys(t), evidence.Options{}); err == nil {
		t.Fatal("a ledger signed by another key opened")
	}
	_ = l
}

// TestReloadCatchesUpWithAnotherWriter is a new leader on a shared store: its ledger was
// opened before the old leader's last batches, so it must reload before it appends.
func TestReloadCatchesUpWithAnotherWriter(t *testing.T) {
	ctx := context.Background()
	old, st, keys := filledLedger(t, 10, 5)
	standby, err := evidence.Open(ctx, st, keys, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Append(ctx, []evidence.Leaf{subject("c1", 10, t0.Add(20*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	next := []evidence.Leaf{subject("c1", 11, t0.Add(21*time.Minute))}
	if _, err := standby.Append(ctx, next); err == nil {
		t.Fatal("an append on a stale head succeeded")
	}
	if err := standby.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if first, err := standby.Append(ctx, next); err != nil || first != 11 {
		t.Fatalf("append after reload: first index %d, err %v; want 11", first, err)
	}
	if _, err := evidence.VerifyStore(ctx, st, keys.VerifierKey); err != nil {
		t.Fatal(err)
	}
}

func exportBundle(t *testing.T, l *evidence.Ledger, from, to time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := l.Export(context.Background(), &buf, from, to); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestVerifyBundleDetectsTampering(t *testing.T) {
	l, _, keys := filledLedger(t, 200, 10)
	// Leaves 50..149 are the minutes [50, 150).
	bundle := exportBundle(t, l, t0.Add(50*time.Minute), t0.Add(150*time.Minute))
	sum, err := evidence.VerifyBundle(bytes.NewReader(bundle), keys.VerifierKey, evidence.DefaultLimits)
	if err != nil {
		t.Fatalf("the untouched bundle fails: %v", err)
	}
	if sum.Manifest.First != 50 || sum.Manifest.End != 150 || sum.Entries != 100 {
		t.Fatalf("bundle holds [%d, %d) with %d entries, want [50, 150) with 100", sum.Manifest.First, sum.Manifest.End, sum.Entries)
	}
	for name, tc := range tamperedBundles(t, bundle, keys) {
		t.Run(name, func(t *testing.T) {
			_, err := evidence.VerifyBundle(bytes.NewReader(tc.bundle), tc.key, evidence.DefaultLimits)
			checkVerifyError(t, err, tc.problem, tc.index)
		})
	}
}

type tamperedBundle struct {
	bundle  []byte
	key     string
	problem evidence.Problem
	index   int64 // -1: no index expected
}

// tamperedBundles returns each kind of tampering of a bundle of leaves [50, 150).
func tamperedBundles(t *testing.T, bundle []byte, keys evidence.Keys) map[string]tamperedBundle {
	otherPriv, _, err := note.GenerateKey(rand.Reader, "test-log")
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, err := note.NewSigner(otherPriv)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]tamperedBundle{
		"modified entry": {evidencetest.RewriteBundle(t, bundle, evidencetest.EditEntries(func(ls []string) []string {
			ls[20] = strings.Replace(ls[20], "web-70", "web-71", 1)
			return ls
		})), keys.VerifierKey, evidence.ProblemModified, 70},
		"removed entry": {evidencetest.RewriteBundle(t, bundle, evidencetest.EditEntries(func(ls []string) []string {
			return append(ls[:30:30], ls[31:]...)
		})), keys.VerifierKey, evidence.ProblemModified, 80},
		"reordered entries": {evidencetest.RewriteBundle(t, bundle, evidencetest.EditEntries(func(ls []string) []string {
			ls[40], ls[41] = ls[41], ls[40]
			return ls
		})), keys.VerifierKey, evidence.ProblemModified, 90},
		"truncated entries": {evidencetest.RewriteBundle(t, bundle, evidencetest.EditEntries(func(ls []string) []string {
			return ls[:60]
		})), keys.VerifierKey, evidence.ProblemMissing, 110},
		"truncated leaf hashes": {evidencetest.RewriteBundle(t, bundle, func(name string, d []byte) []byte {
			if name == "leafhashes" {
				return d[:32*90]
			}
			return d
		}), keys.VerifierKey, evidence.ProblemMissing, 140},
		"forged hash list": {evidencetest.RewriteBundle(t, bundle, func(name string, d []byte) []byte {
			if name == "leafhashes" {
				d = append([]byte(nil), d...)
				d[32*5] ^= 1
			}
			return d
		}), keys.VerifierKey, evidence.ProblemTree, 50},
		"unsigned checkpoint": {evidencetest.RewriteBundle(t, bundle, func(name string, d []byte) []byte {
			if name == "checkpoint-end" {
				return d[:bytes.Index(d, []byte("\n\n"))+2]
			}
			return d
		}), keys.VerifierKey, evidence.ProblemCheckpoint, -1},
		"checkpoint signed by another key": {evidencetest.RewriteBundle(t, bundle, func(name string, d []byte) []byte {
			if name == "checkpoint-end" {
				text := string(d[:bytes.Index(d, []byte("\n\n"))+1])
				signed, _ := note.Sign(&note.Note{Text: text}, otherSigner)
				return signed
			}
			return d
		}), keys.VerifierKey, evidence.ProblemCheckpoint, -1},
		"verified with the wrong key": {bundle, newKeys(t).VerifierKey, evidence.ProblemCheckpoint, -1},
		"unexpected member": {evidencetest.RewriteBundle(t, bundle, func(name string, d []byte) []byte {
			if name == "tree.json" {
				return nil
			}
			return d
		}), keys.VerifierKey, evidence.ProblemBundle, -1},
	}
}

func checkVerifyError(t *testing.T, err error, problem evidence.Problem, index int64) {
	t.Helper()
	var ve *evidence.VerifyError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a VerifyError", err)
	}
	if ve.Problem != problem {
		t.Fatalf("got %v, want problem %q", err, problem)
	}
	if index >= 0 && (!ve.HasIndex || ve.Index != uint64(index)) {
		t.Fatalf("got %v, want first bad index %d", err, index)
	}
	if index < 0 && ve.HasIndex {
		t.Fatalf("got %v, want no index", err)
	}
}

func TestVerifyStoreDetectsTampering(t *testing.T) {
	ctx := context.Background()
	cases := map[string]struct {
		tamper  func(*memstore.Store)
		problem evidence.Problem
		index   int64
	}{
		"modified entry": {func(st *memstore.Store) {
			st.Tamper(70, func(r *evidence.Record) {
				r.Data = bytes.Replace(r.Data, []byte("web-70"), []byte("web-99"), 1)
			})
		}, evidence.ProblemModified, 64},
		"removed entry":      {func(st *memstore.Store) { st.Delete(33) }, evidence.ProblemMissing, 33},
		"non-canonical leaf": {func(st *memstore.Store) { st.Tamper(5, func(r *evidence.Record) { r.Data = append(r.Data, ' ') }) }, evidence.ProblemMalformed, 5},
		"moved column":       {func(st *memstore.Store) { st.Tamper(9, func(r *evidence.Record) { r.Control = "c2" }) }, evidence.ProblemModified, 9},
		"reordered": {func(st *memstore.Store) {
			var a, b []byte
			st.Tamper(40, func(r *evidence.Record) { a = r.Data })
			st.Tamper(41, func(r *evidence.Record) { b = r.Data; r.Data = a })
			st.Tamper(40, func(r *evidence.Record) { r.Data = b })
		}, evidence.ProblemModified, 40}, // its time no longer matches the row's
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, st, keys := filledLedger(t, 200, 10)
			if _, err := evidence.VerifyStore(ctx, st, keys.VerifierKey); err != nil {
				t.Fatalf("untouched store fails: %v", err)
			}
			tc.tamper(st)
			_, err := evidence.VerifyStore(ctx, st, keys.VerifierKey)
			checkVerifyError(t, err, tc.problem, tc.index)
		})
	}
}

// Every page of a control's Log attributes its entries to the state in force when they were
// written, including state leaves that share a millisecond with them (one batch).
func TestLogPagesKeepTheStateInForce(t *testing.T) {
	ctx := context.Background()
	l, err := evidence.Open(ctx, memstore.New(), newKeys(t), evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	state := func(digest string, gen int64, at time.Time) evidence.Leaf {
		return evidence.Leaf{V: 1, Kind: evidence.KindControl, Control: "c1", Time: at,
			State: &evidence.State{Digest: digest, Generation: gen, HeartbeatSeconds: 3600, Result: evidence.ResultFail}}
	}
	// One millisecond: state A, then 5 subjects; later, state B and 5 subjects, all at once.
	batch := []evidence.Leaf{state("sha256:a", 1, t0)}
	for i := range 5 {
		batch = append(batch, subject("c1", i, t0))
	}
	batch = append(batch, state("sha256:b", 2, t0.Add(time.Hour)))
	for i := range 5 {
		batch = append(batch, subject("c1", i+5, t0.Add(time.Hour)))
	}
	if _, err := l.Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var got []string
	after := uint64(0)
	for page := 0; page < 10; page++ {
		entries, err := l.Log(ctx, evidence.LogQuery{Control: "c1", From: t0, AfterIndex: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			got = append(got, fmt.Sprintf("%d:%s/%d", e.Index, e.Digest, e.Generation))
		}
		after = entries[len(entries)-1].Index + 1
	}
	want := "0:sha256:a/1 1:sha256:a/1 2:sha256:a/1 3:sha256:a/1 4:sha256:a/1 5:sha256:a/1 " +
		"6:sha256:b/2 7:sha256:b/2 8:sha256:b/2 9:sha256:b/2 10:sha256:b/2 11:sha256:b/2"
	if strings.Join(got, " ") != want {
		t.Errorf("paged log:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

// lostReplyStore commits a batch and then reports an error, as when the context ends or the
// connection breaks after the database committed; or, with dropCommit, fails without
// committing.
type lostReplyStore struct {
	*memstore.Store
	failNext   int
	dropCommit bool
}

func (s *lostReplyStore) Commit(ctx context.Context, b evidence.Batch) error {
	if s.failNext == 0 {
		return s.Store.Commit(ctx, b)
	}
	s.failNext--
	if !s.dropCommit {
		if err := s.Store.Commit(ctx, b); err != nil {
			return err
		}
	}
	return context.Canceled
}

// TestACommitWhoseReplyWasLostIsNotRetriedForever: the Writer retries a failed batch with the
// same indexes, so a batch that landed but reported an error used to be refused on every
// retry (duplicate leaf keys in CI's PostgreSQL run) and the writer recorded nothing more.
func TestACommitWhoseReplyWasLostIsNotRetriedForever(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		dropCommit bool
		wantErr    bool
	}{
		{"committed, reply lost", false, false},
		{"not committed", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &lostReplyStore{Store: memstore.New(), failNext: 1, dropCommit: tc.dropCommit}
			keys := newKeys(t)
			l, err := evidence.Open(ctx, st, keys, evidence.Options{})
			if err != nil {
				t.Fatal(err)
			}
			first := []evidence.Leaf{subject("c1", 0, t0), subject("c1", 1, t0)}
			_, err = l.Append(ctx, first)
			if (err != nil) != tc.wantErr {
				t.Fatalf("append: err %v, want an error: %v", err, tc.wantErr)
			}
			if tc.wantErr {
				if l.Head().Size != 0 {
					t.Fatalf("head moved to %d on a batch that was not committed", l.Head().Size)
				}
				if _, err := l.Append(ctx, first); err != nil {
					t.Fatalf("retry: %v", err)
				}
			}
			if at, err := l.Append(ctx, []evidence.Leaf{subject("c1", 2, t0.Add(time.Minute))}); err != nil || at != 2 {
				t.Fatalf("next append: first index %d, err %v; want 2", at, err)
			}
			if sum, err := evidence.VerifyStore(ctx, st, keys.VerifierKey); err != nil || sum.Size != 3 {
				t.Fatalf("verify: %+v, %v; want 3 leaves", sum, err)
			}
		})
	}
}
