package evidenceclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/api"
	"github.com/isms-operator/isms-operator/internal/evidence/memstore"
	"github.com/isms-operator/isms-operator/internal/evidenceclient"
)

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// ledgerOf appends a baseline of control c1 and n subject leaves named with tag, one a
// second, in batches of 500.
func ledgerOf(t *testing.T, keys evidence.Keys, n int, tag string) *evidence.Ledger {
	t.Helper()
	l, err := evidence.Open(context.Background(), memstore.New(), keys, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	leaves := []evidence.Leaf{{V: 1, Kind: evidence.KindControl, Control: "c1", Time: t0,
		State: &evidence.State{HeartbeatSeconds: 3600, Result: evidence.ResultFail, Digest: "sha256:ab", Generation: 3, Counts: evidence.Counts{Failing: 1}}}}
	for i := 0; i < n; i++ {
		leaves = append(leaves, evidence.Leaf{V: 1, Kind: evidence.KindSubject, Control: "c1", Time: t0.Add(time.Duration(i+1) * time.Second),
			Subject: &evidence.SubjectTransition{From: evidence.SubjectPassing, To: evidence.SubjectFailing, ID: fmt.Sprint(tag, i), Counts: evidence.Counts{Failing: i + 2}}})
	}
	for len(leaves) > 0 {
		k := min(500, len(leaves))
		if _, err := l.Append(context.Background(), leaves[:k]); err != nil {
			t.Fatal(err)
		}
		leaves = leaves[k:]
	}
	return l
}

func newKeys(t *testing.T) evidence.Keys {
	t.Helper()
	keys, err := evidence.LoadOrCreateKeys(t.TempDir(), "client-test")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func clientOf(t *testing.T, h http.Handler) *evidenceclient.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := evidenceclient.New(srv.URL+"/evidence", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func served(t *testing.T, l *evidence.Ledger) *evidenceclient.Client {
	mux := http.NewServeMux()
	mux.Handle("/evidence/", http.StripPrefix("/evidence", api.New(l)))
	return clientOf(t, mux)
}

func TestLogPagesThroughALongPeriod(t *testing.T) {
	c := served(t, ledgerOf(t, newKeys(t), 2500, "s"))
	var got []uint64
	pages := 0
	err := c.Log(context.Background(), evidenceclient.LogQuery{Control: "c1", From: t0}, func(es []evidence.Entry) error {
		pages++
		for _, e := range es {
			got = append(got, e.Index)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages != 3 || len(got) != 2501 {
		t.Fatalf("%d pages, %d entries; want 3 and 2501", pages, len(got))
	}
	for i, idx := range got {
		if idx != uint64(i) {
			t.Fatalf("entry %d has index %d", i, idx)
		}
	}
}

func TestVerifyAtChecksProofsAndClaims(t *testing.T) {
	keys := newKeys(t)
	c := served(t, ledgerOf(t, keys, 3, "s"))
	at := t0.Add(time.Minute)
	snap, err := c.At(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := evidenceclient.VerifyAt(snap, keys.VerifierKey, at)
	if err != nil || cp.Size != 4 || cp.Origin != "client-test" {
		t.Fatalf("VerifyAt: %+v, %v", cp, err)
	}
	if snap.Controls[0].Counts.Failing != 4 {
		t.Fatalf("counts %+v, want those of the last subject leaf", snap.Controls[0].Counts)
	}
	if _, err := evidenceclient.VerifyAt(snap, newKeys(t).VerifierKey, at); err == nil {
		t.Error("verified with another key")
	}
	lies := map[string]func(*evidence.Snapshot){
		"result":     func(s *evidence.Snapshot) { s.Controls[0].Result = evidence.ResultPass },
		"counts":     func(s *evidence.Snapshot) { s.Controls[0].Counts.Failing = 0 },
		"finding":    func(s *evidence.Snapshot) { s.Controls[0].OpenFindings = []string{"ns/f"} },
		"size":       func(s *evidence.Snapshot) { s.Size++ },
		"instant":    func(s *evidence.Snapshot) { s.At = s.At.Add(time.Hour) },
		"duplicated": func(s *evidence.Snapshot) { s.Controls = append(s.Controls, s.Controls[0]) },
	}
	for name, lie := range lies {
		s := snap
		s.Controls = append([]evidence.ControlAt(nil), snap.Controls...)
		lie(&s)
		if _, err := evidenceclient.VerifyAt(s, keys.VerifierKey, at); err == nil {
			t.Errorf("a snapshot with a changed %s verified", name)
		}
	}
}

func TestCheckSavedDetectsAFork(t *testing.T) {
	keys := newKeys(t)
	original := ledgerOf(t, keys, 40, "s")
	saved := map[string][]byte{"saved.txt": original.Head().Checkpoint}
	if _, err := original.Append(context.Background(), []evidence.Leaf{{V: 1, Kind: evidence.KindOperatorStopped, Time: t0.Add(time.Hour), Operator: &evidence.OperatorEvent{}}}); err != nil {
		t.Fatal(err)
	}
	if head, err := served(t, original).CheckSaved(context.Background(), keys.Verifier, saved); err != nil || head.Size != 42 {
		t.Fatalf("the log that extends the saved checkpoint: %+v, %v", head, err)
	}
	// The same key signs a rewritten history: subject names changed, then more leaves.
	forked := ledgerOf(t, keys, 60, "rewritten-")
	_, err := served(t, forked).CheckSaved(context.Background(), keys.Verifier, saved)
	var ve *evidence.VerifyError
	if !errors.As(err, &ve) || ve.Problem != evidence.ProblemTree || ve.Index != 41 || !strings.Contains(err.Error(), "saved.txt") {
		t.Fatalf("forked log: %v", err)
	}
	short := ledgerOf(t, keys, 10, "s")
	if _, err := served(t, short).CheckSaved(context.Background(), keys.Verifier, saved); !errors.As(err, &ve) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("truncated log: %v", err)
	}
}

func TestHostileAnswersAreBounded(t *testing.T) {
	c := clientOf(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/evidence/key":
			_, _ = w.Write([]byte(strings.Repeat("k", evidenceclient.MaxSmallBytes+1)))
		case "/evidence/log":
			_, _ = w.Write([]byte(`{"entries": [{"index": 7}], "next": 3}`))
		default:
			w.WriteHeader(http.StatusForbidden)
			_, _ = fmt.Fprintf(w, `{"error": "\u001b[31mdenied%s"}`, strings.Repeat(" x", 5000))
		}
	}))
	ctx := context.Background()
	if _, err := c.Key(ctx); !errors.Is(err, evidenceclient.ErrTooLarge) {
		t.Errorf("oversized key: %v", err)
	}
	err := c.Log(ctx, evidenceclient.LogQuery{Control: "c1"}, func([]evidence.Entry) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "does not move past") {
		t.Errorf("a next that goes back: %v", err)
	}
	_, err = c.At(ctx, t0)
	var se *evidenceclient.StatusError
	if !errors.As(err, &se) || se.Code != 403 || strings.ContainsRune(err.Error(), 0x1b) || len(se.Message) > evidenceclient.MaxMessageLen+3 {
		t.Errorf("error answer not cut and cleaned: %q", err)
	}
	if _, err := evidenceclient.New("ftp://x", nil); err == nil {
		t.Error("an ftp URL was accepted")
	}
}
