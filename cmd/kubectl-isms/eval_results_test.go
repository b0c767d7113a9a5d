package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/offline"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// evalResults runs `eval -o output` on the fixtures of testdata/results and returns stdout.
// results-replicas (high) fails: the exit code is 1.
func evalResults(t *testing.T, output string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"eval", "-f", "testdata/results/controls.yaml",
		"-f", "testdata/results/manifests.yaml", "-o", output}, strings.NewReader(""), &stdout, &stderr)
	if code != exitFailed {
		t.Fatalf("exit code %d, want %d\nstderr: %s", code, exitFailed, stderr.String())
	}
	return stdout.Bytes()
}

// sarifSchema compiles the OASIS SARIF 2.1.0 schema (testdata/README.md says where from).
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	repairRegionAnyOf(t, doc)
	c := jsonschema.NewCompiler()
	c.AssertFormat() // uri and uri-reference are checked, not only annotated
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	return schema
}

// repairRegionAnyOf moves the region definition's anyOf (a region has a startLine, a
// charOffset or a byteOffset) out of its properties, where this version of the schema
// misplaces it and where the metaschema refuses it, to the definition, where the SARIF
// specification (3.30.2) puts the constraint. The file stays as published.
func repairRegionAnyOf(t *testing.T, doc any) {
	t.Helper()
	region, _ := doc.(map[string]any)["definitions"].(map[string]any)["region"].(map[string]any)
	props, _ := region["properties"].(map[string]any)
	anyOf, ok := props["anyOf"]
	if !ok {
		t.Fatal("the schema's region has no misplaced anyOf: remove repairRegionAnyOf")
	}
	delete(props, "anyOf")
	region["anyOf"] = anyOf
}

func TestEvalSARIFIsValidSARIF210(t *testing.T) {
	out := evalResults(t, "sarif")
	if again := evalResults(t, "sarif"); !bytes.Equal(out, again) {
		t.Error("two runs on the same inputs wrote different SARIF")
	}
	schema := sarifSchema(t)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(doc); err != nil {
		t.Fatalf("-o sarif is not valid SARIF 2.1.0: %v\n%s", err, out)
	}
	// The schema check can fail: a result without its message is refused.
	broken := bytes.Replace(out, []byte(`"message": {`), []byte(`"nomessage": {`), 1)
	if doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(broken)); err != nil || schema.Validate(doc) == nil {
		t.Errorf("the schema accepts a result without a message (%v)", err)
	}
}

// sarifLog is what the SARIF test reads of the log.
type sarifLog struct {
	Runs []struct {
		Tool struct {
			Driver struct {
				Rules []struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Invocations []struct {
			Notifications []struct {
				Level          string `json:"level"`
				AssociatedRule struct {
					ID string `json:"id"`
				} `json:"associatedRule"`
			} `json:"toolExecutionNotifications"`
		} `json:"invocations"`
		Results []struct {
			RuleID    string                `json:"ruleId"`
			Level     string                `json:"level"`
			Message   struct{ Text string } `json:"message"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
					Region           struct{ StartLine int } `json:"region"`
				} `json:"physicalLocation"`
			} `json:"locations"`
			Properties map[string]any `json:"properties"`
		} `json:"results"`
	} `json:"runs"`
}

// The rule id is the control's spec.id; each failing Deployment is a result at the file and
// line of its manifest, with the policy's message; the control that cannot be evaluated is a
// notification.
func TestEvalSARIFPointsAtTheFailingManifests(t *testing.T) {
	var log sarifLog
	if err := json.Unmarshal(evalResults(t, "sarif"), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	var ids []string
	for _, r := range run.Tool.Driver.Rules {
		ids = append(ids, r.ID)
	}
	if want := []string{"TEST-R01", "TEST-R02", "TEST-R03", "TEST-R04"}; !slices.Equal(ids, want) {
		t.Errorf("rules %v, want %v", ids, want)
	}
	type result struct {
		rule, level, uri string
		line             int
		document         float64
	}
	var got []result
	for _, r := range run.Results {
		pl := r.Locations[0].PhysicalLocation
		got = append(got, result{r.RuleID, r.Level, pl.ArtifactLocation.URI, pl.Region.StartLine, r.Properties["document"].(float64)})
		if !strings.Contains(r.Message.Text, "1 replica(s), at least 2 required") {
			t.Errorf("message %q lacks the policy's", r.Message.Text)
		}
	}
	want := []result{
		{"TEST-R01", "error", "testdata/results/manifests.yaml", 3, 1},  // shop/web
		{"TEST-R01", "error", "testdata/results/manifests.yaml", 28, 3}, // shop/worker, in a List
	}
	if !slices.Equal(got, want) {
		t.Errorf("results %+v, want %+v", got, want)
	}
	n := run.Invocations[0].Notifications
	if len(n) != 1 || n[0].AssociatedRule.ID != "TEST-R02" || n[0].Level != "error" {
		t.Errorf("notifications %+v, want one error of TEST-R02", n)
	}
}

func TestEvalJUnitGolden(t *testing.T) {
	out := evalResults(t, "junit")
	golden := filepath.Join("testdata", "results", "eval.junit.xml")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("-o junit differs from %s (rerun with -update and review the diff):\n%s", golden, out)
	}
	var suites junitTestsuites
	if err := xml.Unmarshal(out, &suites); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if suites.Tests != 5 || suites.Failures != 2 || suites.Errors != 1 || suites.Skipped != 1 {
		t.Errorf("totals %d tests, %d failures, %d errors, %d skipped; want 5, 2, 1, 1",
			suites.Tests, suites.Failures, suites.Errors, suites.Skipped)
	}
}

// A subject a ControlException excepts is a skipped test case naming the exception.
func TestJUnitExceptedSubjectIsSkipped(t *testing.T) {
	subject := offline.FailingSubject{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", Messages: []string{"m"}}
	report := EvalReport{Report: offline.Report{Controls: []offline.ControlResult{{
		Name: "c", ID: "C-1", Severity: ismsv1.SeverityHigh, Result: ismsv1.ResultPass, Excepted: 1,
		Namespaces: []offline.NamespaceFailures{{Namespace: "shop", Excepted: []offline.ExceptedSubject{{FailingSubject: subject, Exception: "vendor-fix"}}}},
	}}}}
	var out bytes.Buffer
	if err := writeJUnit(&out, report, func(offline.FailingSubject) (location, bool) { return location{}, false }); err != nil {
		t.Fatal(err)
	}
	var suites junitTestsuites
	if err := xml.Unmarshal(out.Bytes(), &suites); err != nil {
		t.Fatal(err)
	}
	cases := suites.Suites[0].Cases
	if suites.Skipped != 1 || suites.Failures != 0 || len(cases) != 2 ||
		cases[0].Skipped == nil || cases[0].Skipped.Message != "excepted by ControlException vendor-fix" || cases[1].Name != "c" {
		t.Errorf("excepted subject as %s", out.String())
	}
}
