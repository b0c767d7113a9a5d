package reportapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/memstore"
	"github.com/isms-operator/isms-operator/internal/report"
)

var t0 = time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)

// newLedger is control "c" failing in namespace ns on days 2 to 5 of a week.
func newLedger(t *testing.T) *evidence.Ledger {
	t.Helper()
	keys, err := evidence.LoadOrCreateKeys(t.TempDir(), "reportapi-test")
	if err != nil {
		t.Fatal(err)
	}
	l, err := evidence.Open(context.Background(), memstore.New(), keys, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	state := func(kind evidence.Kind, n int, r evidence.Result) evidence.Leaf {
		return evidence.Leaf{V: 1, Kind: kind, Control: "c", Time: t0.AddDate(0, 0, n), State: &evidence.State{HeartbeatSeconds: 86400, Result: r}}
	}
	finding := func(n int, to string, open bool) evidence.Leaf {
		return evidence.Leaf{V: 1, Kind: evidence.KindFinding, Control: "c", Time: t0.AddDate(0, 0, n),
			Finding: &evidence.FindingChange{Name: "c", Namespace: "ns", To: to, Open: open}}
	}
	leaves := []evidence.Leaf{state(evidence.KindControl, 0, evidence.ResultPass), state(evidence.KindControl, 2, evidence.ResultFail),
		finding(2, "Open", true), state(evidence.KindHeartbeat, 3, evidence.ResultFail), state(evidence.KindHeartbeat, 4, evidence.ResultFail),
		state(evidence.KindControl, 5, evidence.ResultPass), finding(5, "Resolved", false), state(evidence.KindHeartbeat, 6, evidence.ResultPass)}
	if _, err := l.Append(context.Background(), leaves); err != nil {
		t.Fatal(err)
	}
	return l
}

func objects(context.Context) ([]ismsv1.Control, []ismsv1.Risk, error) {
	c := ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: ismsv1.ControlSpec{Severity: ismsv1.SeverityHigh,
		Frameworks: []ismsv1.FrameworkMapping{{Framework: "iso27001-2022", Requirements: []string{"A.8.9"}}}}}
	r := ismsv1.Risk{ObjectMeta: metav1.ObjectMeta{Name: "accepted-drift"}, Spec: ismsv1.RiskSpec{Title: "Drift", Owner: "platform",
		Treatment: ismsv1.TreatmentAccept, Appetite: 9, Controls: []ismsv1.RiskControlRef{{Name: "c"}},
		Acceptance: &ismsv1.RiskAcceptance{AcceptedBy: "ciso", Justification: "cost", Until: metav1.NewTime(t0.AddDate(1, 0, 0))}}}
	return []ismsv1.Control{c}, []ismsv1.Risk{r}, nil
}

const week = "/report?from=2026-05-04&to=2026-05-10"

func get(t *testing.T, h http.Handler, url string) (int, http.Header, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Header(), string(body)
}

func TestReportOfAPeriod(t *testing.T) {
	h := New(Options{Ledger: newLedger(t), Objects: objects, Now: func() time.Time { return t0.AddDate(0, 1, 0) },
		DuePeriods: map[ismsv1.Severity]time.Duration{ismsv1.SeverityHigh: 48 * time.Hour}})
	code, header, body := get(t, h, week+"&format=json")
	if code != http.StatusOK || header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d (%s): %s", code, header.Get("Content-Type"), body)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 1 || r.Findings[0].TimeToRemediate.D() != 72*time.Hour || !r.Findings[0].Late {
		t.Errorf("findings %+v: want one remediated in 72h, late against the operator's 48h due period", r.Findings)
	}
	if len(r.AcceptedRisks) != 1 || r.AcceptedRisks[0].Requirements[0] != "A.8.9" || !r.Methodology.RisksReadAt.Equal(t0.AddDate(0, 1, 0)) {
		t.Errorf("accepted risks %+v read at %s: want the Risk on A.8.9 read now", r.AcceptedRisks, r.Methodology.RisksReadAt)
	}
	if r.Checkpoint.Text == "" || len(r.Findings[0].Evidence) == 0 {
		t.Errorf("no checkpoint or citations")
	}
	for format, want := range map[string]string{"md": "## 5. Findings", "html": "<section id=\"findings\">", "oscal": "assessment-results"} {
		code, header, body := get(t, h, week+"&format="+format)
		if code != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(header.Get("Content-Disposition"), "report-iso27001-2022-20260504-20260511") {
			t.Errorf("format %s: status %d, disposition %q, body lacks %q", format, code, header.Get("Content-Disposition"), want)
		}
	}
}

func TestReportRefuses(t *testing.T) {
	l := newLedger(t)
	tests := map[string]struct {
		opts Options
		url  string
		code int
		want string
	}{
		"no period":        {url: "/report", code: 400, want: "from and to are required"},
		"a bad format":     {url: week + "&format=pdf", code: 400, want: "format must be"},
		"too long":         {url: "/report?from=2020-01-01&to=2026-01-01", code: 400, want: "longer than"},
		"unknown":          {url: week + "&framework=iso9001", code: 400, want: "has no catalog"},
		"a long parameter": {url: week + "&override=" + strings.Repeat("x", 600), code: 400, want: "longer than 512"},
		"too large":        {opts: Options{MaxBytes: 1000}, url: week, code: 500, want: "larger than 1000 bytes"},
		"too slow": {opts: Options{Timeout: 50 * time.Millisecond, Objects: func(ctx context.Context) ([]ismsv1.Control, []ismsv1.Risk, error) {
			<-ctx.Done()
			return nil, nil, ctx.Err()
		}}, url: week, code: 503, want: "reading the Controls"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.opts.Ledger = l
			if tc.opts.Objects == nil {
				tc.opts.Objects = objects
			}
			code, _, body := get(t, New(tc.opts), tc.url)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Errorf("status %d, body %q; want %d and %q", code, body, tc.code, tc.want)
			}
		})
	}
}

// One report at a time: a second request while one computes is told to retry.
func TestReportOneAtATime(t *testing.T) {
	inside, release := make(chan struct{}), make(chan struct{})
	h := New(Options{Ledger: newLedger(t), Objects: func(ctx context.Context) ([]ismsv1.Control, []ismsv1.Risk, error) {
		close(inside)
		<-release
		return objects(ctx)
	}})
	first := make(chan int)
	go func() { code, _, _ := get(t, h, week); first <- code }()
	<-inside
	code, header, _ := get(t, h, week)
	close(release)
	if code != http.StatusTooManyRequests || header.Get("Retry-After") == "" {
		t.Errorf("a second report while one computes: status %d, want 429 with Retry-After", code)
	}
	if code := <-first; code != http.StatusOK {
		t.Errorf("the first report: status %d, want 200", code)
	}
}
