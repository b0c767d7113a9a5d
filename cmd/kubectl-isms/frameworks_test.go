package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/frameworks"
	"github.com/isms-operator/isms-operator/policies"
)

func mapped(name string, framework string, ids ...string) ismsv1.Control {
	c := ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: name}}
	c.Spec.Frameworks = []ismsv1.FrameworkMapping{{Framework: framework, Requirements: ids}}
	return c
}

// TestCoverageFromTheCluster: --coverage without -f counts the Controls the cluster serves.
func TestCoverageFromTheCluster(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := ismsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	a, b := mapped("a", "soc2-2017", "CC6.1", "CC6.2"), mapped("b", "soc2-2017", "CC6.1")
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(&a, &b).Build()
	controls, err := listControls(context.Background(), c)
	if err != nil || len(controls) != 2 {
		t.Fatalf("controls %v, error %v", controls, err)
	}
	soc2, _ := frameworks.Default().Lookup("soc2-2017")
	report := newCoverageReport([]*frameworks.Catalog{soc2}, controls, "cluster")
	cov := report.Frameworks[0]
	if report.Controls != 2 || cov.Totals.Automated != 2 || cov.Totals.Uncovered != 59 {
		t.Errorf("totals %+v of %d controls", cov.Totals, report.Controls)
	}
	var out bytes.Buffer
	printCoverage(&out, report, cov)
	for _, want := range []string{"soc2-2017: SOC 2 Trust Services Criteria (2017), by 2 Control(s) read from the cluster\n",
		"CC6 Logical and physical access     8              2           0          6\n", "  CC6 Logical and physical access: CC6.3, CC6.4,"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMappingWarningsAreBounded(t *testing.T) {
	var controls []ismsv1.Control
	for i := range 30 {
		controls = append(controls, mapped("c"+strings.Repeat("x", i), "iso27001-2022", "A.8.9", "A.9.9", "9.9"))
	}
	var out bytes.Buffer
	warnControlMappings(&out, controls, map[string]string{"c": "controls.yaml: document 1"})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != maxMappingWarnings+1 || lines[len(lines)-1] != "warning: 10 more framework mapping problem(s) not shown" {
		t.Fatalf("%d lines, the last %q", len(lines), lines[len(lines)-1])
	}
	if !strings.HasPrefix(lines[0], `warning: controls.yaml: document 1: Control c: spec.frameworks[0].requirements[1]: "A.9.9" is not a requirement id`) ||
		!strings.HasPrefix(lines[2], "warning: embedded library: Control cx: ") {
		t.Errorf("warnings:\n%s", out.String())
	}
}

func TestLibraryMappingWarnings(t *testing.T) {
	lib := []policies.Policy{{Name: "p", Dir: "lib/p", Metadata: policies.Metadata{
		Frameworks: []policies.FrameworkMapping{{Framework: "nist-800-53-r5", Requirements: []string{"AC-6", "AC6"}}},
	}}}
	var out bytes.Buffer
	warnLibraryMappings(&out, lib)
	if want := "warning: lib/p/policy.yaml: frameworks[0].requirements[1]: \"AC6\" is not a requirement id of nist-800-53-r5"; !strings.HasPrefix(out.String(), want) {
		t.Errorf("warnings %q, want %q...", out.String(), want)
	}
}
