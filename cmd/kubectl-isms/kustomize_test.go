package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// evalJSON runs eval -o json with args and returns the report and the exit code.
func evalJSON(t *testing.T, args ...string) (EvalReport, int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"eval", "-o", "json"}, args...), strings.NewReader(""), &stdout, &stderr)
	var report EvalReport
	if code != exitUsage {
		if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
			t.Fatalf("exit code %d, output not JSON: %v\n%s\n%s", code, err, stdout.String(), stderr.String())
		}
	}
	return report, code, stderr.String()
}

func controlResult(t *testing.T, r EvalReport, name string) ismsv1.ControlResult {
	t.Helper()
	for _, c := range r.Controls {
		if c.Name == name {
			return c.Result
		}
	}
	t.Fatalf("no result of %s in %+v", name, r.Controls)
	return ""
}

// The overlay's patch scales the base's Deployment down to one replica: the base read with -f
// passes, the overlay rendered with -k fails, as the cluster would see it once applied.
func TestEvalKustomizeEvaluatesWhatWillBeApplied(t *testing.T) {
	controls := filepath.Join("testdata", "results", "controls.yaml")
	base, code, stderr := evalJSON(t, "-f", controls, "-f", "testdata/kustomize/base")
	if got := controlResult(t, base, "results-replicas"); got != ismsv1.ResultPass || code != exitOK {
		t.Fatalf("the base: %s, exit code %d, want Pass and 0\n%s", got, code, stderr)
	}
	overlay, code, stderr := evalJSON(t, "-f", controls, "-k", "testdata/kustomize/overlays/prod")
	if got := controlResult(t, overlay, "results-replicas"); got != ismsv1.ResultFail || code != exitFailed {
		t.Fatalf("the overlay: %s, exit code %d, want Fail and 1\n%s", got, code, stderr)
	}
	var failing []string
	for _, c := range overlay.Controls {
		if c.Name == "results-replicas" {
			for _, s := range c.FailingSubjects() {
				failing = append(failing, s.Namespace+"/"+s.Name+": "+strings.Join(s.Messages, "; "))
			}
		}
	}
	if want := "shop/prod-shop: 1 replica(s), at least 2 required"; len(failing) != 1 || failing[0] != want {
		t.Errorf("failing subjects %q, want [%q]", failing, want)
	}
}

// Errors name the kustomization; bounds and remote resources are refused as input errors.
func TestEvalKustomizeErrorsNameTheFile(t *testing.T) {
	huge := t.TempDir()
	if err := os.WriteFile(filepath.Join(huge, "kustomization.yaml"), []byte("resources: [big.yaml]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(huge, "big.yaml"), bytes.Repeat([]byte("#"), MaxManifestBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := t.TempDir()
	if err := os.WriteFile(filepath.Join(missing, "kustomization.yaml"), []byte("resources: [gone.yaml]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ dir, want string }{
		"a remote base":         {"testdata/kustomize/remote", `testdata/kustomize/remote/kustomization.yaml: "https://github.com/example/manifests//base?ref=v1" names no file or directory beside it, and eval -k does not fetch remote resources`},
		"a file over the limit": {huge, filepath.Join(huge, "big.yaml") + ": more than the limit of the inputs"},
		"a missing resource":    {missing, filepath.Join(missing, "kustomization.yaml") + `: "gone.yaml" names no file or directory beside it`},
		"no kustomization":      {"testdata/results", "-k testdata/results: no kustomization.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			_, code, stderr := evalJSON(t, "--library", "-k", tc.dir)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit code %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}
