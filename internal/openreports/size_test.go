package openreports

import (
	"encoding/json"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/exception"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// The etcd cost of the reports, for the shape of make bench (test/bench): 10k Deployments over
// 100 namespaces (Deployment i in namespace i % 100), 10% of them privileged, so 10 failing
// Deployments per namespace for each control that flags them. Custom resources are stored in
// etcd as JSON, so the JSON of the object as the API server keeps it (with its server-set
// metadata) is what one report costs. docs/operations.md quotes these figures.

const (
	benchObjects    = 10_000
	benchNamespaces = 100
	benchEvery      = 10 // 10% violating
)

// benchFailures is what `failingControls` copies of the privileged-container control report on
// the bench's estate.
func benchFailures(failingControls int) []ControlFailures {
	out := make([]ControlFailures, failingControls)
	for c := range out {
		ctl := Control{Name: fmt.Sprintf("isms-k8s-001-no-privileged-copy-%02d", c), ID: fmt.Sprintf("ISMS-K8S-001-C%02d", c),
			Severity: ismsv1.SeverityHigh, Category: "iso27001-2022 A.8.9"}
		var failing []evaluation.SubjectResult
		for i := range benchObjects {
			if (i/benchNamespaces)%benchEvery != benchEvery-1 {
				continue
			}
			name := fmt.Sprintf("app-%06d", i)
			failing = append(failing, evaluation.SubjectResult{
				Subject: evaluation.SubjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: fmt.Sprintf("bench-%03d", i%benchNamespaces),
					Name: name, UID: types.UID(fmt.Sprintf("6f1c0d2e-9a4b-4c3d-8e7f-%012d", i))},
				Violations: []policy.Violation{{Message: fmt.Sprintf("container %q (image %q) runs privileged", "app", "registry.example.com/shop/cart:2.4.1")}},
			})
		}
		out[c] = ControlFailures{Control: ctl, Split: exception.Split{Failing: failing}}
	}
	return out
}

// storedBytes is the size of a report as etcd holds it: its JSON with the metadata the API
// server adds (uid, creation time, generation, and the managed fields of the operator's
// updates: the results are an atomic list, so one entry covers them whatever their number).
func storedBytes(t testing.TB, c *Content, maxResults int) int {
	r := NewReport(c, maxResults)
	Stamp(r.Results, nil, 1_767_225_600)
	r.UID = "0b7a3c1e-5d2f-4e6a-9b8c-7d6e5f4a3b2c"
	r.Generation = 3
	r.CreationTimestamp = metav1.Unix(1_767_225_600, 0)
	r.ManagedFields = []metav1.ManagedFieldsEntry{{
		Manager: "manager", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "openreports.io/v1alpha1",
		Time: &r.CreationTimestamp, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(
			`{"f:configuration":{".":{},"f:limits":{".":{},"f:maxResults":{},"f:statusFilter":{}}},` +
				`"f:metadata":{"f:annotations":{".":{},"f:isms.dev/omitted-results":{}},"f:labels":{".":{},"f:app.kubernetes.io/managed-by":{}}},` +
				`"f:results":{},"f:source":{},"f:summary":{".":{},"f:error":{},"f:fail":{},"f:pass":{},"f:skip":{},"f:warn":{}}}`)},
	}}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return len(data)
}

type sizeCase struct {
	name            string
	failingControls int
	maxResults      int
	wantResults     int
	// limit is a bound on one report's bytes that the docs promise for this case.
	limit int
}

var sizeCases = []sizeCase{
	{"1 failing control (make bench's 4 controls)", 1, DefaultMaxResults, 10, 8 << 10},
	{"10 failing controls: at the cap", 10, DefaultMaxResults, 100, 64 << 10},
	{"50 failing controls: 500 results, capped", 50, DefaultMaxResults, 100, 64 << 10},
	{"50 failing controls, the highest cap", 50, MaxMaxResults, 500, 320 << 10},
}

// worstCase fills the highest cap: measured by the benchmark only, it takes seconds.
var worstCase = sizeCase{"100 failing controls, the highest cap", 100, MaxMaxResults, MaxMaxResults, 640 << 10}

// TestReportSizeAtTenThousandObjects measures the bytes per report and in all for the bench's
// shape, and holds them to the bounds docs/operations.md states.
func TestReportSizeAtTenThousandObjects(t *testing.T) {
	for _, tc := range sizeCases {
		t.Run(tc.name, func(t *testing.T) {
			contents := Build(benchFailures(tc.failingControls), tc.maxResults)
			if len(contents) != benchNamespaces {
				t.Fatalf("%d reports, want one per namespace (%d)", len(contents), benchNamespaces)
			}
			total, largest := 0, 0
			for _, c := range contents {
				if len(c.Results) != tc.wantResults || c.Summary.Fail != tc.failingControls*benchObjects/benchNamespaces/benchEvery {
					t.Fatalf("namespace %s: %d results, fail %d", c.Namespace, len(c.Results), c.Summary.Fail)
				}
				n := storedBytes(t, c, tc.maxResults)
				total += n
				largest = max(largest, n)
			}
			t.Logf("%d reports: %d bytes each at most (%d per result), %d KiB in all", len(contents), largest, largest/tc.wantResults, total>>10)
			if largest > tc.limit {
				t.Errorf("a report of %d bytes, above the %d the docs state", largest, tc.limit)
			}
		})
	}
}

// BenchmarkBuildReports reports the bytes per report next to the time to build all 100 (the
// publisher builds them at most once per interval).
func BenchmarkBuildReports(b *testing.B) {
	for _, tc := range append(sizeCases, worstCase) {
		b.Run(tc.name, func(b *testing.B) {
			failures := benchFailures(tc.failingControls)
			var contents map[string]*Content
			for b.Loop() {
				contents = Build(failures, tc.maxResults)
			}
			total := 0
			for _, c := range contents {
				total += storedBytes(b, c, tc.maxResults)
			}
			b.ReportMetric(float64(total/len(contents)), "bytes/report")
		})
	}
}
