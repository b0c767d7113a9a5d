// Package e2e runs the user stories of README.md end to end, with the binaries and scripts a
// user runs.
package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// TestDemo runs `make demo`'s script: the local control plane, the sample Controls, a drifting
// workload and its fix, all observed through kubectl as a user would.
func TestDemo(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run the tests with `make test`")
	}
	root := repoRoot(t)
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "isms-local")
	build := exec.Command("go", "build", "-o", bin, "./cmd/isms-local")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building isms-local: %v\n%s", err, out)
	}

	demo := exec.Command("bash", "hack/demo.sh")
	demo.Dir = root
	demo.Env = append(os.Environ(), "ISMS_LOCAL="+bin, "LOCAL_DIR="+filepath.Join(tmp, "local"), "TIMEOUT=60s")
	start := time.Now()
	out, err := demo.CombinedOutput()
	output := string(out)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(tmp, "local", "operator.log"))
		t.Fatalf("the demo failed: %v\n%s\n--- operator log ---\n%s", err, output, tail(string(log), 40))
	}
	t.Logf("the demo took %s", time.Since(start).Round(100*time.Millisecond))

	sections := strings.Split(output, "==> kubectl get controls")
	if len(sections) != 3 {
		t.Fatalf("expected the controls to be shown twice, got:\n%s", output)
	}
	drifted, fixed := sections[1], sections[2]
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`isms-k8s-001-no-privileged\s+ISMS-K8S-001\s+high\s+Fail\s+1\s+1`),
		regexp.MustCompile(`payments\s+isms-k8s-001-no-privileged\s+ISMS-K8S-001\s+high\s+Open\s+1`),
		regexp.MustCompile(`Deployment payments-api: .*runs privileged`),
	} {
		if !want.MatchString(drifted) {
			t.Errorf("after the drift, the output does not match %q:\n%s", want, drifted)
		}
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`isms-k8s-001-no-privileged\s+ISMS-K8S-001\s+high\s+Pass\s+0\s+0`),
		regexp.MustCompile(`payments\s+isms-k8s-001-no-privileged\s+ISMS-K8S-001\s+high\s+Resolved\s+0`),
		regexp.MustCompile(`FindingResolved\s+finding/isms-k8s-001-no-privileged`),
	} {
		if !want.MatchString(fixed) {
			t.Errorf("after the fix, the output does not match %q:\n%s", want, fixed)
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "local", "kubeconfig")); err != nil {
		t.Errorf("the demo left no kubeconfig: %v", err)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
