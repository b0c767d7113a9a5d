package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/api"
	"github.com/isms-operator/isms-operator/internal/evidence/memstore"
)

var t0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

func newServer(t *testing.T) (*httptest.Server, evidence.Keys) {
	t.Helper()
	keys, err := evidence.LoadOrCreateKeys(t.TempDir(), "api-test")
	if err != nil {
		t.Fatal(err)
	}
	l, err := evidence.Open(context.Background(), memstore.New(), keys, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	leaves := []evidence.Leaf{{V: 1, Kind: evidence.KindOperatorStarted, Time: t0, Operator: &evidence.OperatorEvent{}},
		{V: 1, Kind: evidence.KindControl, Control: "c1", Time: t0, State: &evidence.State{HeartbeatSeconds: 3600, Result: evidence.ResultPass}}}
	for i := 0; i < 5; i++ {
		leaves = append(leaves, evidence.Leaf{V: 1, Kind: evidence.KindSubject, Control: "c1", Time: t0.Add(time.Duration(i+1) * time.Minute),
			Subject: &evidence.SubjectTransition{From: evidence.SubjectPassing, To: evidence.SubjectFailing, ID: fmt.Sprint("s", i)}})
	}
	if _, err := l.Append(context.Background(), leaves); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(l))
	t.Cleanup(srv.Close)
	return srv, keys
}

func get(t *testing.T, url string, wantCode int) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if resp.StatusCode != wantCode {
		t.Fatalf("GET %s: %d %s, want %d", url, resp.StatusCode, body, wantCode)
	}
	return body
}

func TestLogPages(t *testing.T) {
	srv, _ := newServer(t)
	var page api.LogPage
	if err := json.Unmarshal(get(t, srv.URL+"/log?control=c1&limit=4", 200), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 4 || page.Next == nil || *page.Next != 4 {
		t.Fatalf("first page: %d entries, next %v; want 4 and 4", len(page.Entries), page.Next)
	}
	var rest api.LogPage
	_ = json.Unmarshal(get(t, fmt.Sprintf("%s/log?control=c1&limit=4&after=%d", srv.URL, *page.Next), 200), &rest)
	if len(rest.Entries) != 3 || rest.Next != nil || rest.Entries[0].Index != 4 {
		t.Fatalf("second page: %+v", rest)
	}
	get(t, srv.URL+"/log", 400)
	get(t, srv.URL+"/log?control=c1&from=yesterday", 400)
	get(t, srv.URL+"/log?control="+strings.Repeat("x", 600), 400)
}

func TestAtVerifiesWithThePublishedKey(t *testing.T) {
	srv, _ := newServer(t)
	key := strings.TrimSpace(string(get(t, srv.URL+"/key", 200)))
	var snap evidence.Snapshot
	if err := json.Unmarshal(get(t, srv.URL+"/at?t="+t0.Add(30*time.Minute).Format(time.RFC3339), 200), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Controls) != 1 || snap.Controls[0].Result != evidence.ResultPass {
		t.Fatalf("snapshot %+v", snap)
	}
	if err := evidence.VerifySnapshot(snap, key); err != nil {
		t.Fatalf("snapshot from the API does not verify: %v", err)
	}
	get(t, srv.URL+"/at", 400)
	get(t, srv.URL+"/at?t=2026-03-14", 400)
}

func TestExportAndCheckpoint(t *testing.T) {
	srv, keys := newServer(t)
	bundle := get(t, srv.URL+"/export?from="+t0.Format(time.RFC3339)+"&to="+t0.Add(time.Hour).Format(time.RFC3339), 200)
	sum, err := evidence.VerifyBundle(bytes.NewReader(bundle), keys.VerifierKey, evidence.DefaultLimits)
	if err != nil || sum.Entries != 7 {
		t.Fatalf("exported bundle: %d entries, %v", sum.Entries, err)
	}
	cp, err := evidence.OpenCheckpoint(get(t, srv.URL+"/checkpoint", 200), keys.Verifier)
	if err != nil || cp.Size != 7 {
		t.Fatalf("checkpoint: %+v, %v", cp, err)
	}
	get(t, srv.URL+"/export?from=soon", 400)
	resp, err := http.Post(srv.URL+"/log?control=c1", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /log: %d, want 405", resp.StatusCode)
	}
}
