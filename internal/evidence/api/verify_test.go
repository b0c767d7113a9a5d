package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/api"
	"github.com/isms-operator/isms-operator/internal/evidence/memstore"
)

// servedStore serves a ledger of n subject leaves appended in batches of 10, and returns its
// store to tamper with.
func servedStore(t *testing.T, n int) (*httptest.Server, *memstore.Store, *evidence.Ledger) {
	t.Helper()
	keys, err := evidence.LoadOrCreateKeys(t.TempDir(), "api-test")
	if err != nil {
		t.Fatal(err)
	}
	st := memstore.New()
	l, err := evidence.Open(context.Background(), st, keys, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 10 {
		var leaves []evidence.Leaf
		for j := i; j < min(i+10, n); j++ {
			leaves = append(leaves, evidence.Leaf{V: 1, Kind: evidence.KindSubject, Control: "c1", Time: t0.Add(time.Duration(j) * time.Minute),
				Subject: &evidence.SubjectTransition{From: evidence.SubjectPassing, To: evidence.SubjectFailing, ID: fmt.Sprint("s", j)}})
		}
		if _, err := l.Append(context.Background(), leaves); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(api.New(l))
	t.Cleanup(srv.Close)
	return srv, st, l
}

func TestVerifyReportsTheFirstBadIndex(t *testing.T) {
	srv, st, l := servedStore(t, 100)
	var ok api.VerifyReport
	if err := json.Unmarshal(get(t, srv.URL+"/verify", 200), &ok); err != nil {
		t.Fatal(err)
	}
	if !ok.Verified || ok.Size != 100 || ok.Checkpoint != string(l.Head().Checkpoint) || ok.Index != nil {
		t.Fatalf("untouched log: %+v", ok)
	}
	st.Delete(33)
	var failed api.VerifyReport
	if err := json.Unmarshal(get(t, srv.URL+"/verify", 409), &failed); err != nil {
		t.Fatal(err)
	}
	if failed.Verified || failed.Problem != evidence.ProblemMissing || failed.Index == nil || *failed.Index != 33 || failed.Error == "" {
		t.Fatalf("log with leaf 33 removed: %+v", failed)
	}
}

func TestConsistencyProvesASavedCheckpoint(t *testing.T) {
	srv, _, l := servedStore(t, 40)
	saved := l.Head()
	more := []evidence.Leaf{{V: 1, Kind: evidence.KindOperatorStopped, Time: t0.Add(time.Hour), Operator: &evidence.OperatorEvent{}}}
	if _, err := l.Append(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	var p api.ConsistencyProof
	if err := json.Unmarshal(get(t, fmt.Sprintf("%s/consistency?from=%d", srv.URL, saved.Size), 200), &p); err != nil {
		t.Fatal(err)
	}
	head := l.Head()
	if p.From != saved.Size || p.To != head.Size || p.Checkpoint != string(head.Checkpoint) {
		t.Fatalf("proof %+v, want %d -> %d", p, saved.Size, head.Size)
	}
	if err := evidence.VerifyConsistency(p.From, p.To, p.Proof, saved.Root, head.Root); err != nil {
		t.Fatalf("proof does not verify: %v", err)
	}
	if evidence.VerifyConsistency(p.From, p.To, p.Proof, head.Root, head.Root) == nil {
		t.Fatal("proof verifies for a forked root")
	}
	get(t, srv.URL+"/consistency", 400)
	get(t, srv.URL+"/consistency?from=42", 400)
}
