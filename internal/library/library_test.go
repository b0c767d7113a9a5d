package library

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/policies"
)

func TestRunTests(t *testing.T) {
	lib, err := policies.Load(filepath.Join("testdata", "lib"))
	if err != nil {
		t.Fatal(err)
	}
	res := RunTests(context.Background(), lib)
	byName := map[string]PolicyResult{}
	for _, p := range res.Policies {
		byName[p.Name] = p
	}
	if len(byName) != 3 {
		t.Fatalf("got %d results, want 3", len(byName))
	}

	good := byName["good-policy"]
	if good.Failed() || len(good.Tests) != 2 || len(good.Examples) != 2 {
		t.Errorf("good-policy: failed=%v, %d tests, %d examples: %+v", good.Failed(), len(good.Tests), len(good.Examples), good)
	}
	for _, tr := range good.Tests {
		if !strings.HasPrefix(tr.Name, "isms.library.good_policy_test.test_") || !strings.Contains(tr.Location, "policy_test.rego:") {
			t.Errorf("test result %+v: unexpected name or location", tr)
		}
	}

	bad := byName["bad-policy"]
	if !bad.Failed() {
		t.Error("bad-policy passed")
	}
	var failedTests []string
	for _, tr := range bad.Tests {
		if !tr.Pass {
			failedTests = append(failedTests, tr.Name)
		}
	}
	if want := []string{"isms.library.bad_policy_test.test_wrong_expectation"}; !reflect.DeepEqual(failedTests, want) {
		t.Errorf("bad-policy: failed tests %q, want %q", failedTests, want)
	}
	var failedExamples []string
	for _, ex := range bad.Examples {
		if !ex.Pass {
			failedExamples = append(failedExamples, ex.Name()+": "+ex.Problem)
		}
	}
	if want := []string{"allowed/unlabelled-but-allowed.yaml: allowed example has 1 violation(s)"}; !reflect.DeepEqual(failedExamples, want) {
		t.Errorf("bad-policy: failed examples %q, want %q", failedExamples, want)
	}

	sandboxed := byName["sandboxed-policy"]
	if !strings.Contains(sandboxed.CompileError, "http.send") || len(sandboxed.Tests) != 0 {
		t.Errorf("sandboxed-policy: compile error %q, %d tests run", sandboxed.CompileError, len(sandboxed.Tests))
	}

	passed, failed, skipped := res.Counts()
	if passed != 2+2+2+2 || failed != 1+1+1 || skipped != 0 || !res.Failed() {
		t.Errorf("counts: passed %d failed %d skipped %d", passed, failed, skipped)
	}
}

// TestControlsMatchConfigLibrary proves that Controls builds what hack/gen-library writes into
// config/library (the Policies under policies/ and the Controls), so that
// `kubectl isms eval --library` evaluates the Controls people install.
func TestControlsMatchConfigLibrary(t *testing.T) {
	lib, err := policies.LoadFS(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	controls, pols, err := Controls(lib, DefaultOwner)
	if err != nil {
		t.Fatal(err)
	}
	if len(controls) != len(lib) || len(pols) != len(lib) {
		t.Fatalf("%d controls and %d policies for %d policies", len(controls), len(pols), len(lib))
	}
	dir := filepath.Join("..", "..", "config", "library")
	for i, c := range controls {
		name := strings.TrimPrefix(c.Name, "isms-lib-") + ".yaml"
		var want ismsv1.Control
		readStrict(t, filepath.Join(dir, name), &want)
		if !reflect.DeepEqual(normalize(t, want), normalize(t, c)) {
			got, _ := yaml.Marshal(c)
			t.Errorf("%s differs from the generated Control:\n%s", name, got)
		}
		if c.Spec.Policy.Ref == nil || c.Spec.Policy.Ref.Name != pols[i].Name {
			t.Errorf("%s does not reference Policy %s", c.Name, pols[i].Name)
		}
		var wantPolicy ismsv1.Policy
		readStrict(t, filepath.Join(dir, "policies", name), &wantPolicy)
		if !reflect.DeepEqual(normalize(t, wantPolicy), normalize(t, pols[i])) {
			got, _ := yaml.Marshal(pols[i])
			t.Errorf("policies/%s differs from the generated Policy:\n%s", name, got)
		}
	}
}

func readStrict(t *testing.T, path string, into any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// normalize compares objects by their JSON, so that parameters and schemas compare by value.
func normalize(t *testing.T, c any) map[string]any {
	t.Helper()
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(js, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
