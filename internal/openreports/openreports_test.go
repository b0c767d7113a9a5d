package openreports

import (
	"fmt"
	"strings"
	"testing"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	"k8s.io/apimachinery/pkg/types"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/exception"
	"github.com/isms-operator/isms-operator/internal/policy"
)

func failing(ns, kind, name string, msgs ...string) evaluation.SubjectResult {
	vs := make([]policy.Violation, len(msgs))
	for i, m := range msgs {
		vs[i] = policy.Violation{Message: m}
	}
	apiVersion := "apps/v1"
	if ns == "" {
		apiVersion = "v1"
	}
	return evaluation.SubjectResult{
		Subject:    evaluation.SubjectRef{APIVersion: apiVersion, Kind: kind, Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name)},
		Violations: vs,
	}
}

func excepted(res evaluation.SubjectResult) exception.Excepted {
	return exception.Excepted{SubjectResult: res, Exception: "waiver"}
}

var (
	high     = Control{Name: "no-privileged", ID: "ISMS-K8S-001", Severity: ismsv1.SeverityHigh, Category: "iso27001-2022 A.8.9"}
	critical = Control{Name: "z-critical", ID: "ISMS-K8S-099", Severity: ismsv1.SeverityCritical}
	low      = Control{Name: "a-low", ID: "ISMS-K8S-050", Severity: ismsv1.SeverityLow}
)

// policies lists a content's results as "control kind/name".
func policies(c *Content) []string {
	out := make([]string, len(c.Results))
	for i, r := range c.Results {
		out[i] = r.Policy + " " + r.Subjects[0].Kind + "/" + r.Subjects[0].Name
	}
	return out
}

func TestBuild(t *testing.T) {
	tests := map[string]struct {
		controls   []ControlFailures
		maxResults int
		// want maps a namespace to its results ("control kind/name"), summary fail and
		// skip, and omitted count; a namespace not named has no report.
		want map[string]wantContent
	}{
		"one report per namespace, cluster-scoped subjects apart": {
			controls: []ControlFailures{{Control: high, Split: exception.Split{Failing: []evaluation.SubjectResult{
				failing("b", "Deployment", "web", "x"), failing("a", "Deployment", "api", "x"), failing("", "Namespace", "a", "x"),
			}}}},
			want: map[string]wantContent{
				"a": {results: []string{"no-privileged Deployment/api"}, fail: 1},
				"b": {results: []string{"no-privileged Deployment/web"}, fail: 1},
				"":  {results: []string{"no-privileged Namespace/a"}, fail: 1},
			},
		},
		"the most severe first, then by control, kind and name": {
			controls: []ControlFailures{
				{Control: low, Split: exception.Split{Failing: []evaluation.SubjectResult{failing("a", "Deployment", "api", "x")}}},
				{Control: high, Split: exception.Split{Failing: []evaluation.SubjectResult{
					failing("a", "StatefulSet", "db", "x"), failing("a", "Deployment", "web", "x"), failing("a", "Deployment", "api", "x"),
				}}},
				{Control: critical, Split: exception.Split{Failing: []evaluation.SubjectResult{failing("a", "Deployment", "web", "x")}}},
			},
			want: map[string]wantContent{"a": {results: []string{
				"z-critical Deployment/web", "no-privileged Deployment/api", "no-privileged Deployment/web",
				"no-privileged StatefulSet/db", "a-low Deployment/api",
			}, fail: 5}},
		},
		"the cap keeps the most severe, the summary counts all": {
			maxResults: 2,
			controls: []ControlFailures{
				{Control: low, Split: exception.Split{Failing: []evaluation.SubjectResult{failing("a", "Deployment", "api", "x")}}},
				{Control: high, Split: exception.Split{Failing: []evaluation.SubjectResult{
					failing("a", "Deployment", "c", "x"), failing("a", "Deployment", "b", "x"), failing("a", "Deployment", "a", "x"),
				}}},
			},
			want: map[string]wantContent{"a": {results: []string{"no-privileged Deployment/a", "no-privileged Deployment/b"}, fail: 4, omitted: 2}},
		},
		"excepted subjects are counted as skipped, not listed": {
			controls: []ControlFailures{{Control: high, Split: exception.Split{
				Failing:  []evaluation.SubjectResult{failing("a", "Deployment", "api", "x")},
				Excepted: []exception.Excepted{excepted(failing("a", "Deployment", "legacy", "x")), excepted(failing("b", "Deployment", "old", "x"))},
			}}},
			// b's only failure is excepted: it has no failing subject, hence no report.
			want: map[string]wantContent{"a": {results: []string{"no-privileged Deployment/api"}, fail: 1, skip: 1}},
		},
		"no failures, no reports": {
			controls: []ControlFailures{{Control: high}},
			want:     map[string]wantContent{},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Build(tc.controls, tc.maxResults)
			if len(got) != len(tc.want) {
				t.Fatalf("reports for %v, want %d", keys(got), len(tc.want))
			}
			for ns, want := range tc.want {
				c := got[ns]
				if c == nil {
					t.Fatalf("no report for namespace %q", ns)
				}
				want.check(t, c)
			}
		})
	}
}

type wantContent struct {
	results             []string
	fail, skip, omitted int
}

func (w wantContent) check(t *testing.T, c *Content) {
	t.Helper()
	if got := policies(c); strings.Join(got, ",") != strings.Join(w.results, ",") {
		t.Errorf("namespace %q: results %q, want %q", c.Namespace, got, w.results)
	}
	if c.Summary.Fail != w.fail || c.Summary.Skip != w.skip || c.Summary.Pass != 0 || c.Summary.Error != 0 {
		t.Errorf("namespace %q: summary %+v, want fail %d skip %d", c.Namespace, c.Summary, w.fail, w.skip)
	}
	if c.Omitted != w.omitted {
		t.Errorf("namespace %q: omitted %d, want %d", c.Namespace, c.Omitted, w.omitted)
	}
}

func keys(m map[string]*Content) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestResultSaysWhatFailsAndWhere(t *testing.T) {
	long := strings.Repeat("m", 400)
	got := Build([]ControlFailures{{Control: high, Split: exception.Split{Failing: []evaluation.SubjectResult{
		failing("a", "Deployment", "api", "container \"app\" is privileged", "container \"init\" is privileged"),
		failing("a", "Deployment", "big", long),
	}}}}, 0)["a"]
	r := got.Results[0]
	if r.Policy != "no-privileged" || r.Rule != "ISMS-K8S-001" || r.Severity != "high" || r.Result != "fail" ||
		r.Category != "iso27001-2022 A.8.9" || !r.Scored {
		t.Errorf("result %+v", r)
	}
	if want := `container "app" is privileged; container "init" is privileged`; r.Description != want {
		t.Errorf("message %q, want %q", r.Description, want)
	}
	s := r.Subjects[0]
	if s.APIVersion != "apps/v1" || s.Kind != "Deployment" || s.Namespace != "a" || s.Name != "api" || s.UID != "uid-a-api" {
		t.Errorf("subject %+v", s)
	}
	if n := len(got.Results[1].Description); n > maxMessage {
		t.Errorf("a message of %d bytes, want at most %d", n, maxMessage)
	}
}

func TestControlOfTakesTheFirstFramework(t *testing.T) {
	c := &ismsv1.Control{Spec: ismsv1.ControlSpec{ID: "X-1", Severity: ismsv1.SeverityMedium, Frameworks: []ismsv1.FrameworkMapping{
		{Framework: "iso27001-2022", Requirements: []string{"A.8.9", "A.8.2"}}, {Framework: "soc2-2017", Requirements: []string{"CC6.1"}},
	}}}
	c.Name = "x"
	if got := ControlOf(c); got.Category != "iso27001-2022 A.8.9,A.8.2" || got.ID != "X-1" || got.Name != "x" {
		t.Errorf("ControlOf = %+v", got)
	}
}

func TestClampMaxResults(t *testing.T) {
	for in, want := range map[int]int{0: DefaultMaxResults, -3: DefaultMaxResults, 7: 7, MaxMaxResults + 1: MaxMaxResults} {
		if got := ClampMaxResults(in); got != want {
			t.Errorf("ClampMaxResults(%d) = %d, want %d", in, got, want)
		}
	}
}

// A report built again from the same failures, stamped against the published one, is
// unchanged: the publisher does not rewrite it. A new failure, a changed message, or a moved
// count changes it.
func TestStampKeepsAnUnchangedReportUnchanged(t *testing.T) {
	build := func(failures ...evaluation.SubjectResult) *reportsv1alpha1.Report {
		c := Build([]ControlFailures{{Control: high, Split: exception.Split{Failing: failures}}}, 2)["a"]
		return NewReport(c, 2)
	}
	published := build(failing("a", "Deployment", "api", "x"))
	Stamp(published.Results, nil, 1000)
	if published.Results[0].Timestamp.Seconds != 1000 {
		t.Fatalf("a new result stamped %d, want 1000", published.Results[0].Timestamp.Seconds)
	}

	again := build(failing("a", "Deployment", "api", "x"))
	Stamp(again.Results, published.Results, 2000)
	if !Unchanged(published, again) {
		t.Errorf("the same failures, later: changed")
	}

	more := build(failing("a", "Deployment", "api", "x"), failing("a", "Deployment", "web", "y"))
	Stamp(more.Results, published.Results, 2000)
	if Unchanged(published, more) {
		t.Errorf("a new failure: unchanged")
	}
	if more.Results[0].Timestamp.Seconds != 1000 || more.Results[1].Timestamp.Seconds != 2000 {
		t.Errorf("timestamps %d, %d: want the old one kept and the new one now", more.Results[0].Timestamp.Seconds, more.Results[1].Timestamp.Seconds)
	}

	reworded := build(failing("a", "Deployment", "api", "z"))
	Stamp(reworded.Results, published.Results, 2000)
	if Unchanged(published, reworded) {
		t.Errorf("a changed message: unchanged")
	}

	published.Labels["team"] = "kept" // someone else's label does not make ours differ
	if !Unchanged(published, again) {
		t.Errorf("a label added by others: changed")
	}
	delete(published.Labels, LabelManagedBy)
	if Unchanged(published, again) {
		t.Errorf("our label removed: unchanged")
	}
}

func TestReportsAreMarkedAsOurs(t *testing.T) {
	c := &Content{Namespace: "a", Summary: reportsv1alpha1.ReportSummary{Fail: 5}, Omitted: 3}
	r := NewReport(c, 2)
	if r.Namespace != "a" || r.Name != ReportName || r.Labels[LabelManagedBy] != ManagedBy || r.Annotations[AnnotationOmitted] != "3" ||
		r.Source != Source || r.Configuration.Limits.MaxResults != 2 || r.Kind != "Report" || r.APIVersion != "openreports.io/v1alpha1" {
		t.Errorf("report %+v", r)
	}
	cr := NewClusterReport(&Content{Summary: reportsv1alpha1.ReportSummary{Fail: 1}}, 0)
	if cr.Namespace != "" || cr.Name != ReportName || cr.Annotations[AnnotationOmitted] != "0" || cr.Kind != "ClusterReport" ||
		cr.Configuration.Limits.MaxResults != DefaultMaxResults {
		t.Errorf("cluster report %+v", cr)
	}
	if got := fmt.Sprint(Results(r), Results(cr), Results("x")); got != "[] [] []" {
		t.Errorf("Results = %s", got)
	}
}
