// Package cli tests the kubectl plugin (cmd/kubectl-isms) as users run it: the binary is built
// once and every test runs it on the fixtures of testdata/, checking exit codes and parsing the
// output. equivalence_test.go proves that `eval` and the operator give the same verdicts.
package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kubectl-isms-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "kubectl-isms")
	build := exec.Command("go", "build", "-o", binary, "./cmd/kubectl-isms")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building kubectl-isms: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

type result struct {
	stdout, stderr string
	code           int
}

// kubectlISMS runs the plugin with stdin and args, in this package's directory.
func kubectlISMS(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("running kubectl-isms %s: %v", strings.Join(args, " "), err)
	}
	return r
}

func (r result) expectCode(t *testing.T, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, want, r.stdout, r.stderr)
	}
}

// The fixtures: Controls of testdata/controls and config/samples against testdata/manifests.
var (
	samples = func() []string {
		files, _ := filepath.Glob(filepath.Join(repoRoot(), "config", "samples", "isms_*.yaml"))
		var args []string
		for _, f := range files {
			args = append(args, "-f", f)
		}
		return args
	}()
	fixtures = append([]string{"-f", "testdata/controls", "-f", "testdata/manifests"}, samples...)
)

// evalReport is the documented JSON schema of `eval -o json` (docs/cli.md), decoded strictly.
type evalReport struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	FailOn     string         `json:"failOn"`
	Failed     bool           `json:"failed"`
	Summary    map[string]int `json:"summary"`
	Objects    int            `json:"objects"`
	Ignored    int            `json:"ignored"`
	Controls   []struct {
		Name         string `json:"name"`
		ID           string `json:"id"`
		Title        string `json:"title"`
		Severity     string `json:"severity"`
		Result       string `json:"result"`
		Reason       string `json:"reason"`
		Message      string `json:"message"`
		Evaluated    int    `json:"evaluated"`
		Failing      int    `json:"failing"`
		Errored      int    `json:"errored"`
		Excepted     int    `json:"excepted"`
		PolicyDigest string `json:"policyDigest"`
		Namespaces   []struct {
			Namespace string `json:"namespace"`
			Subjects  []struct {
				APIVersion string   `json:"apiVersion"`
				Kind       string   `json:"kind"`
				Namespace  string   `json:"namespace"`
				Name       string   `json:"name"`
				Messages   []string `json:"messages"`
			} `json:"subjects"`
			Excepted []struct {
				APIVersion string   `json:"apiVersion"`
				Kind       string   `json:"kind"`
				Namespace  string   `json:"namespace"`
				Name       string   `json:"name"`
				Messages   []string `json:"messages"`
				Exception  string   `json:"exception"`
			} `json:"excepted"`
		} `json:"namespaces"`
	} `json:"controls"`
}

func decodeStrict(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding the output: %v\n%s", err, data)
	}
}

// excepted returns "namespace:Kind/name by exception" per control that has excepted subjects.
func (r evalReport) excepted() map[string]string {
	out := map[string]string{}
	for _, c := range r.Controls {
		var subjects []string
		for _, ns := range c.Namespaces {
			for _, s := range ns.Excepted {
				subjects = append(subjects, ns.Namespace+":"+s.Kind+"/"+s.Name+" by "+s.Exception)
			}
		}
		if len(subjects) != c.Excepted {
			subjects = append(subjects, fmt.Sprintf("(%d counted)", c.Excepted))
		}
		if len(subjects) > 0 {
			out[c.ID] = strings.Join(subjects, ",")
		}
	}
	return out
}

// verdicts returns "ID Result failing-subjects" per control.
func (r evalReport) verdicts() map[string]string {
	out := map[string]string{}
	for _, c := range r.Controls {
		var subjects []string
		for _, ns := range c.Namespaces {
			for _, s := range ns.Subjects {
				subjects = append(subjects, ns.Namespace+":"+s.Kind+"/"+s.Name)
			}
		}
		out[c.ID] = c.Result + " " + strings.Join(subjects, ",")
	}
	return out
}

func TestEvalJSON(t *testing.T) {
	r := kubectlISMS(t, "", append([]string{"eval", "-o", "json"}, fixtures...)...)
	r.expectCode(t, 1) // ISMS-K8S-001 (high) and TEST-001 (critical) fail
	var report evalReport
	decodeStrict(t, []byte(r.stdout), &report)
	if report.APIVersion != "isms.dev/v1alpha1" || report.Kind != "EvaluationReport" || report.FailOn != "high" || !report.Failed {
		t.Errorf("header: %+v", report)
	}
	want := map[string]string{
		"ISMS-K8S-001": "Fail payments:Deployment/api",
		"ISMS-K8S-002": "Fail sandbox:Deployment/toy",
		"ISMS-K8S-003": "Fail isms-system:Namespace/sandbox",
		"ISMS-K8S-004": "Fail isms-system:Namespace/payments,isms-system:Namespace/sandbox",
		"TEST-001":     "Fail payments:Deployment/api",
		"TEST-002":     "Fail payments:Deployment/api",
	}
	if got := report.verdicts(); !equalMaps(got, want) {
		t.Errorf("verdicts:\n got %v\nwant %v", got, want)
	}
	if report.Summary["Fail"] != 6 || report.Summary["Pass"] != 0 || report.Objects != 8 || report.Ignored != 2 {
		t.Errorf("summary %v, objects %d, ignored %d", report.Summary, report.Objects, report.Ignored)
	}
	for _, c := range report.Controls {
		if c.ID == "TEST-001" && (c.Evaluated != 2 || c.Severity != "critical") {
			t.Errorf("TEST-001 evaluates only the Deployments of namespaces labelled env=prod: %+v", c)
		}
		if !strings.HasPrefix(c.PolicyDigest, "sha256:") || c.Message == "" || c.Reason == "" {
			t.Errorf("%s: digest %q, reason %q, message %q", c.Name, c.PolicyDigest, c.Reason, c.Message)
		}
		for _, ns := range c.Namespaces {
			for _, s := range ns.Subjects {
				if len(s.Messages) == 0 || s.APIVersion == "" {
					t.Errorf("%s: subject %+v", c.Name, s)
				}
			}
		}
	}
	if !strings.Contains(r.stderr, "FAIL: 2 control(s) at or above --fail-on=high") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

// exceptionYAML is a ControlException approved a day ago that expires after lifetime (negative:
// it has expired).
func exceptionYAML(name string, lifetime time.Duration, controls, subjects string) string {
	now := time.Now().UTC()
	return fmt.Sprintf(`apiVersion: isms.dev/v1alpha1
kind: ControlException
metadata: {name: %s}
spec:
  controls: %s
  subjects: %s
  justification: accepted until the vendor ships a fix
  approvedBy: ciso@example.com
  approvedAt: %s
  expiresAt: %s
`, name, controls, subjects, now.Add(-24*time.Hour).Format(time.RFC3339), now.Add(lifetime).Format(time.RFC3339))
}

func TestEvalAppliesExceptions(t *testing.T) {
	exceptions := strings.Join([]string{
		exceptionYAML("api-vendor-image", time.Hour, "[test-prod-no-privileged]", "{objects: [{kind: Deployment, namespace: payments, name: api}]}"),
		exceptionYAML("prod-netpol", time.Hour, "[isms-k8s-004-namespace-network-policy]", "{labelSelector: {matchLabels: {env: prod}}}"),
		exceptionYAML("replicas-expired", -time.Minute, "[test-min-replicas]", "{namespaces: [payments]}"),
		exceptionYAML("other-control", time.Hour, "[isms-k8s-999-none]", "{namespaces: [payments, sandbox]}"),
	}, "---\n")
	file := filepath.Join(t.TempDir(), "exceptions.yaml")
	if err := os.WriteFile(file, []byte(exceptions), 0o644); err != nil {
		t.Fatal(err)
	}
	r := kubectlISMS(t, "", append([]string{"eval", "-o", "json", "-f", file}, fixtures...)...)
	r.expectCode(t, 1) // ISMS-K8S-001 (high) still fails; TEST-001 (critical) is excepted
	var report evalReport
	decodeStrict(t, []byte(r.stdout), &report)
	want := map[string]string{
		"ISMS-K8S-001": "Fail payments:Deployment/api",
		"ISMS-K8S-002": "Fail sandbox:Deployment/toy",
		"ISMS-K8S-003": "Fail isms-system:Namespace/sandbox",
		"ISMS-K8S-004": "Fail isms-system:Namespace/sandbox",
		"TEST-001":     "Pass ",
		"TEST-002":     "Fail payments:Deployment/api",
	}
	if got := report.verdicts(); !equalMaps(got, want) {
		t.Errorf("verdicts:\n got %v\nwant %v", got, want)
	}
	wantExcepted := map[string]string{
		"ISMS-K8S-004": "isms-system:Namespace/payments by prod-netpol",
		"TEST-001":     "payments:Deployment/api by api-vendor-image",
	}
	if got := report.excepted(); !equalMaps(got, wantExcepted) {
		t.Errorf("excepted:\n got %v\nwant %v", got, wantExcepted)
	}
	if !strings.Contains(r.stderr, "FAIL: 1 control(s) at or above --fail-on=high: isms-k8s-001-no-privileged (high, Fail)") {
		t.Errorf("stderr: %s", r.stderr)
	}
	table := kubectlISMS(t, "", append([]string{"eval", "-f", file}, fixtures...)...)
	if want := "test-prod-no-privileged (TEST-001): 1 failing subject(s) excepted:\n  Deployment payments/api (ControlException api-vendor-image)\n"; !strings.Contains(table.stdout, want) {
		t.Errorf("table lacks %q:\n%s", want, table.stdout)
	}
}

func TestEvalTable(t *testing.T) {
	r := kubectlISMS(t, "", append([]string{"eval"}, fixtures...)...)
	r.expectCode(t, 1)
	lines := strings.Split(r.stdout, "\n")
	if got := strings.Fields(lines[0]); !slices.Equal(got, []string{"CONTROL", "ID", "SEVERITY", "RESULT", "FAILING", "EVALUATED"}) {
		t.Errorf("header %q", lines[0])
	}
	for _, want := range []string{
		"isms-k8s-001-no-privileged ISMS-K8S-001 high Fail 1 4",
		"test-prod-no-privileged TEST-001 critical Fail 1 2",
	} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Join(strings.Fields(l), " ") == want }) {
			t.Errorf("no row %q in:\n%s", want, r.stdout)
		}
	}
	for _, want := range []string{
		"  Deployment payments/api\n    - Container \"api\" (image \"registry.example.com/payments/api:1.4.2\") runs privileged\n",
		"6 control(s): 6 Fail, 0 Error, 0 Pass, 0 NotApplicable; 8 object(s)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestEvalYAMLAndStdin(t *testing.T) {
	manifests, err := os.ReadFile("testdata/manifests/workloads.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := kubectlISMS(t, string(manifests), "eval", "-f", "testdata/controls", "-f", "-", "-o", "yaml", "--fail-on", "none")
	r.expectCode(t, 0)
	js, err := yaml.YAMLToJSON([]byte(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	var report evalReport
	decodeStrict(t, js, &report)
	// Without the Namespaces, no namespace is labelled env=prod.
	want := map[string]string{"TEST-001": "NotApplicable ", "TEST-002": "Fail payments:Deployment/api"}
	if got := report.verdicts(); !equalMaps(got, want) || report.Failed {
		t.Errorf("verdicts %v, want %v; failed %v", got, want, report.Failed)
	}
}

func TestEvalFailOn(t *testing.T) {
	// Only ISMS-K8S-002 (medium) fails on these objects.
	args := []string{"eval", "-f", filepath.Join(repoRoot(), "config", "samples", "isms_k8s_002_image_tag.yaml"), "-f", "testdata/manifests"}
	for _, tc := range []struct {
		failOn string
		code   int
	}{
		{"", 0}, // high
		{"critical", 0},
		{"high", 0},
		{"medium", 1},
		{"low", 1},
		{"info", 1},
		{"none", 0},
	} {
		t.Run("fail-on="+tc.failOn, func(t *testing.T) {
			a := args
			if tc.failOn != "" {
				a = append(slices.Clone(args), "--fail-on="+tc.failOn)
			}
			kubectlISMS(t, "", a...).expectCode(t, tc.code)
		})
	}
}

func TestEvalCompileErrorIsAnErrorResult(t *testing.T) {
	r := kubectlISMS(t, "", "eval", "-f", "testdata/broken-controls", "-f", "testdata/controls", "-f", "testdata/manifests", "-o", "json", "--fail-on=critical")
	r.expectCode(t, 1) // TEST-001 (critical) fails; TEST-900 (high) is below the threshold
	var report evalReport
	decodeStrict(t, []byte(r.stdout), &report)
	seen := 0
	for _, c := range report.Controls {
		switch c.ID {
		case "TEST-900":
			seen++
			if c.Result != "Error" || c.Reason != "CompileError" || !strings.Contains(c.Message, "undefined_function") {
				t.Errorf("broken control: %+v", c)
			}
		case "TEST-901":
			seen++
			if c.Result != "Error" || c.Reason != "InvalidParameters" || !strings.Contains(c.Message, "spec.parameters.minReplicas: Invalid value") {
				t.Errorf("control with invalid parameters: %+v", c)
			}
		case "TEST-902":
			seen++
			if c.Result != "Error" || c.Reason != "PolicyNotFound" || !strings.Contains(c.Message, "test-no-such-policy") {
				t.Errorf("control with a missing Policy: %+v", c)
			}
		}
	}
	if seen != 3 {
		t.Errorf("%d of the 3 broken controls in the report", seen)
	}
	// At --fail-on=high a control that cannot be evaluated fails the run on its own.
	kubectlISMS(t, "", "eval", "-f", "testdata/broken-controls", "-f", "testdata/manifests").expectCode(t, 1)
}

func TestEvalLibrary(t *testing.T) {
	r := kubectlISMS(t, "", "eval", "--library", "-f", "testdata/manifests", "-o", "json", "--fail-on", "none")
	r.expectCode(t, 0)
	var report evalReport
	decodeStrict(t, []byte(r.stdout), &report)
	library, _ := filepath.Glob(filepath.Join(repoRoot(), "policies", "*", "policy.yaml"))
	if len(report.Controls) != len(library) {
		t.Fatalf("%d controls, want the %d policies of the library", len(report.Controls), len(library))
	}
	v := report.verdicts()
	for id, want := range map[string]string{
		"ISMS-LIB-020": "Fail payments:Deployment/api", // no-privileged-containers
		"ISMS-LIB-011": "Fail isms-system:ClusterRole/test-wildcard-reader",
		"ISMS-LIB-090": "NotApplicable ", // no CronJob
	} {
		if v[id] != want {
			t.Errorf("%s: %q, want %q", id, v[id], want)
		}
	}
}

func TestEvalInputErrors(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badYAML := write("bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [unclosed\n")
	noKind := write("nokind.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: List\nitems: [{apiVersion: v1, metadata: {name: b}}]\n")
	dup := write("dup.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: team}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: team}\n")
	badControl := write("control.yaml", "apiVersion: isms.dev/v1alpha1\nkind: Control\nmetadata: {name: c}\nspec: {id: X, title: x, owner: o, severity: severe, targets: {kinds: [{apiGroups: [''], kinds: [Pod]}]}, policy: {rego: 'package x'}}\n")
	neither := write("neither.yaml", "apiVersion: isms.dev/v1alpha1\nkind: Control\nmetadata: {name: c}\nspec: {id: X, title: x, owner: o, severity: high, targets: {kinds: [{apiGroups: [''], kinds: [Pod]}]}, policy: {}}\n")
	dupPolicy := write("policies.yaml", "apiVersion: isms.dev/v1alpha1\nkind: Policy\nmetadata: {name: p}\nspec: {rego: 'package p'}\n---\napiVersion: isms.dev/v1alpha1\nkind: Policy\nmetadata: {name: p}\nspec: {rego: 'package q'}\n")
	badException := write("exception.yaml", "apiVersion: isms.dev/v1alpha1\nkind: ControlException\nmetadata: {name: e}\nspec: {controls: [c], subjects: {}, justification: j, approvedBy: ciso, approvedAt: '2025-01-01T00:00:00Z', expiresAt: '2027-01-01T00:00:00Z'}\n")
	unknownField := write("unknown.yaml", "apiVersion: isms.dev/v1alpha1\nkind: Control\nmetadata: {name: c}\nspec: {id: X, severityy: high}\n")
	zeroInterval := write("interval.yaml", "apiVersion: isms.dev/v1alpha1\nkind: Control\nmetadata: {name: c}\nspec: {id: X, title: x, owner: o, severity: high, interval: 0s, targets: {kinds: [{apiGroups: [''], kinds: [Pod]}]}, policy: {rego: 'package x'}}\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"eval", "-f", "testdata/nope.yaml"}, "-f testdata/nope.yaml: no such file or directory"},
		{"bad YAML", []string{"eval", "-f", badYAML, "--library"}, badYAML + ": document 2:"},
		{"object without kind", []string{"eval", "-f", noKind, "--library"}, noKind + ": document 2, items[0]: an object needs apiVersion, kind and metadata.name"},
		{"duplicate object", []string{"eval", "-f", dup, "--library"}, dup + ": document 2: ConfigMap team/a is also defined in " + dup + ": document 1"},
		{"invalid control", []string{"eval", "-f", badControl}, badControl + `: document 1: Control c: spec.severity: Unsupported value: "severe"`},
		{"neither rego nor ref", []string{"eval", "-f", neither}, neither + ": document 1: Control c: spec.policy: Invalid value: exactly one of spec.policy.rego (inline Rego) and spec.policy.ref (a Policy) must be set"},
		{"duplicate policy", []string{"eval", "-f", dupPolicy, "--library"}, dupPolicy + ": document 2: Policy p is also defined in " + dupPolicy + ": document 1"},
		{"invalid exception", []string{"eval", "-f", badException, "--library"}, badException + ": document 1: ControlException e: [spec: Invalid value: expiresAt must be at most 365 days after approvedAt, spec.subjects: Invalid value: at least one of namespaces, labelSelector or objects must be set]"},
		{"unknown field", []string{"eval", "-f", unknownField}, `Control c: spec.severityy: Forbidden: unknown field: the schema does not declare it`},
		{"interval the API server refuses", []string{"eval", "-f", zeroInterval}, zeroInterval + ": document 1: Control c: spec.interval"},
		{"no control", []string{"eval", "-f", "testdata/manifests"}, "no Control to evaluate"},
		{"no input", []string{"eval", "--library"}, "no input"},
		{"bad output", []string{"eval", "--library", "-f", "testdata/manifests", "-o", "xml"}, "--output must be table, json, yaml, sarif or junit"},
		{"bad threshold", []string{"eval", "--library", "-f", "testdata/manifests", "--fail-on", "severe"}, "--fail-on must be one of"},
		{"unknown flag", []string{"eval", "--bogus"}, "unknown flag: --bogus"},
		{"argument", []string{"eval", "manifests/"}, "accepts at most 0 argument(s)"},
		{"no subcommand", nil, "a subcommand is required"},
		{"unknown subcommand", []string{"evaluate"}, `unknown command "evaluate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := kubectlISMS(t, "", tc.args...)
			r.expectCode(t, 2)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tc.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout is not empty: %s", r.stdout)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"eval", "--help"}, {"test", "--help"}, {"status", "--help"}} {
		r := kubectlISMS(t, "", args...)
		r.expectCode(t, 0)
		if !strings.Contains(r.stdout, "kubectl isms") {
			t.Errorf("%v: help does not name the plugin as kubectl calls it:\n%s", args, r.stdout)
		}
	}
}

func TestTestEmbeddedLibrary(t *testing.T) {
	r := kubectlISMS(t, "", "test")
	r.expectCode(t, 0)
	library, _ := filepath.Glob(filepath.Join(repoRoot(), "policies", "*", "policy.yaml"))
	if !strings.Contains(r.stdout, fmt.Sprintf("PASS: %d policies, ", len(library))) || !strings.Contains(r.stdout, " 0 failed") {
		t.Errorf("summary:\n%s", tail(r.stdout, 3))
	}
	for _, want := range []string{"PASS   no-host-pid", "  compile\n", "  test isms.library.no_host_pid_test.test_", "  example allowed/deployment.yaml\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The same library from its directory, filtered.
	r = kubectlISMS(t, "", "test", filepath.Join(repoRoot(), "policies"), "--run", "^no-host-pid$", "-q")
	r.expectCode(t, 0)
	if strings.TrimSpace(r.stdout) == "" || strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 || !strings.HasPrefix(r.stdout, "PASS: 1 policies") {
		t.Errorf("quiet output of a passing policy is the summary only:\n%s", r.stdout)
	}
}

func TestTestFailures(t *testing.T) {
	r := kubectlISMS(t, "", "test", "testdata/broken-library")
	r.expectCode(t, 1)
	for _, want := range []string{
		"FAIL   bad-policy        test isms.library.bad_policy_test.test_wrong_expectation\n",
		"PASS   bad-policy        test isms.library.bad_policy_test.test_labelled_passes\n",
		"FAIL   bad-policy        example allowed/unlabelled-but-allowed.yaml\n",
		"- Deployment payments/web has no team label\n",
		"FAIL   sandboxed-policy  compile\n",
		"undefined function http.send",
		"FAIL: 2 policies, 4 passed, 3 failed, 0 skipped\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = kubectlISMS(t, "", "test", "testdata/broken-library", "-o", "json")
	r.expectCode(t, 1)
	var report struct {
		Library  string `json:"library"`
		Passed   int    `json:"passed"`
		Failed   int    `json:"failed"`
		Skipped  int    `json:"skipped"`
		Policies []struct {
			Name         string   `json:"name"`
			Dir          string   `json:"dir"`
			CompileError string   `json:"compileError"`
			Errors       []string `json:"errors"`
			Tests        []struct {
				Name     string `json:"name"`
				Location string `json:"location"`
				Pass     bool   `json:"pass"`
				Skip     bool   `json:"skip"`
				Error    string `json:"error"`
				Duration int64  `json:"duration"`
			} `json:"tests"`
			Examples []struct {
				Path       string   `json:"path"`
				Allowed    bool     `json:"allowed"`
				Pass       bool     `json:"pass"`
				Violations []string `json:"violations"`
				Problem    string   `json:"problem"`
			} `json:"examples"`
		} `json:"policies"`
	}
	decodeStrict(t, []byte(r.stdout), &report)
	if report.Passed != 4 || report.Failed != 3 || len(report.Policies) != 2 || report.Policies[1].CompileError == "" {
		t.Errorf("report: %+v", report)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"test", "testdata/nope"}, "testdata/nope is not a directory"},
		{[]string{"test", "testdata/manifests"}, "no policy to test in testdata/manifests"}, // no policy directory
		{[]string{"test", "--run", "^nothing$"}, "no policy to test"},
		{[]string{"test", "--run", "("}, "--run: error parsing regexp"},
		{[]string{"test", "a", "b"}, "accepts at most 1 argument(s)"},
	} {
		r := kubectlISMS(t, "", tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func TestStatusWithoutCluster(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := kubectlISMS(t, "", "status", "--kubeconfig", kubeconfig)
	r.expectCode(t, 1)
	if !strings.Contains(r.stderr, "127.0.0.1:1") {
		t.Errorf("stderr does not say which cluster could not be read: %s", r.stderr)
	}
	r = kubectlISMS(t, "", "status", "--kubeconfig", kubeconfig, "--context", "missing")
	r.expectCode(t, 1)
	if !strings.Contains(r.stderr, `context "missing" does not exist`) {
		t.Errorf("stderr: %s", r.stderr)
	}
	kubectlISMS(t, "", "status", "-o", "xml").expectCode(t, 2)
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
