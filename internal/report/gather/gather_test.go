package gather

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/memstore"
	"github.com/isms-operator/isms-operator/internal/report"
)

var t0 = time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)

func day(n int) time.Time { return t0.AddDate(0, 0, n) }

// newLedger is a week of control "c": failing from day 2 to day 5 in namespace ns, with
// daily heartbeats.
func newLedger(t *testing.T) (*evidence.Ledger, evidence.Keys) {
	t.Helper()
	keys, err := evidence.LoadOrCreateKeys(t.TempDir(), "gather-test")
	if err != nil {
		t.Fatal(err)
	}
	l, err := evidence.Open(context.Background(), memstore.New(), keys, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	state := func(kind evidence.Kind, n int, r evidence.Result) evidence.Leaf {
		return evidence.Leaf{V: 1, Kind: kind, Control: "c", Time: day(n), State: &evidence.State{HeartbeatSeconds: 86400, Result: r}}
	}
	finding := func(n int, to string, open bool) evidence.Leaf {
		return evidence.Leaf{V: 1, Kind: evidence.KindFinding, Control: "c", Time: day(n),
			Finding: &evidence.FindingChange{Name: "c", Namespace: "ns", To: to, Open: open}}
	}
	leaves := []evidence.Leaf{state(evidence.KindControl, 0, evidence.ResultPass), state(evidence.KindHeartbeat, 1, evidence.ResultPass),
		state(evidence.KindControl, 2, evidence.ResultFail), finding(2, "Open", true), state(evidence.KindHeartbeat, 3, evidence.ResultFail),
		state(evidence.KindHeartbeat, 4, evidence.ResultFail), state(evidence.KindControl, 5, evidence.ResultPass), finding(5, "Resolved", false),
		state(evidence.KindHeartbeat, 6, evidence.ResultPass), state(evidence.KindHeartbeat, 7, evidence.ResultPass)}
	if _, err := l.Append(context.Background(), leaves); err != nil {
		t.Fatal(err)
	}
	return l, keys
}

func weekInput(t *testing.T) report.Input {
	t.Helper()
	in, err := Input(Request{Framework: "iso27001-2022", From: "2026-05-04", To: "2026-05-10"})
	if err != nil {
		t.Fatal(err)
	}
	control := ismsv1.Control{Spec: ismsv1.ControlSpec{Severity: ismsv1.SeverityHigh,
		Frameworks: []ismsv1.FrameworkMapping{{Framework: "iso27001-2022", Requirements: []string{"A.8.9"}}}}}
	control.Name = "c"
	AddObjects(&in, []ismsv1.Control{control}, nil, time.Time{})
	return in
}

func TestFromLedger(t *testing.T) {
	l, keys := newLedger(t)
	r, err := FromLedger(context.Background(), weekInput(t), LedgerSource(l), keys.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 1 || r.Findings[0].TimeToRemediate.D() != 72*time.Hour || r.Findings[0].Open {
		t.Fatalf("findings %+v, want one resolved after 72h", r.Findings)
	}
	for _, req := range r.Requirements {
		if req.ID == "A.8.9" && req.PassingShare != 4.0/7 {
			t.Errorf("A.8.9 passing %v, want 4 of 7 days", req.PassingShare)
		}
	}
	if r.Checkpoint.Text == "" || r.Scope.Origin != "gather-test" || r.Criteria.DuePeriods == nil {
		t.Errorf("checkpoint %+v, origin %q: want the bundle's", r.Checkpoint, r.Scope.Origin)
	}
}

func TestFromLedgerRefusesWhatDoesNotVerify(t *testing.T) {
	l, _ := newLedger(t)
	other, err := evidence.LoadOrCreateKeys(t.TempDir(), "gather-test")
	if err != nil {
		t.Fatal(err)
	}
	_, err = FromLedger(context.Background(), weekInput(t), LedgerSource(l), other.VerifierKey)
	var ve *VerificationError
	if !errors.As(err, &ve) {
		t.Errorf("another ledger's key: error %v, want a VerificationError", err)
	}
	_, err = FromLedger(context.Background(), weekInput(t), tampered{LedgerSource(l)}, l.VerifierKey())
	if !errors.As(err, &ve) {
		t.Errorf("a tampered bundle: error %v, want a VerificationError", err)
	}
	_, err = FromLedger(context.Background(), weekInput(t), failing{LedgerSource(l)}, l.VerifierKey())
	if err == nil || errors.As(err, &ve) || !strings.Contains(err.Error(), "exporting the period: the store is down") {
		t.Errorf("an export that fails: error %v, want the export's error", err)
	}
}

// tampered changes one byte of every leaf's JSON as the bundle streams.
type tampered struct{ Source }

func (s tampered) Export(ctx context.Context, w io.Writer, from, to time.Time) error {
	return s.Source.Export(ctx, replacer{w}, from, to)
}

type replacer struct{ w io.Writer }

func (r replacer) Write(p []byte) (int, error) {
	return r.w.Write([]byte(strings.ReplaceAll(string(p), `"Fail"`, `"Pass"`)))
}

// failing cuts the bundle after its first bytes.
type failing struct{ Source }

func (s failing) Export(ctx context.Context, w io.Writer, from, to time.Time) error {
	if _, err := w.Write(make([]byte, 512)); err != nil {
		return err
	}
	return errors.New("the store is down")
}

func TestInputRefusesBadRequests(t *testing.T) {
	tests := map[string]Request{
		"unknown framework": {Framework: "iso9001", From: "2026-01-01", To: "2026-02-01"},
		"no period":         {Framework: "iso27001-2022"},
		"not a time":        {Framework: "iso27001-2022", From: "01/01/2026", To: "2026-02-01"},
		"reversed":          {Framework: "iso27001-2022", From: "2026-02-01", To: "2026-01-01"},
		"too long":          {Framework: "iso27001-2022", From: "2020-01-01", To: "2026-01-01"},
		"bad override":      {Framework: "iso27001-2022", From: "2026-01-01", To: "2026-02-01", Overrides: []string{"A.8.9=fatal"}},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			req.Prefix = "--"
			_, err := Input(req)
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error %v, want a RequestError", err)
			}
		})
	}
	in, err := Input(Request{Framework: "iso27001-2022", From: "2026-01-01", To: "2026-01-31",
		DuePeriods: map[ismsv1.Severity]time.Duration{ismsv1.SeverityHigh: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	if !in.Period.To.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) || in.DuePeriods["high"] != time.Hour || len(in.DuePeriods) != 1 {
		t.Errorf("period %+v, due %v: want to include Jan 31, the given due periods", in.Period, in.DuePeriods)
	}
}
