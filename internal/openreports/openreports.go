// Package openreports builds the OpenReports objects (openreports.io/v1alpha1, the successor of
// the Kubernetes Policy WG's PolicyReport) that the manager publishes when asked to: a Report
// per namespace with failing subjects and a ClusterReport for failing cluster-scoped subjects,
// each holding a result per failing (control, subject), capped, and a summary with exact
// counts. It decides nothing about what fails: its input is the failures the exceptions leave
// (exception.Classify), the very ones that keep Findings open. A pure core: plain inputs, a
// clock value, no client.
package openreports

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/exception"
	"github.com/isms-operator/isms-operator/internal/policy"
)

const (
	// Source names the operator as the engine of the reports (Policy Reporter filters by it).
	Source = "isms-operator"
	// ReportName is the name of every report the operator publishes: one per namespace.
	ReportName = "isms-operator"
	// LabelManagedBy, set to ManagedBy, marks the reports as the operator's: it lists, updates
	// and deletes only those.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "isms-operator"
	// AnnotationOmitted counts the failing results a report leaves out because of the cap: the
	// Report type has no properties of its own, and its summary counts them all.
	AnnotationOmitted = "isms.dev/omitted-results"

	// DefaultMaxResults caps the results of one report (see docs/operations.md for its etcd
	// cost), and MaxMaxResults caps the cap: a report must stay far below etcd's 1.5 MiB limit
	// on one object.
	DefaultMaxResults = 100
	MaxMaxResults     = 1000

	// maxMessage bounds a result's message, as the Findings' messages are bounded.
	maxMessage = 256
	// maxCategory bounds a result's category, built from the control's first framework.
	maxCategory = 128
)

// Control is what a result says of the control that failed.
type Control struct {
	Name     string
	ID       string
	Severity ismsv1.Severity
	// Category is the control's first framework mapping, e.g. "iso27001-2022 A.8.9".
	Category string
}

// ControlOf describes a Control for its results.
func ControlOf(c *ismsv1.Control) Control {
	out := Control{Name: c.Name, ID: c.Spec.ID, Severity: c.Spec.Severity}
	if len(c.Spec.Frameworks) > 0 {
		f := c.Spec.Frameworks[0]
		out.Category = policy.Truncate(f.Framework+" "+strings.Join(f.Requirements, ","), maxCategory)
	}
	return out
}

// ControlFailures is one control's failing subjects in every namespace, split by its active
// exceptions.
type ControlFailures struct {
	Control Control
	Split   exception.Split
}

// Content is one report's content: the Report of a namespace, or the ClusterReport when
// Namespace is empty.
type Content struct {
	Namespace string
	// Summary counts every failing (control, subject) pair as Fail, and every excepted one as
	// Skip, including those the cap leaves out.
	Summary reportsv1alpha1.ReportSummary
	// Results are the failing pairs, the most severe first, then by control, kind and name.
	Results []reportsv1alpha1.ReportResult
	// Omitted is how many failing pairs the cap left out of Results.
	Omitted int
}

// candidate is a failing pair before the cap.
type candidate struct {
	control *Control
	result  *evaluation.SubjectResult
}

// Build groups the failures by the subject's namespace ("" for cluster-scoped subjects) into
// the contents of the reports, each with at most maxResults results. A namespace whose
// failures are all excepted gets no report: it has no failing subjects.
func Build(controls []ControlFailures, maxResults int) map[string]*Content {
	maxResults = ClampMaxResults(maxResults)
	contents := map[string]*Content{}
	candidates := map[string][]candidate{}
	contentOf := func(ns string) *Content {
		c := contents[ns]
		if c == nil {
			c = &Content{Namespace: ns}
			contents[ns] = c
		}
		return c
	}
	for i := range controls {
		cf := &controls[i]
		for j := range cf.Split.Failing {
			res := &cf.Split.Failing[j]
			ns := res.Subject.Namespace
			contentOf(ns).Summary.Fail++
			candidates[ns] = append(candidates[ns], candidate{control: &cf.Control, result: res})
		}
		for _, ex := range cf.Split.Excepted {
			contentOf(ex.Subject.Namespace).Summary.Skip++
		}
	}
	for ns, c := range contents {
		if c.Summary.Fail == 0 {
			delete(contents, ns)
			continue
		}
		kept := candidates[ns]
		slices.SortFunc(kept, compareCandidates)
		if len(kept) > maxResults {
			kept = kept[:maxResults]
		}
		c.Omitted = c.Summary.Fail - len(kept)
		c.Results = make([]reportsv1alpha1.ReportResult, len(kept))
		for i, k := range kept {
			c.Results[i] = resultOf(k)
		}
	}
	return contents
}

// ClampMaxResults returns the cap in force for a configured one: DefaultMaxResults when unset,
// never above MaxMaxResults.
func ClampMaxResults(n int) int {
	if n <= 0 {
		return DefaultMaxResults
	}
	return min(n, MaxMaxResults)
}

// severityRank orders severities from the most to the least severe; unknown ones last.
func severityRank(s ismsv1.Severity) int {
	switch s {
	case ismsv1.SeverityCritical:
		return 0
	case ismsv1.SeverityHigh:
		return 1
	case ismsv1.SeverityMedium:
		return 2
	case ismsv1.SeverityLow:
		return 3
	case ismsv1.SeverityInfo:
		return 4
	}
	return 5
}

// compareCandidates keeps the most severe failures when the cap cuts, in an order that does
// not depend on the evaluator's maps: the same failures give the same report.
func compareCandidates(a, b candidate) int {
	sa, sb := a.result.Subject, b.result.Subject
	return cmp.Or(
		cmp.Compare(severityRank(a.control.Severity), severityRank(b.control.Severity)),
		cmp.Compare(a.control.Name, b.control.Name),
		cmp.Compare(sa.Kind, sb.Kind),
		cmp.Compare(sa.Name, sb.Name),
		cmp.Compare(sa.APIVersion, sb.APIVersion),
		cmp.Compare(sa.UID, sb.UID),
	)
}

func resultOf(k candidate) reportsv1alpha1.ReportResult {
	s := k.result.Subject
	return reportsv1alpha1.ReportResult{
		Policy:      k.control.Name,
		Rule:        k.control.ID,
		Category:    k.control.Category,
		Severity:    reportsv1alpha1.ResultSeverity(k.control.Severity),
		Result:      "fail",
		Scored:      true,
		Subjects:    []corev1.ObjectReference{{APIVersion: s.APIVersion, Kind: s.Kind, Namespace: s.Namespace, Name: s.Name, UID: s.UID}},
		Description: message(k.result.Violations),
	}
}

// message joins a subject's violation messages, bounded.
func message(vs []policy.Violation) string {
	msgs := make([]string, 0, len(vs))
	for _, v := range vs {
		msgs = append(msgs, v.Message)
	}
	return policy.Truncate(strings.Join(msgs, "; "), maxMessage)
}

// resultKey identifies a result across rewrites: its control and subject.
func resultKey(r *reportsv1alpha1.ReportResult) string {
	if len(r.Subjects) == 0 {
		return r.Policy
	}
	s := r.Subjects[0]
	return strings.Join([]string{r.Policy, s.APIVersion, s.Kind, s.Namespace, s.Name, string(s.UID)}, "/")
}

// Stamp sets each result's timestamp: when the same control and subject was in previous (the
// report as published), its timestamp there, else nowSeconds (Unix seconds). A report whose
// failures did not change is then equal to the published one and is not rewritten.
func Stamp(results, previous []reportsv1alpha1.ReportResult, nowSeconds int64) {
	seen := make(map[string]int64, len(previous))
	for i := range previous {
		seen[resultKey(&previous[i])] = previous[i].Timestamp.Seconds
	}
	for i := range results {
		r := &results[i]
		r.Timestamp.Nanos = 0
		if t, ok := seen[resultKey(r)]; ok {
			r.Timestamp.Seconds = t
		} else {
			r.Timestamp.Seconds = nowSeconds
		}
	}
}

// configuration tells consumers the contract of the reports: at most maxResults results, all
// of them failures.
func configuration(maxResults int) *reportsv1alpha1.ReportConfiguration {
	return &reportsv1alpha1.ReportConfiguration{Limits: reportsv1alpha1.Limits{
		MaxResults:   ClampMaxResults(maxResults),
		StatusFilter: []reportsv1alpha1.StatusFilter{"fail"},
	}}
}

// NewReport is the Report of a namespace's content.
func NewReport(c *Content, maxResults int) *reportsv1alpha1.Report {
	r := &reportsv1alpha1.Report{
		Source:        Source,
		Configuration: configuration(maxResults),
		Summary:       c.Summary,
		Results:       c.Results,
	}
	r.SetGroupVersionKind(reportsv1alpha1.SchemeGroupVersion.WithKind("Report"))
	r.Name, r.Namespace = ReportName, c.Namespace
	r.Labels = map[string]string{LabelManagedBy: ManagedBy}
	r.Annotations = map[string]string{AnnotationOmitted: strconv.Itoa(c.Omitted)}
	return r
}

// NewClusterReport is the ClusterReport of the cluster-scoped subjects' content.
func NewClusterReport(c *Content, maxResults int) *reportsv1alpha1.ClusterReport {
	r := &reportsv1alpha1.ClusterReport{
		Source:        Source,
		Configuration: configuration(maxResults),
		Summary:       c.Summary,
		Results:       c.Results,
	}
	r.SetGroupVersionKind(reportsv1alpha1.SchemeGroupVersion.WithKind("ClusterReport"))
	r.Name = ReportName
	r.Labels = map[string]string{LabelManagedBy: ManagedBy}
	r.Annotations = map[string]string{AnnotationOmitted: strconv.Itoa(c.Omitted)}
	return r
}

// body is what a Report and a ClusterReport hold besides their metadata.
type body struct {
	Source        string
	Configuration *reportsv1alpha1.ReportConfiguration
	Summary       reportsv1alpha1.ReportSummary
	Results       []reportsv1alpha1.ReportResult
}

func bodyOf(obj any) (body, bool) {
	switch r := obj.(type) {
	case *reportsv1alpha1.Report:
		return body{r.Source, r.Configuration, r.Summary, r.Results}, true
	case *reportsv1alpha1.ClusterReport:
		return body{r.Source, r.Configuration, r.Summary, r.Results}, true
	}
	return body{}, false
}

// Results are the results of a Report or a ClusterReport, nil for anything else.
func Results(obj any) []reportsv1alpha1.ReportResult {
	b, _ := bodyOf(obj)
	return b.Results
}

// Unchanged says whether the published report already holds what desired says, its labels and
// annotations included (others may add their own): then it is not rewritten.
func Unchanged(published, desired metav1.Object) bool {
	have, ok1 := bodyOf(published)
	want, ok2 := bodyOf(desired)
	return ok1 && ok2 && equality.Semantic.DeepEqual(have, want) &&
		hasAll(published.GetLabels(), desired.GetLabels()) && hasAll(published.GetAnnotations(), desired.GetAnnotations())
}

func hasAll(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}
