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
// config/library, so that `kubectl isms eval --library` evaluates the Controls people install.
func TestControlsMatchConfigLibrary(t *testing.T) {
	lib, err := policies.LoadFS(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	controls, err := Controls(lib, DefaultOwner)
	if err != nil {
		t.Fatal(err)
	}
	if len(controls) != len(lib) {
		t.Fatalf("%d controls for %d policies", len(controls), len(lib))
	}
	dir := filepath.Join("..", "..", "config", "library")
	for _, c := range controls {
		name := strings.TrimPrefix(c.Name, "isms-lib-") + ".yaml"
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var want ismsv1.Control
		if err := yaml.UnmarshalStrict(raw, &want); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(normalize(t, want), normalize(t, c)) {
			got, _ := yaml.Marshal(c)
			t.Errorf("%s differs from the generated Control:\n%s", name, got)
		}
	}
}

// normalize compares Controls by their JSON, so that parameters compare by value.
func normalize(t *testing.T, c ismsv1.Control) map[string]any {
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
