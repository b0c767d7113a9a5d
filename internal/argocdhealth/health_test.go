package argocdhealth

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

var (
	customizations = filepath.Join("..", "..", "config", "argocd", "resource_customizations")
	configMapPath  = filepath.Join("..", "..", "config", "argocd", "argocd-cm.yaml")
)

func loadChecks(t *testing.T) []Check {
	t.Helper()
	checks, err := LoadChecks(customizations)
	if err != nil {
		t.Fatal(err)
	}
	return checks
}

// TestHealthChecks replays every health_test.yaml as Argo CD's own resource-customization
// tests do: each input's health must be exactly the status and message expected.
func TestHealthChecks(t *testing.T) {
	for _, c := range loadChecks(t) {
		if len(c.Tests) == 0 {
			t.Errorf("%s: no tests", c.Dir)
		}
		for _, tc := range c.Tests {
			t.Run(c.Kind+"/"+tc.InputPath, func(t *testing.T) {
				obj, err := LoadObject(filepath.Join(c.Dir, tc.InputPath))
				if err != nil {
					t.Fatal(err)
				}
				if gv, kind := obj["apiVersion"], obj["kind"]; gv != ismsv1.GroupVersion.String() || kind != c.Kind {
					t.Fatalf("input is %v %v, not %s %s", gv, kind, ismsv1.GroupVersion, c.Kind)
				}
				got, err := Run(c.Script, obj)
				if err != nil {
					t.Fatal(err)
				}
				if got != tc.HealthStatus {
					t.Errorf("health = %+v, want %+v", got, tc.HealthStatus)
				}
			})
		}
	}
}

// TestEveryKindHasAHealthCheck fails when a kind of the API has no check, and when a test
// input is not used by a test (an orphaned file tests nothing).
func TestEveryKindHasAHealthCheck(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := ismsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	checks := loadChecks(t)
	apiPackage := reflect.TypeFor[ismsv1.Control]().PkgPath()
	for kind, typ := range scheme.KnownTypes(ismsv1.GroupVersion) {
		if typ.PkgPath() != apiPackage || strings.HasSuffix(kind, "List") {
			continue // the metav1 options and lists registered with every group
		}
		if !slices.ContainsFunc(checks, func(c Check) bool { return c.Group == ismsv1.GroupVersion.Group && c.Kind == kind }) {
			t.Errorf("kind %s has no %s/%s/%s/%s", kind, customizations, ismsv1.GroupVersion.Group, kind, ScriptFile)
		}
	}
	for _, c := range checks {
		inputs, err := filepath.Glob(filepath.Join(c.Dir, "testdata", "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range inputs {
			rel, _ := filepath.Rel(c.Dir, in)
			if !slices.ContainsFunc(c.Tests, func(tc TestCase) bool { return filepath.Clean(tc.InputPath) == rel }) {
				t.Errorf("%s is used by no test in %s", in, TestsFile)
			}
		}
	}
}

// openLibraryUse matches, in code with its string literals removed, uses of libraries Argo CD
// does not open by default and method calls (s:lower() needs the string library's metatable;
// the scripts make no other). The VM fails on them too, but only on the paths the tests reach.
var (
	openLibraryUse = regexp.MustCompile(`\b(string|os|math|io|debug|coroutine|channel)\s*\.|\brequire\b|[\w)\]]\s*:\s*\w+\s*[("{]`)
	stringLiteral  = regexp.MustCompile(`"(\\.|[^"\\])*"|'(\\.|[^'\\])*'`)
)

func TestScriptsUseOnlyTheDefaultLibraries(t *testing.T) {
	for _, c := range loadChecks(t) {
		for i, line := range strings.Split(c.Script, "\n") {
			code, _, _ := strings.Cut(stringLiteral.ReplaceAllString(line, `""`), "--")
			if openLibraryUse.MatchString(code) {
				t.Errorf("%s/%s:%d uses a library Argo CD does not open by default: %s", c.Dir, ScriptFile, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// TestRunOpensWhatArgoCDOpens checks the VM itself: the libraries Argo CD opens work, the ones
// it does not open are absent, and a script that runs for ever is stopped.
func TestRunOpensWhatArgoCDOpens(t *testing.T) {
	obj := map[string]any{"metadata": map[string]any{"name": "x", "generation": int64(3)}, "list": []any{"a", "b"}}
	ok := `local t = {}
table.insert(t, obj.metadata.name .. "/" .. tostring(obj.metadata.generation) .. "/" .. obj.list[2])
return {status = "Healthy", message = t[1] .. " " .. type(string) .. " " .. type(os)}`
	got, err := Run(ok, obj)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Status{Status: Healthy, Message: "x/3/b nil nil"}); got != want {
		t.Errorf("health = %+v, want %+v", got, want)
	}
	for name, script := range map[string]string{
		"string library": `return {status = string.format("%s", "Healthy")}`,
		"string methods": `local s = "Healthy"; return {status = s:lower()}`,
		"no table":       `return "Healthy"`,
		"runaway":        `while true do end`,
	} {
		began := time.Now()
		if st, err := Run(script, obj); err == nil {
			t.Errorf("%s: ran and returned %+v, want an error", name, st)
		}
		if d := time.Since(began); d > 3*Timeout {
			t.Errorf("%s: took %s", name, d)
		}
	}
	if st, err := Run(`return {status = "Broken", message = "x"}`, obj); err != nil || st != (Status{Status: Unknown, Message: invalidStatusMessage}) {
		t.Errorf("an invalid status reads %+v, %v; want Unknown", st, err)
	}
}

// TestConfigMapIsGenerated fails when config/argocd/argocd-cm.yaml is stale (run
// `go run ./hack/gen-argocd-health`), and checks that it decodes back to the scripts.
func TestConfigMapIsGenerated(t *testing.T) {
	checks := loadChecks(t)
	want := RenderConfigMap(checks)
	got, err := os.ReadFile(configMapPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s is stale: run `go run ./hack/gen-argocd-health`", configMapPath)
	}
	var cm struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   map[string]any    `json:"metadata"`
		Data       map[string]string `json:"data"`
	}
	if err := yaml.UnmarshalStrict(got, &cm); err != nil {
		t.Fatal(err)
	}
	if cm.Kind != "ConfigMap" || cm.Metadata["name"] != "argocd-cm" || len(cm.Data) != len(checks) {
		t.Fatalf("%s: %s %v with %d keys, want ConfigMap argocd-cm with %d", configMapPath, cm.Kind, cm.Metadata["name"], len(cm.Data), len(checks))
	}
	for _, c := range checks {
		if cm.Data[c.ConfigKey()] != strings.TrimRight(c.Script, "\n")+"\n" {
			t.Errorf("%s does not decode to %s/%s", c.ConfigKey(), c.Dir, ScriptFile)
		}
	}
}
