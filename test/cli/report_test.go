package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/api"
	"github.com/isms-operator/isms-operator/internal/evidence/memstore"
	"github.com/isms-operator/isms-operator/internal/report"
)

// reportControl is a library Control (severity high: due in 30 days) mapped to A.8.19, read
// alone (other library Controls map to A.8.19 too, and would leave it not evaluated).
const reportControl = "isms-lib-allowed-image-registries"

var reportT0 = time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)

// reportLeaves is two weeks of reportControl with daily heartbeats: it fails on day 2 in
// team-a, its Finding is acknowledged on day 3 and resolved on day 5.
func reportLeaves() []evidence.Leaf {
	day := func(n int) time.Time { return reportT0.Add(time.Duration(n) * 24 * time.Hour) }
	state := func(kind evidence.Kind, n int, r evidence.Result) evidence.Leaf {
		return evidence.Leaf{V: 1, Kind: kind, Control: reportControl, Time: day(n), State: &evidence.State{HeartbeatSeconds: 86400, Result: r}}
	}
	finding := func(n int, to string, open bool) evidence.Leaf {
		return evidence.Leaf{V: 1, Kind: evidence.KindFinding, Control: reportControl, Time: day(n),
			Finding: &evidence.FindingChange{Name: reportControl, Namespace: "team-a", To: to, Open: open}}
	}
	subject := func(n int, from, to evidence.SubjectState) evidence.Leaf {
		return evidence.Leaf{V: 1, Kind: evidence.KindSubject, Control: reportControl, Time: day(n),
			Subject: &evidence.SubjectTransition{ID: "apps/v1/Deployment/team-a/web", From: from, To: to}}
	}
	leaves := []evidence.Leaf{{V: 1, Kind: evidence.KindOperatorStarted, Time: reportT0, Operator: &evidence.OperatorEvent{}},
		state(evidence.KindControl, 0, evidence.ResultPass), state(evidence.KindHeartbeat, 1, evidence.ResultPass),
		subject(2, evidence.SubjectPassing, evidence.SubjectFailing), state(evidence.KindControl, 2, evidence.ResultFail), finding(2, "Open", true),
		finding(3, "Acknowledged", true), state(evidence.KindHeartbeat, 4, evidence.ResultFail),
		subject(5, evidence.SubjectFailing, evidence.SubjectPassing), state(evidence.KindControl, 5, evidence.ResultPass), finding(5, "Resolved", false)}
	for n := 6; n < 15; n++ {
		leaves = append(leaves, state(evidence.KindHeartbeat, n, evidence.ResultPass))
	}
	return leaves
}

func reportControlFile() string {
	return filepath.Join(repoRoot(), "config", "library", "allowed-image-registries.yaml")
}

// newReportLedger serves the ledger as the operator does, and saves its bundle and key.
func newReportLedger(t *testing.T) (url, bundle, keyFile string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	keys, err := evidence.LoadOrCreateKeys(dir, "isms-report-test")
	if err != nil {
		t.Fatal(err)
	}
	l, err := evidence.Open(ctx, memstore.New(), keys, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, reportLeaves()); err != nil {
		t.Fatal(err)
	}
	bundle, keyFile = filepath.Join(dir, "bundle.tar"), filepath.Join(dir, "evidence.pub")
	f, err := os.Create(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Export(ctx, f, reportT0, reportT0.AddDate(0, 0, 14)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(keys.VerifierKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/evidence/", http.StripPrefix("/evidence", api.New(l)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/evidence/", bundle, keyFile
}

func TestReportFromBundle(t *testing.T) {
	_, bundle, keyFile := newReportLedger(t)
	res := kubectlISMS(t, "", "report", "--framework", "iso27001-2022", "--from", "2026-05-04", "--to", "2026-05-17",
		"--bundle", bundle, "--key", keyFile, "-f", reportControlFile(), "-o", "json")
	res.expectCode(t, 0)
	var r report.Report
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatalf("decoding the report: %v\n%s", err, res.stdout)
	}
	if len(r.Findings) != 1 {
		t.Fatalf("%d Findings, want 1: %+v", len(r.Findings), r.Findings)
	}
	f := r.Findings[0]
	if f.TimeToRemediate.D() != 72*time.Hour || f.Open || f.Late || f.Grade == nil || f.Grade.Rule != report.RuleRemediatedInTime || f.SubjectCount != 1 {
		t.Errorf("Finding %+v, want resolved in 72h within its due date (observation), 1 subject", f)
	}
	for _, req := range r.Requirements {
		if req.ID == "A.8.19" && (req.Status != report.StatusNonCompliant || req.PassingShare != 11.0/14) {
			t.Errorf("A.8.19: %s, passing %v; want NonCompliant, 11 of 14 days", req.Status, req.PassingShare)
		}
	}
	if r.Checkpoint.Text == "" || r.Checkpoint.Size == 0 || len(f.Evidence) == 0 {
		t.Errorf("no checkpoint or citations: %+v, evidence %v", r.Checkpoint, f.Evidence)
	}
}

func TestReportFromTheEndpoint(t *testing.T) {
	url, _, keyFile := newReportLedger(t)
	res := kubectlISMS(t, "", "report", "--evidence-url", url, "--key", keyFile, "-f", reportControlFile(),
		"--from", "2026-05-04", "--to", "2026-05-18T00:00:00Z", "-o", "md")
	res.expectCode(t, 0)
	for _, want := range []string{"## 5. Findings", reportControl + "/team-a/" + reportControl, "| A.8.19 |", "78.6%", "3d 0h", "## Citations"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("the Markdown report lacks %q:\n%s", want, res.stdout)
		}
	}
}

func TestReportRefuses(t *testing.T) {
	_, bundle, keyFile := newReportLedger(t)
	tamperedKey := filepath.Join(t.TempDir(), "other.pub")
	other, err := evidence.LoadOrCreateKeys(t.TempDir(), "isms-report-test")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tamperedKey, []byte(other.VerifierKey), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"report", "--library", "--from", "2026-05-04", "--to", "2026-05-17"}
	tests := map[string]struct {
		args []string
		code int
	}{
		"an unknown format":          {args: []string{"--bundle", bundle, "--key", keyFile, "-o", "pdf"}, code: 2},
		"a bundle without a key":     {args: []string{"--bundle", bundle}, code: 2},
		"an unknown framework":       {args: []string{"--bundle", bundle, "--key", keyFile, "--framework", "iso9001"}, code: 2},
		"a bad override":             {args: []string{"--bundle", bundle, "--key", keyFile, "--override", "A.8.19=fatal"}, code: 2},
		"a bundle of another ledger": {args: []string{"--bundle", bundle, "--key", tamperedKey}, code: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			kubectlISMS(t, "", append(base, tc.args...)...).expectCode(t, tc.code)
		})
	}
}
