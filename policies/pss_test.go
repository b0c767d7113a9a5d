package policies_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/policies"
)

// The Pod Security Standards (Kubernetes v1.37), control by control: each control names the
// library policies that implement it and cases that set one field of a compliant Pod, at every
// level where the field exists (the pod spec, its metadata, or a container of each kind), to an
// allowed or a disallowed value. TestPodSecurityStandards evaluates every case through the
// operator's engine; policies/README.md's table must name the same controls and policies.

// A pssCase sets path under level of the base Pod to value (JSON; "" removes the field).
type pssCase struct {
	level   string // "spec", "metadata", or a container kind: containers, initContainers, ephemeralContainers
	path    []string
	value   string
	allowed bool
}

type pssControl struct {
	control  string
	profile  string
	policies []string
	// params override the policy's default parameters (policy.yaml).
	params map[string]any
	cases  []pssCase
}

var (
	allContainers = []string{"containers", "initContainers", "ephemeralContainers"}
	// Ephemeral containers cannot declare ports, probes or lifecycle hooks.
	notEphemeral = []string{"containers", "initContainers"}
	podAndAll    = append([]string{"spec"}, allContainers...)
)

// at returns, for each level, a case per allowed and per disallowed value.
func at(levels []string, path []string, allowed, disallowed []string) []pssCase {
	var out []pssCase
	for _, l := range levels {
		for _, v := range allowed {
			out = append(out, pssCase{l, path, v, true})
		}
		for _, v := range disallowed {
			out = append(out, pssCase{l, path, v, false})
		}
	}
	return out
}

func p(path ...string) []string { return path }

const unset = ""

// baselineCapabilities is the baseline profile's list of capabilities a container may add.
var baselineCapabilities = []any{"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}

var pssControls = []pssControl{
	{control: "HostProcess", profile: "baseline", policies: []string{"no-host-process"},
		cases: at(podAndAll, p("securityContext", "windowsOptions", "hostProcess"), []string{unset, "false", "null"}, []string{"true"})},
	{control: "Host Namespaces", profile: "baseline", policies: []string{"no-host-network", "no-host-pid", "no-host-ipc"},
		cases: slices.Concat(
			at([]string{"spec"}, p("hostNetwork"), []string{unset, "false", "null"}, []string{"true"}),
			at([]string{"spec"}, p("hostPID"), []string{unset, "false", "null"}, []string{"true"}),
			at([]string{"spec"}, p("hostIPC"), []string{unset, "false", "null"}, []string{"true"}))},
	{control: "Privileged Containers", profile: "baseline", policies: []string{"no-privileged-containers"},
		cases: at(allContainers, p("securityContext", "privileged"), []string{unset, "false", "null"}, []string{"true"})},
	{control: "Capabilities", profile: "baseline", policies: []string{"restrict-added-capabilities"},
		params: map[string]any{"allowedCapabilities": baselineCapabilities},
		cases: at(allContainers, p("securityContext", "capabilities", "add"),
			[]string{unset, "[]", `["CHOWN", "KILL", "NET_BIND_SERVICE"]`}, []string{`["NET_RAW"]`, `["SYS_ADMIN"]`, `["CHOWN", "NET_ADMIN"]`})},
	{control: "HostPath Volumes", profile: "baseline", policies: []string{"no-host-path-volumes"},
		cases: at([]string{"spec"}, p("volumes"),
			[]string{`[{"name": "tmp", "emptyDir": {}}]`, `[{"name": "tmp", "hostPath": null, "emptyDir": {}}]`},
			[]string{`[{"name": "logs", "hostPath": {"path": "/var/log"}}]`})},
	{control: "Host Ports", profile: "baseline", policies: []string{"no-host-ports"},
		cases: at(notEphemeral, p("ports"),
			[]string{`[{"containerPort": 8080}]`, `[{"containerPort": 8080, "hostPort": 0}]`}, []string{`[{"containerPort": 8080, "hostPort": 8080}]`})},
	{control: "Host Probes / Lifecycle Hooks", profile: "baseline", policies: []string{"no-probe-host"},
		cases: slices.Concat(
			at(notEphemeral, p("livenessProbe"), []string{`{"httpGet": {"port": 8080}}`, `{"httpGet": {"port": 8080, "host": ""}}`}, []string{`{"httpGet": {"port": 8080, "host": "10.0.0.1"}}`}),
			at(notEphemeral, p("readinessProbe"), []string{`{"tcpSocket": {"port": 8080}}`}, []string{`{"tcpSocket": {"port": 8080, "host": "10.0.0.1"}}`}),
			at(notEphemeral, p("startupProbe"), []string{`{"httpGet": {"port": 8080, "host": null}}`}, []string{`{"httpGet": {"port": 8080, "host": "example.com"}}`}),
			at(notEphemeral, p("lifecycle"), []string{`{"preStop": {"httpGet": {"port": 8080}}}`}, []string{`{"postStart": {"httpGet": {"port": 8080, "host": "10.0.0.1"}}}`, `{"preStop": {"tcpSocket": {"port": 8080, "host": "10.0.0.1"}}}`}))},
	{control: "AppArmor", profile: "baseline", policies: []string{"restrict-apparmor-profile"},
		cases: slices.Concat(
			at(podAndAll, p("securityContext", "appArmorProfile"),
				[]string{unset, "null", `{"type": "RuntimeDefault"}`, `{"type": "Localhost", "localhostProfile": "k8s-apparmor-example"}`}, []string{`{"type": "Unconfined"}`}),
			at([]string{"metadata"}, p("annotations", "container.apparmor.security.beta.kubernetes.io/app"),
				[]string{unset, `""`, `"runtime/default"`, `"localhost/k8s-apparmor-example"`}, []string{`"unconfined"`}))},
	{control: "SELinux", profile: "baseline", policies: []string{"restrict-selinux-options"},
		cases: at(podAndAll, p("securityContext", "seLinuxOptions"),
			[]string{unset, "null", `{"type": ""}`, `{"type": "container_t"}`, `{"type": "container_init_t"}`, `{"type": "container_kvm_t"}`, `{"type": "container_engine_t"}`, `{"level": "s0:c123,c456"}`, `{"user": "", "role": null}`},
			[]string{`{"type": "spc_t"}`, `{"user": "system_u"}`, `{"role": "system_r"}`})},
	{control: "/proc Mount Type", profile: "baseline", policies: []string{"default-proc-mount"},
		cases: at(allContainers, p("securityContext", "procMount"), []string{unset, "null", `"Default"`}, []string{`"Unmasked"`})},
	{control: "Seccomp", profile: "baseline", policies: []string{"require-seccomp-profile"},
		params: map[string]any{"mode": "baseline"},
		cases: slices.Concat(
			at(podAndAll, p("securityContext", "seccompProfile"),
				[]string{unset, "null", `{"type": "RuntimeDefault"}`, `{"type": "Localhost", "localhostProfile": "profiles/audit.json"}`}, []string{`{"type": "Unconfined"}`}))},
	{control: "Sysctls", profile: "baseline", policies: []string{"restrict-sysctls"},
		cases: at([]string{"spec"}, p("securityContext", "sysctls"),
			[]string{unset, "[]", `[{"name": "net.ipv4.tcp_syncookies", "value": "1"}]`, `[{"name": "net.ipv4.tcp_notsent_lowat", "value": "16384"}]`},
			[]string{`[{"name": "kernel.msgmax", "value": "65536"}]`, `[{"name": "net.core.somaxconn", "value": "1024"}]`})},
	{control: "Volume Types", profile: "restricted", policies: []string{"restrict-volume-types"},
		cases: at([]string{"spec"}, p("volumes"),
			[]string{`[{"name": "a", "configMap": {"name": "c"}}, {"name": "b", "csi": {"driver": "d"}}, {"name": "c", "downwardAPI": {}}, {"name": "d", "emptyDir": {}}, {"name": "e", "ephemeral": {}}, {"name": "f", "image": {"reference": "r"}}, {"name": "g", "persistentVolumeClaim": {"claimName": "c"}}, {"name": "h", "projected": {"sources": []}}, {"name": "i", "secret": {"secretName": "s"}}]`},
			[]string{`[{"name": "a", "hostPath": {"path": "/"}}]`, `[{"name": "a", "nfs": {"server": "s", "path": "/"}}]`, `[{"name": "a", "iscsi": {"targetPortal": "t", "iqn": "i", "lun": 0}}]`, `[{"name": "a", "gitRepo": {"repository": "r"}}]`})},
	{control: "Privilege Escalation", profile: "restricted", policies: []string{"no-privilege-escalation"},
		cases: at(allContainers, p("securityContext", "allowPrivilegeEscalation"), []string{"false"}, []string{unset, "null", "true"})},
	{control: "Running as Non-root", profile: "restricted", policies: []string{"run-as-non-root"},
		cases: slices.Concat(
			at([]string{"spec"}, p("securityContext", "runAsNonRoot"), []string{"true"}, []string{unset, "null", "false"}),
			at(allContainers, p("securityContext", "runAsNonRoot"), []string{unset, "null", "true"}, []string{"false"}))},
	{control: "Running as Non-root user", profile: "restricted", policies: []string{"no-root-user"},
		cases: at(podAndAll, p("securityContext", "runAsUser"), []string{unset, "null", "10001"}, []string{"0"})},
	{control: "Seccomp (restricted)", profile: "restricted", policies: []string{"require-seccomp-profile"},
		cases: slices.Concat(
			at([]string{"spec"}, p("securityContext", "seccompProfile"),
				[]string{`{"type": "RuntimeDefault"}`, `{"type": "Localhost", "localhostProfile": "profiles/audit.json"}`}, []string{unset, "null", `{"type": "Unconfined"}`}),
			at(allContainers, p("securityContext", "seccompProfile"),
				[]string{unset, "null", `{"type": "RuntimeDefault"}`, `{"type": "Localhost", "localhostProfile": "profiles/audit.json"}`}, []string{`{"type": "Unconfined"}`}))},
	{control: "Capabilities (restricted)", profile: "restricted", policies: []string{"drop-all-capabilities", "restrict-added-capabilities"},
		cases: slices.Concat(
			at(allContainers, p("securityContext", "capabilities"),
				[]string{`{"drop": ["ALL"]}`, `{"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}`},
				[]string{`{}`, `{"drop": ["NET_RAW"]}`, `{"drop": ["ALL"], "add": ["CHOWN"]}`}))},
}

// basePod complies with every control of the restricted profile.
const basePod = `
apiVersion: v1
kind: Pod
metadata:
  name: pss
  namespace: payments
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    seccompProfile:
      type: RuntimeDefault
  containers:
  - name: app
    image: registry.example.com/payments/api:1.0.0
    securityContext: &restricted
      allowPrivilegeEscalation: false
      capabilities:
        drop: [ALL]
  initContainers:
  - name: setup
    image: registry.example.com/payments/setup:1.0.0
    securityContext: *restricted
  ephemeralContainers:
  - name: debugger
    image: registry.example.com/tools/debug:1.0.0
    securityContext: *restricted
  volumes:
  - name: tmp
    emptyDir: {}
`

func TestPodSecurityStandards(t *testing.T) {
	lib, err := policies.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*policies.Policy{}
	for i := range lib {
		byName[lib[i].Name] = &lib[i]
	}
	ctx := context.Background()
	engine := policy.NewEngine(policy.NewInventory(), policy.Options{})
	for _, c := range pssControls {
		for _, name := range c.policies {
			lp, ok := byName[name]
			if !ok {
				t.Fatalf("%s: no policy %s in the library", c.control, name)
			}
			compiled, err := engine.Compile(ctx, lp.Rego.Text)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			params := maps.Clone(lp.Metadata.Parameters)
			if params == nil {
				params = map[string]any{}
			}
			maps.Copy(params, c.params)
			t.Run(c.control+"/"+name, func(t *testing.T) {
				if n := violationCount(t, compiled, mustDecode(t, basePod), params); n != 0 {
					t.Fatalf("the compliant base Pod has %d violation(s)", n)
				}
				for _, pc := range c.cases {
					obj := mustDecode(t, basePod)
					setField(t, obj, pc)
					n := violationCount(t, compiled, obj, params)
					if pc.allowed != (n == 0) && relevant(name, pc) {
						t.Errorf("%s.%s = %s: %d violation(s), want allowed=%v", pc.level, strings.Join(pc.path, "."), orUnset(pc.value), n, pc.allowed)
					}
				}
			})
		}
	}
}

// relevant filters the cases of a control with several policies to those of the policy: each
// host namespace is one policy, and of the two restricted capability policies only
// restrict-added-capabilities reads add.
func relevant(policyName string, c pssCase) bool {
	switch policyName {
	case "no-host-network", "no-host-pid", "no-host-ipc":
		field := map[string]string{"no-host-network": "hostNetwork", "no-host-pid": "hostPID", "no-host-ipc": "hostIPC"}[policyName]
		return c.path[0] == field
	case "drop-all-capabilities":
		// {"drop": ["ALL"], "add": ["CHOWN"]} drops all: the other policy refuses it.
		return !strings.Contains(c.value, `"add"`)
	case "restrict-added-capabilities":
		// Without add, the drop list is the other policy's concern.
		return strings.Contains(c.value, `"add"`) || c.path[len(c.path)-1] == "add"
	}
	return true
}

func orUnset(v string) string {
	if v == unset {
		return "(unset)"
	}
	return v
}

func mustDecode(t *testing.T, doc string) map[string]any {
	t.Helper()
	docs, err := policies.DecodeDocuments([]byte(doc))
	if err != nil || len(docs) != 1 {
		t.Fatalf("decoding: %v", err)
	}
	return docs[0]
}

// setField sets (or removes) the case's field in obj.
func setField(t *testing.T, obj map[string]any, c pssCase) {
	t.Helper()
	spec := obj["spec"].(map[string]any)
	var m map[string]any
	switch c.level {
	case "spec":
		m = spec
	case "metadata":
		m = obj["metadata"].(map[string]any)
	default:
		m = spec[c.level].([]any)[0].(map[string]any)
	}
	for _, k := range c.path[:len(c.path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	last := c.path[len(c.path)-1]
	if c.value == unset {
		delete(m, last)
		return
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(c.value)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("case value %s: %v", c.value, err)
	}
	m[last] = v
}

func violationCount(t *testing.T, compiled *policy.Policy, obj, params map[string]any) int {
	t.Helper()
	conv := policy.NewConverter()
	value, err := conv.Convert(obj)
	if err != nil {
		t.Fatal(err)
	}
	pv, err := conv.Convert(params)
	if err != nil {
		t.Fatal(err)
	}
	res, err := compiled.Evaluate(context.Background(), policy.Input{Object: value, Parameters: pv})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Violations)
}

// TestPodSecurityStandardsTable checks that policies/README.md maps the same controls to the
// same policies as pssControls, so that the table a reader trusts is the one tested.
func TestPodSecurityStandardsTable(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "\n## Pod Security Standards\n")
	if !ok {
		t.Fatal(`README.md has no "## Pod Security Standards" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	policyName := regexp.MustCompile("`([a-z0-9-]+)`")
	inReadme := map[string][]string{}
	for _, line := range strings.Split(section, "\n") {
		cols := strings.Split(line, "|")
		if len(cols) < 5 || strings.HasPrefix(strings.TrimSpace(cols[1]), "---") || strings.TrimSpace(cols[1]) == "Control" {
			continue
		}
		control := strings.TrimSpace(cols[1]) + " (" + strings.TrimSpace(cols[2]) + ")"
		for _, m := range policyName.FindAllStringSubmatch(cols[3], -1) {
			inReadme[control] = append(inReadme[control], m[1])
		}
	}
	tested := map[string][]string{}
	for _, c := range pssControls {
		tested[c.control+" ("+c.profile+")"] = slices.Sorted(slices.Values(c.policies))
	}
	for k := range inReadme {
		slices.Sort(inReadme[k])
	}
	if !maps.EqualFunc(inReadme, tested, slices.Equal) {
		t.Errorf("the README's Pod Security Standards table does not match pssControls:\nREADME: %v\ntested: %v", inReadme, tested)
	}
}
