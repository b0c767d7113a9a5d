package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence/evidencetest"

	"golang.org/x/mod/sumdb/note"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/api"
	"github.com/isms-operator/isms-operator/internal/evidence/sqlite"
)

const evidenceControl = "isms-k8s-001-no-privileged"

var evidenceT0 = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// evidenceServer is a real ledger in SQLite served as the operator serves it.
type evidenceServer struct {
	url     string // the endpoint, ending in /evidence/
	dir     string
	keys    evidence.Keys
	keyFile string // the verifier key, saved as a user would
	ledger  *evidence.Ledger
}

// newEvidenceServer records an operator start, a baseline of two controls, subjects
// transitions of evidenceControl (subjects of them, so /log has several pages), a Finding
// and an exception change, heartbeats, and a clean stop an hour after t0.
func newEvidenceServer(t *testing.T, subjects int) *evidenceServer {
	t.Helper()
	ctx := context.Background()
	s := &evidenceServer{dir: t.TempDir()}
	var err error
	if s.keys, err = evidence.LoadOrCreateKeys(s.dir, "isms-test"); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, s.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if s.ledger, err = evidence.Open(ctx, st, s.keys, evidence.Options{}); err != nil {
		t.Fatal(err)
	}
	leaves := evidenceLeaves(subjects)
	for len(leaves) > 0 {
		n := min(400, len(leaves))
		if _, err := s.ledger.Append(ctx, leaves[:n]); err != nil {
			t.Fatal(err)
		}
		leaves = leaves[n:]
	}
	mux := http.NewServeMux()
	mux.Handle("/evidence/", http.StripPrefix("/evidence", api.New(s.ledger)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/evidence/"
	s.keyFile = filepath.Join(t.TempDir(), "evidence.pub")
	if err := os.WriteFile(s.keyFile, []byte(s.keys.VerifierKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func evidenceLeaves(subjects int) []evidence.Leaf {
	at := func(d time.Duration) time.Time { return evidenceT0.Add(d) }
	state := func(kind evidence.Kind, control string, d time.Duration, result evidence.Result, failing int) evidence.Leaf {
		return evidence.Leaf{V: 1, Kind: kind, Control: control, Time: at(d), State: &evidence.State{HeartbeatSeconds: 3600,
			Result: result, Digest: "sha256:0338edf2aa11", Generation: 2, Counts: evidence.Counts{Failing: failing}}}
	}
	leaves := []evidence.Leaf{
		{V: 1, Kind: evidence.KindOperatorStarted, Time: at(0), Operator: &evidence.OperatorEvent{Version: "v0.1.0", HeartbeatSeconds: 3600}},
		state(evidence.KindControl, evidenceControl, 0, evidence.ResultFail, 1),
		state(evidence.KindControl, "isms-k8s-004-namespace-network-policy", 0, evidence.ResultPass, 0),
		{V: 1, Kind: evidence.KindSubject, Control: evidenceControl, Time: at(0), Subject: &evidence.SubjectTransition{
			From: evidence.SubjectUnknown, To: evidence.SubjectFailing, ID: "apps/v1/Deployment/payments/api", Counts: evidence.Counts{Failing: 1}}},
		{V: 1, Kind: evidence.KindFinding, Control: evidenceControl, Time: at(time.Second), Finding: &evidence.FindingChange{
			Namespace: "payments", Name: evidenceControl, To: "Open", Open: true}},
	}
	for i := 0; i < subjects; i++ {
		from, to := evidence.SubjectPassing, evidence.SubjectFailing
		if i%2 == 1 {
			from, to = to, from
		}
		leaves = append(leaves, evidence.Leaf{V: 1, Kind: evidence.KindSubject, Control: evidenceControl, Time: at(time.Duration(i+2) * time.Second),
			Subject: &evidence.SubjectTransition{From: from, To: to, ID: fmt.Sprintf("apps/v1/Deployment/web/w-%d", i/2), Counts: evidence.Counts{Failing: 1 + (i+1)%2}}})
	}
	return append(leaves,
		evidence.Leaf{V: 1, Kind: evidence.KindException, Control: evidenceControl, Time: at(40 * time.Minute), Exception: &evidence.ExceptionChange{
			Name: "legacy-api", To: "Active"}},
		state(evidence.KindHeartbeat, evidenceControl, 50*time.Minute, evidence.ResultFail, 1),
		state(evidence.KindHeartbeat, "isms-k8s-004-namespace-network-policy", 50*time.Minute, evidence.ResultPass, 0),
		evidence.Leaf{V: 1, Kind: evidence.KindOperatorStopped, Time: at(time.Hour), Operator: &evidence.OperatorEvent{}})
}

func (s *evidenceServer) run(t *testing.T, args ...string) result {
	t.Helper()
	return kubectlISMS(t, "", append([]string{"evidence", "--evidence-url", s.url}, args...)...)
}

func TestEvidenceLogPagesThroughTheWholePeriod(t *testing.T) {
	const subjects = 2300 // three pages of /log
	s := newEvidenceServer(t, subjects)
	r := s.run(t, "log", "--control", evidenceControl, "--from", "2026-03-14", "--to", "2026-03-15", "-o", "json")
	r.expectCode(t, 0)
	var entries []evidence.Entry
	decodeStrict(t, []byte(r.stdout), &entries)
	// The start, the baseline, its subject and Finding, the subjects, the exception and the
	// stop; not the heartbeat, nor the other control's leaves.
	if want := 4 + subjects + 2; len(entries) != want {
		t.Fatalf("%d entries, want %d", len(entries), want)
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].Index <= entries[i-1].Index {
			t.Fatalf("entry %d (index %d) is not after index %d", i, entries[i].Index, entries[i-1].Index)
		}
		if k := entries[i].Leaf.Kind; k == evidence.KindHeartbeat || (entries[i].Leaf.Control != "" && entries[i].Leaf.Control != evidenceControl) {
			t.Fatalf("entry %d is a %s leaf of %q", i, k, entries[i].Leaf.Control)
		}
	}
	if e := entries[len(entries)-2]; e.Digest != "sha256:0338edf2aa11" || e.Generation != 2 || len(e.LeafHash) != 32 {
		t.Fatalf("the exception entry lacks the digest, generation or leaf hash in force: %+v", e)
	}

	r = s.run(t, "log", "--control", evidenceControl, "--from", "2026-03-14T09:39:00Z", "--heartbeats")
	r.expectCode(t, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TIME") {
		t.Fatalf("want a header and 3 rows (exception, heartbeat, stop):\n%s", r.stdout)
	}
	for i, want := range []string{"ControlException legacy-api: (none) -> Active", "unchanged Fail: failing 1", "operator stopped"} {
		if !strings.Contains(lines[i+1], want) || (i < 2) != strings.Contains(lines[i+1], "sha256:0338edf2aa11") {
			t.Errorf("row %d lacks %q, or the digest of the control's leaves:\n%s", i+1, want, lines[i+1])
		}
	}
	kubectlISMS(t, "", "evidence", "log", "--control", evidenceControl, "--from", "March").expectCode(t, 2)
	kubectlISMS(t, "", "evidence", "--evidence-url", "http://127.0.0.1:1/evidence/", "log", "--control", "c").expectCode(t, 1)
}

func TestEvidenceAtVerifiesTheProofs(t *testing.T) {
	s := newEvidenceServer(t, 3)
	r := s.run(t, "at", "2026-03-14T09:30:00Z", "--key", s.keyFile)
	r.expectCode(t, 0)
	size := s.ledger.Head().Size
	if want := fmt.Sprintf("proofs verified against checkpoint %d signed by isms-test", size); !strings.Contains(r.stdout, want) {
		t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
	}
	for _, want := range []string{evidenceControl + " ", "Fail", "isms-k8s-004-namespace-network-policy", "Open findings of " + evidenceControl + ": payments/" + evidenceControl} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stderr, "not pinned") {
		t.Errorf("warned with a pinned key: %s", r.stderr)
	}

	r = s.run(t, "at", "2026-03-14T11:00:00Z", "-o", "json")
	r.expectCode(t, 0)
	if !strings.Contains(r.stderr, "warning: the verifier key was not pinned") || !strings.Contains(r.stderr, "proofs verified") {
		t.Errorf("stderr lacks the unpinned-key warning or the verification: %s", r.stderr)
	}
	var snap evidence.Snapshot
	decodeStrict(t, []byte(r.stdout), &snap)
	if err := evidence.VerifySnapshot(snap, s.keys.VerifierKey); err != nil {
		t.Fatalf("the printed answer does not re-verify: %v", err)
	}
	for _, c := range snap.Controls {
		if c.Result != evidence.ResultNotEvaluated || !strings.Contains(c.Reason, "stopped") {
			t.Errorf("after the stop %s is %s (%s), want NotEvaluated because the operator stopped", c.Control, c.Result, c.Reason)
		}
	}

	other, err := evidence.LoadOrCreateKeys(t.TempDir(), "isms-test")
	if err != nil {
		t.Fatal(err)
	}
	otherFile := filepath.Join(t.TempDir(), "other.pub")
	_ = os.WriteFile(otherFile, []byte(other.VerifierKey), 0o644)
	r = s.run(t, "at", "2026-03-14T09:30:00Z", "--key", otherFile)
	r.expectCode(t, 1)
	if !strings.Contains(r.stderr, "verification failed") || r.stdout != "" {
		t.Errorf("a foreign key: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	s.run(t, "at", "2026-03-14T09:30:00Z", "--key", filepath.Join(t.TempDir(), "missing")).expectCode(t, 2)
}

func TestEvidenceKeyPrintsTheVerifierKey(t *testing.T) {
	s := newEvidenceServer(t, 1)
	r := s.run(t, "key")
	r.expectCode(t, 0)
	if strings.TrimSpace(r.stdout) != s.keys.VerifierKey {
		t.Fatalf("key %q, want %q", r.stdout, s.keys.VerifierKey)
	}
}

// tamperings of a bundle of the leaves [first, ...), with the first bad index each names
// (-1: none) and a text the message must hold.
func tamperings(t *testing.T, first uint64) map[string]struct {
	edit  func(string, []byte) []byte
	index int64
	text  string
} {
	priv, _, err := note.GenerateKey(rand.Reader, "isms-test")
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, _ := note.NewSigner(priv)
	i := int64(first)
	return map[string]struct {
		edit  func(string, []byte) []byte
		index int64
		text  string
	}{
		"modified entry": {evidencetest.EditEntries(func(ls []string) []string {
			ls[5] = strings.Replace(ls[5], `"Failing"`, `"Passing"`, 1)
			return ls
		}), i + 5, "leaf hash mismatch"},
		"removed entry": {evidencetest.EditEntries(func(ls []string) []string { return append(ls[:7:7], ls[8:]...) }), i + 7, "leaf hash mismatch"},
		"reordered":     {evidencetest.EditEntries(func(ls []string) []string { ls[9], ls[10] = ls[10], ls[9]; return ls }), i + 9, "leaf hash mismatch"},
		"truncated":     {evidencetest.EditEntries(func(ls []string) []string { return ls[:12] }), i + 12, "entry missing"},
		"foreign checkpoint": {func(name string, d []byte) []byte {
			if name != "checkpoint-end" {
				return d
			}
			signed, _ := note.Sign(&note.Note{Text: string(d[:bytes.Index(d, []byte("\n\n"))+1])}, otherSigner)
			return signed
		}, -1, "not signed by the log's key"},
	}
}

func TestEvidenceExportAndOfflineVerify(t *testing.T) {
	s := newEvidenceServer(t, 40)
	bundle := filepath.Join(t.TempDir(), "evidence.tar")
	r := s.run(t, "export", "--from", "2026-03-14T09:00:03Z", "--to", "2026-03-14T09:00:30Z", "-o", bundle, "--key", s.keyFile)
	r.expectCode(t, 0)
	// Leaves 0..4 are at t0 and t0+1s; subject i is at t0+(i+2)s, leaf 5+i.
	if !strings.Contains(r.stdout, "Exported 27 entries (leaves [6, 33) of isms-test)") {
		t.Fatalf("export: %s", r.stdout)
	}
	if _, err := os.Stat(bundle + ".partial"); !os.IsNotExist(err) {
		t.Errorf("the partial file was left behind: %v", err)
	}
	r = kubectlISMS(t, "", "evidence", "verify", bundle, "--key", s.keyFile)
	r.expectCode(t, 0)
	if !strings.Contains(r.stdout, "Bundle verified: 27 entries, leaves [6, 33) of isms-test") {
		t.Fatalf("verify: %s", r.stdout)
	}
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range tamperings(t, 6) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tampered.tar")
			_ = os.WriteFile(path, evidencetest.RewriteBundle(t, data, tc.edit), 0o644)
			r := kubectlISMS(t, "", "evidence", "verify", path, "--key", s.keyFile)
			r.expectCode(t, 1)
			if !strings.Contains(r.stderr, "verification failed") || !strings.Contains(r.stderr, tc.text) {
				t.Errorf("stderr lacks %q: %s", tc.text, r.stderr)
			}
			if tc.index >= 0 && !strings.Contains(r.stderr, fmt.Sprintf("leaf %d:", tc.index)) {
				t.Errorf("stderr does not name leaf %d: %s", tc.index, r.stderr)
			}
		})
	}
	kubectlISMS(t, "", "evidence", "verify", bundle).expectCode(t, 2)                                // no --key
	kubectlISMS(t, "", "evidence", "verify", bundle+".missing", "--key", s.keyFile).expectCode(t, 2) // no such bundle
	kubectlISMS(t, "", "evidence", "verify", bundle, "--key", bundle).expectCode(t, 2)               // not a key
	s.run(t, "export", "--from", "2026-03-15", "--to", "2026-03-14", "-o", bundle).expectCode(t, 2)  // reversed period
	s.run(t, "export", "--from", "2026-03-14").expectCode(t, 2)                                      // no -o
}

func TestEvidenceLiveVerify(t *testing.T) {
	s := newEvidenceServer(t, 40)
	saved := filepath.Join(t.TempDir(), "checkpoint-1.txt")
	_ = os.WriteFile(saved, s.ledger.Head().Checkpoint, 0o644)
	more := []evidence.Leaf{{V: 1, Kind: evidence.KindOperatorStarted, Time: evidenceT0.Add(2 * time.Hour), Operator: &evidence.OperatorEvent{}}}
	if _, err := s.ledger.Append(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	r := s.run(t, "verify", "--key", s.keyFile, "--checkpoint", saved)
	r.expectCode(t, 0)
	size := s.ledger.Head().Size
	for _, want := range []string{fmt.Sprintf("verified its whole log: %d leaves", size),
		fmt.Sprintf("Head checkpoint %d signed by isms-test; it extends the 1 saved checkpoint(s)", size)} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}

	db, err := sql.Open("sqlite", filepath.Join(s.dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Exec(`DELETE FROM leaves WHERE idx = 20`); err != nil {
		t.Fatal(err)
	}
	r = s.run(t, "verify", "--key", s.keyFile)
	r.expectCode(t, 1)
	if !strings.Contains(r.stderr, "verification failed") || !strings.Contains(r.stderr, "leaf 20: entry missing") {
		t.Errorf("stderr does not name the removed leaf 20: %s", r.stderr)
	}
	s.run(t, "verify", "--checkpoint", filepath.Join(t.TempDir(), "missing")).expectCode(t, 2)
}

// TestEvidenceLiveVerifyDetectsAFork serves a history rewritten under the same key after a
// checkpoint was saved outside the cluster.
func TestEvidenceLiveVerifyDetectsAFork(t *testing.T) {
	original := newEvidenceServer(t, 10)
	saved := filepath.Join(t.TempDir(), "saved.txt")
	_ = os.WriteFile(saved, original.ledger.Head().Checkpoint, 0o644)
	forked := newEvidenceServer(t, 30)
	keyFile := filepath.Join(t.TempDir(), "forked.pub")
	_ = os.WriteFile(keyFile, []byte(forked.keys.VerifierKey), 0o644)
	// Sign the saved checkpoint's body with the fork's key, as an admin holding the key could.
	cp := original.ledger.Head().Checkpoint
	signed, err := note.Sign(&note.Note{Text: string(cp[:bytes.Index(cp, []byte("\n\n"))+1])}, forked.keys.Signer)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(saved, signed, 0o644)
	r := forked.run(t, "verify", "--key", keyFile, "--checkpoint", saved)
	r.expectCode(t, 1)
	if !strings.Contains(r.stderr, "saved.txt") || !strings.Contains(r.stderr, "rewritten") {
		t.Errorf("stderr does not report the fork: %s", r.stderr)
	}
}
