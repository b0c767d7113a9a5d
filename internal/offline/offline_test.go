package offline

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/policies"
)

const privilegedRego = `package t.privileged

violation contains {"msg": msg} if {
	some c in input.review.object.spec.template.spec.containers
	c.securityContext.privileged
	msg := sprintf("container %q runs privileged", [c.name])
}
`

const networkPolicyRego = `package t.netpol

violation contains {"msg": sprintf("Namespace %q has no NetworkPolicy", [name])} if {
	name := input.review.object.metadata.name
	count(object.get(data.inventory, ["namespace", name, "networking.k8s.io/v1", "NetworkPolicy"], {})) == 0
}
`

const replicasRego = `package t.replicas

violation contains {"msg": sprintf("%d replicas, want %d", [n, input.parameters.min])} if {
	n := object.get(input.review.object.spec, "replicas", 1)
	n < input.parameters.min
}
`

// conflictRego fails to evaluate on Deployments named "conflict": two values for one rule.
const conflictRego = `package t.conflict

x := 1 if input.review.object.metadata.name == "conflict"
x := 2 if input.review.object.kind == "Deployment"

violation contains {"msg": "never"} if x == 3
`

func control(name, severity, rego string, targets ismsv1.Targets, mutate ...func(*ismsv1.Control)) ismsv1.Control {
	c := ismsv1.Control{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: ismsv1.ControlSpec{
			ID: strings.ToUpper(name), Title: name, Owner: "test", Severity: ismsv1.Severity(severity),
			Targets: targets, Policy: ismsv1.PolicySource{Rego: rego},
		},
	}
	for _, m := range mutate {
		m(&c)
	}
	return c
}

// refControl is a Control on Deployments that applies the Policy policyName.
func refControl(name, policyName, parameters string) ismsv1.Control {
	return control(name, "high", "", deployments, func(c *ismsv1.Control) {
		c.Spec.Policy = ismsv1.PolicySource{Ref: &ismsv1.PolicyReference{Name: policyName}}
		if parameters != "" {
			c.Spec.Parameters = &apiextensionsv1.JSON{Raw: []byte(parameters)}
		}
	})
}

func sharedPolicy(name, rego, schema string) ismsv1.Policy {
	p := ismsv1.Policy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: ismsv1.PolicySpec{Rego: rego}}
	if schema != "" {
		p.Spec.ParametersSchema = &apiextensionsv1.JSON{Raw: []byte(schema)}
	}
	return p
}

var (
	deployments = ismsv1.Targets{Kinds: []ismsv1.KindSelector{{APIGroups: []string{"apps"}, Kinds: []string{"Deployment"}}}}
	namespaces  = ismsv1.Targets{Kinds: []ismsv1.KindSelector{{APIGroups: []string{""}, Kinds: []string{"Namespace"}}}}
)

func objects(t *testing.T, yamlText string) []*unstructured.Unstructured {
	t.Helper()
	docs, err := policies.DecodeDocuments([]byte(yamlText))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*unstructured.Unstructured, len(docs))
	for i, d := range docs {
		out[i] = &unstructured.Unstructured{Object: d}
	}
	return out
}

const manifests = `
apiVersion: v1
kind: Namespace
metadata: {name: payments, labels: {env: prod}}
---
apiVersion: v1
kind: Namespace
metadata: {name: sandbox, labels: {env: dev}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: payments}
spec: {podSelector: {}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: payments}
spec:
  replicas: 3
  template:
    spec:
      containers:
      - {name: app, image: app:1, securityContext: {privileged: true}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: payments}
spec:
  template:
    spec:
      containers: [{name: web, image: web:1}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: toy, namespace: sandbox}
spec:
  template:
    spec:
      containers:
      - {name: toy, image: toy:1, securityContext: {privileged: true}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: payments}
data: {a: b}
`

type want struct {
	result    ismsv1.ControlResult
	reason    string
	evaluated int
	failing   int
	errored   int
	// failures are "findingNamespace: Kind namespace/name" entries.
	failures []string
	// excepted are "findingNamespace: Kind namespace/name by exception" entries.
	excepted []string
	message  string // a substring of the message
}

var exceptionsNow = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// controlException is an exception approved a day before exceptionsNow, expiring after
// lifetime (negative: expired by then).
func controlException(name string, lifetime time.Duration, subjects ismsv1.ExceptionSubjects, controls ...string) ismsv1.ControlException {
	return ismsv1.ControlException{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: ismsv1.ControlExceptionSpec{
			Controls: controls, Subjects: subjects, Justification: "vendor image", ApprovedBy: "ciso",
			ApprovedAt: metav1.NewTime(exceptionsNow.Add(-24 * time.Hour)), ExpiresAt: metav1.NewTime(exceptionsNow.Add(lifetime)),
		},
	}
}

// evaluateCase is a case of TestEvaluate.
type evaluateCase struct {
	name     string
	controls []ismsv1.Control
	objects  string
	opts     Options
	want     map[string]want
	objs     int
	ignored  int
}

func TestEvaluate(t *testing.T) {
	tests := []evaluateCase{
		{
			name:     "a failing and a passing workload",
			controls: []ismsv1.Control{control("priv", "high", privilegedRego, deployments)},
			objects:  manifests,
			want: map[string]want{"priv": {result: ismsv1.ResultFail, reason: ismsv1.ReasonSubjectsFailing, evaluated: 3, failing: 2,
				failures: []string{"payments: Deployment payments/api", "sandbox: Deployment sandbox/toy"}, message: "2 of 3 subjects fail"}},
			objs: 5, ignored: 2,
		},
		{
			name: "namespaceSelector scopes by the labels of Namespaces among the manifests",
			controls: []ismsv1.Control{control("priv-prod", "high", privilegedRego, deployments, func(c *ismsv1.Control) {
				c.Spec.Targets.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
			})},
			objects: manifests,
			want: map[string]want{"priv-prod": {result: ismsv1.ResultFail, evaluated: 2, failing: 1,
				failures: []string{"payments: Deployment payments/api"}}},
			objs: 5, ignored: 2,
		},
		{
			name: "excludedNamespaces and labelSelector",
			controls: []ismsv1.Control{
				control("priv-excl", "high", privilegedRego, deployments, func(c *ismsv1.Control) {
					c.Spec.Targets.ExcludedNamespaces = []string{"payments"}
				}),
				control("priv-label", "high", privilegedRego, deployments, func(c *ismsv1.Control) {
					c.Spec.Targets.LabelSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "none"}}
				}),
			},
			objects: manifests,
			want: map[string]want{
				"priv-excl":  {result: ismsv1.ResultFail, evaluated: 1, failing: 1, failures: []string{"sandbox: Deployment sandbox/toy"}},
				"priv-label": {result: ismsv1.ResultNotApplicable, reason: ismsv1.ReasonNoSubjects},
			},
			objs: 5, ignored: 2,
		},
		{
			name: "inventory: cluster-scoped subjects fail into the operator's namespace",
			controls: []ismsv1.Control{control("netpol", "medium", networkPolicyRego, namespaces, func(c *ismsv1.Control) {
				c.Spec.Inventory = []ismsv1.KindSelector{{APIGroups: []string{"networking.k8s.io"}, Kinds: []string{"NetworkPolicy"}}}
			})},
			objects: manifests,
			opts:    Options{ClusterNamespace: "ops"},
			want: map[string]want{"netpol": {result: ismsv1.ResultFail, evaluated: 2, failing: 1,
				failures: []string{"ops: Namespace /sandbox"}}},
			objs: 3, ignored: 4,
		},
		{
			name: "a policy that reads a kind spec.inventory does not list is refused, as the operator refuses it",
			// Without spec.inventory the NetworkPolicy is not in data.inventory: every Namespace
			// would fail for want of one that exists.
			controls: []ismsv1.Control{control("netpol", "medium", networkPolicyRego, namespaces)},
			objects:  manifests,
			want: map[string]want{"netpol": {result: ismsv1.ResultError, reason: ismsv1.ReasonInventoryNotListed,
				message: `reads NetworkPolicy (networking.k8s.io/v1) from data.inventory, which holds only the kinds spec.inventory lists, ` +
					`so it would find nothing there. Add to spec.inventory: {apiGroups: ["networking.k8s.io"], kinds: ["NetworkPolicy"]}`}},
			objs: 2, ignored: 5,
		},
		{
			name: "a compile error is the control's Error, the others are still evaluated",
			controls: []ismsv1.Control{
				control("broken", "critical", "package t.broken\n\nviolation contains x if {", deployments),
				control("no-violation", "low", "package t.x\n\nallow := true\n", deployments),
				control("sandboxed", "low", "package t.net\n\nviolation contains {\"msg\": r} if r := http.send({})\n", deployments),
				control("priv", "high", privilegedRego, deployments),
			},
			objects: manifests,
			want: map[string]want{
				"broken":       {result: ismsv1.ResultError, reason: ismsv1.ReasonCompileError, message: "policy.rego"},
				"no-violation": {result: ismsv1.ResultError, reason: ismsv1.ReasonCompileError, message: `defines no "violation" rule`},
				"sandboxed":    {result: ismsv1.ResultError, reason: ismsv1.ReasonCompileError, message: "http.send"},
				"priv":         {result: ismsv1.ResultFail, evaluated: 3, failing: 2, failures: []string{"payments: Deployment payments/api", "sandbox: Deployment sandbox/toy"}},
			},
			objs: 5, ignored: 2,
		},
		{
			name: "an invalid selector is the control's Error",
			controls: []ismsv1.Control{control("bad-selector", "high", privilegedRego, deployments, func(c *ismsv1.Control) {
				c.Spec.Targets.LabelSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}}
			})},
			objects: manifests,
			want:    map[string]want{"bad-selector": {result: ismsv1.ResultError, reason: ismsv1.ReasonTargetsUnresolved, message: "labelSelector"}},
			objs:    2, ignored: 5,
		},
		{
			name: "parameters reach the policy",
			controls: []ismsv1.Control{control("replicas", "medium", replicasRego, deployments, func(c *ismsv1.Control) {
				c.Spec.Parameters = &apiextensionsv1.JSON{Raw: []byte(`{"min": 2}`)}
			})},
			objects: manifests,
			want: map[string]want{"replicas": {result: ismsv1.ResultFail, evaluated: 3, failing: 2,
				failures: []string{"payments: Deployment payments/web", "sandbox: Deployment sandbox/toy"}}},
			objs: 5, ignored: 2,
		},
		{
			name: "spec.policy.ref resolves against the Policies given, parameters checked against their schema",
			controls: []ismsv1.Control{
				refControl("ref-ok", "replicas", `{"min": 2}`),
				refControl("ref-bad-params", "replicas", `{"min": "two"}`),
				refControl("ref-no-params", "replicas", ""),
				refControl("ref-missing", "nope", ""),
				refControl("ref-broken", "broken", ""),
				refControl("ref-bad-schema", "bad-schema", ""),
			},
			opts: Options{Policies: []ismsv1.Policy{
				sharedPolicy("replicas", replicasRego, `{"type": "object", "required": ["min"], "properties": {"min": {"type": "integer", "minimum": 1}}}`),
				sharedPolicy("broken", "package t.broken\n\nviolation contains x if {", ""),
				sharedPolicy("bad-schema", replicasRego, `{"type": "array"}`),
			}},
			objects: manifests,
			want: map[string]want{
				"ref-ok": {result: ismsv1.ResultFail, evaluated: 3, failing: 2,
					failures: []string{"payments: Deployment payments/web", "sandbox: Deployment sandbox/toy"}},
				"ref-bad-params": {result: ismsv1.ResultError, reason: ismsv1.ReasonInvalidParameters, message: "spec.parameters.min: Invalid value"},
				"ref-no-params":  {result: ismsv1.ResultError, reason: ismsv1.ReasonInvalidParameters, message: "spec.parameters.min: Required value"},
				"ref-missing":    {result: ismsv1.ResultError, reason: ismsv1.ReasonPolicyNotFound, message: "Policy nope (spec.policy.ref) does not exist"},
				"ref-broken":     {result: ismsv1.ResultError, reason: ismsv1.ReasonCompileError, message: "Policy broken: 1 error occurred: policy.rego:3: rego_parse_error"},
				"ref-bad-schema": {result: ismsv1.ResultError, reason: ismsv1.ReasonInvalidSchema, message: "Policy bad-schema: parametersSchema"},
			},
			objs: 5, ignored: 2,
		},
		{
			name:     "subjects that cannot be evaluated make the control's Error",
			controls: []ismsv1.Control{control("conflict", "high", conflictRego, deployments)},
			objects: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: conflict, namespace: a}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: fine, namespace: a}
`,
			want: map[string]want{"conflict": {result: ismsv1.ResultError, reason: ismsv1.ReasonEvaluationError, evaluated: 2, errored: 1,
				message: "Deployment a/conflict"}},
			objs: 2,
		},
		{
			name:     "no objects: NotApplicable",
			controls: []ismsv1.Control{control("priv", "high", privilegedRego, deployments)},
			want:     map[string]want{"priv": {result: ismsv1.ResultNotApplicable, reason: ismsv1.ReasonNoSubjects}},
		},
		{
			name:     "namespaced objects without a namespace get the default one; the last duplicate wins",
			controls: []ismsv1.Control{control("priv", "high", privilegedRego, deployments)},
			opts:     Options{DefaultNamespace: "default"},
			objects: `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec: {template: {spec: {containers: [{name: a, securityContext: {privileged: true}}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team}
spec: {template: {spec: {containers: [{name: a, securityContext: {privileged: true}}]}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team}
spec: {template: {spec: {containers: [{name: a}]}}}
`,
			want: map[string]want{"priv": {result: ismsv1.ResultFail, evaluated: 2, failing: 1,
				failures: []string{"default: Deployment default/api"}}},
			objs: 2,
		},
	}
	tests = append(tests, exceptionCases()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := objects(t, tc.objects)
			before, _ := json.Marshal(objectsOf(objs))
			report, err := Evaluate(context.Background(), tc.controls, objs, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := json.Marshal(objectsOf(objs)); string(after) != string(before) {
				t.Error("Evaluate modified its input objects")
			}
			if report.Objects != tc.objs || report.Ignored != tc.ignored {
				t.Errorf("objects %d, ignored %d; want %d, %d", report.Objects, report.Ignored, tc.objs, tc.ignored)
			}
			if len(report.Controls) != len(tc.want) {
				t.Fatalf("%d control results, want %d", len(report.Controls), len(tc.want))
			}
			for _, got := range report.Controls {
				w, ok := tc.want[got.Name]
				if !ok {
					t.Errorf("unexpected control %q", got.Name)
					continue
				}
				if got.Result != w.result || got.Evaluated != w.evaluated || got.Failing != w.failing || got.Errored != w.errored {
					t.Errorf("%s: %s evaluated=%d failing=%d errored=%d; want %s %d %d %d (%s)", got.Name,
						got.Result, got.Evaluated, got.Failing, got.Errored, w.result, w.evaluated, w.failing, w.errored, got.Message)
				}
				if w.reason != "" && got.Reason != w.reason {
					t.Errorf("%s: reason %s, want %s", got.Name, got.Reason, w.reason)
				}
				if !strings.Contains(got.Message, w.message) {
					t.Errorf("%s: message %q does not contain %q", got.Name, got.Message, w.message)
				}
				var failures []string
				for _, ns := range got.Namespaces {
					for _, s := range ns.Subjects {
						failures = append(failures, ns.Namespace+": "+s.Kind+" "+s.Namespace+"/"+s.Name)
						if len(s.Messages) == 0 {
							t.Errorf("%s: %s %s has no message", got.Name, s.Kind, s.Name)
						}
					}
				}
				if !slices.Equal(failures, w.failures) {
					t.Errorf("%s: failures %q, want %q", got.Name, failures, w.failures)
				}
				var excepted []string
				for _, ns := range got.Namespaces {
					for _, s := range ns.Excepted {
						excepted = append(excepted, ns.Namespace+": "+s.Kind+" "+s.Namespace+"/"+s.Name+" by "+s.Exception)
					}
				}
				if !slices.Equal(excepted, w.excepted) || got.Excepted != len(w.excepted) {
					t.Errorf("%s: %d excepted %q, want %q", got.Name, got.Excepted, excepted, w.excepted)
				}
				if got.Failing != len(got.FailingSubjects()) {
					t.Errorf("%s: failing %d but %d subjects listed", got.Name, got.Failing, len(got.FailingSubjects()))
				}
				if got.Result != ismsv1.ResultError || !notDefined[got.Reason] {
					if !strings.HasPrefix(got.PolicyDigest, "sha256:") {
						t.Errorf("%s: policyDigest %q", got.Name, got.PolicyDigest)
					}
				}
			}
		})
	}
}

// exceptionCases apply ControlExceptions as the operator does: active ones exempt the subjects
// they select from the controls they name, at Options.Now.
func exceptionCases() []evaluateCase {
	priv := []ismsv1.Control{control("priv", "high", privilegedRego, deployments)}
	clock := func() time.Time { return exceptionsNow }
	sandbox := ismsv1.ExceptionSubjects{Namespaces: []string{"sandbox"}}
	unlabelled := ismsv1.ExceptionSubjects{LabelSelector: &metav1.LabelSelector{
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpDoesNotExist}}}}
	api := ismsv1.ExceptionSubjects{Objects: []ismsv1.ExceptedObject{{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "payments", Name: "api"}}}
	bothFail := want{result: ismsv1.ResultFail, evaluated: 3, failing: 2,
		failures: []string{"payments: Deployment payments/api", "sandbox: Deployment sandbox/toy"}}
	return []evaluateCase{
		{
			name: "an active exception of a namespace", controls: priv, objects: manifests, objs: 5, ignored: 2,
			opts: Options{Now: clock, Exceptions: []ismsv1.ControlException{controlException("sandbox", time.Hour, sandbox, "priv")}},
			want: map[string]want{"priv": {result: ismsv1.ResultFail, evaluated: 3, failing: 1, message: "1 of 3 subjects fail",
				failures: []string{"payments: Deployment payments/api"}, excepted: []string{"sandbox: Deployment sandbox/toy by sandbox"}}},
		},
		{
			name: "every failure excepted, by a label selector and a named object: Pass", controls: priv, objects: manifests, objs: 5, ignored: 2,
			opts: Options{Now: clock, Exceptions: []ismsv1.ControlException{
				controlException("b-unlabelled", time.Hour, unlabelled, "priv"), controlException("a-api", time.Hour, api, "other", "priv")}},
			want: map[string]want{"priv": {result: ismsv1.ResultPass, reason: ismsv1.ReasonAllSubjectsPass, evaluated: 3, excepted: []string{
				"payments: Deployment payments/api by a-api", "sandbox: Deployment sandbox/toy by b-unlabelled"}}},
		},
		{
			name: "an expired exception exempts nothing", controls: priv, objects: manifests, objs: 5, ignored: 2, want: map[string]want{"priv": bothFail},
			opts: Options{Now: clock, Exceptions: []ismsv1.ControlException{controlException("sandbox", -time.Second, sandbox, "priv")}},
		},
		{
			name: "an exception of another control exempts nothing", controls: priv, objects: manifests, objs: 5, ignored: 2, want: map[string]want{"priv": bothFail},
			opts: Options{Now: clock, Exceptions: []ismsv1.ControlException{controlException("sandbox", time.Hour, sandbox, "other")}},
		},
	}
}

// notDefined are the reasons of a Control that has no compiled policy, hence no digest.
var notDefined = map[string]bool{
	ismsv1.ReasonCompileError: true, ismsv1.ReasonPolicyNotFound: true,
	ismsv1.ReasonInvalidParameters: true, ismsv1.ReasonInvalidSchema: true,
	ismsv1.ReasonInventoryNotListed: true,
}

func objectsOf(us []*unstructured.Unstructured) []map[string]any {
	out := make([]map[string]any, len(us))
	for i, u := range us {
		out[i] = u.Object
	}
	return out
}

func TestSecretsAreRedactedAndCRDScopeIsRead(t *testing.T) {
	objs := objects(t, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec: {group: example.com, scope: Cluster, names: {kind: Widget, plural: widgets}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: example.com/v1
kind: Gadget
metadata: {name: g}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: a}
data: {password: aHVudGVyMg==}
`)
	c := control("secret-values", "high", `package t.secret

violation contains {"msg": sprintf("%s %s: %v", [input.review.object.kind, input.review.object.metadata.name, object.get(input.review.object, "data", {})])} if true
`, ismsv1.Targets{Kinds: []ismsv1.KindSelector{
		{APIGroups: []string{""}, Kinds: []string{"Secret"}},
		{APIGroups: []string{"example.com"}, Kinds: []string{"Widget", "Gadget"}},
	}})
	report, err := Evaluate(context.Background(), []ismsv1.Control{c}, objs, Options{DefaultNamespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	r := report.Controls[0]
	var got []string
	for _, s := range r.FailingSubjects() {
		got = append(got, s.Kind+" "+s.Namespace+"/"+s.Name+" "+strings.Join(s.Messages, ";"))
	}
	// By the namespace of their Finding: a, default, isms-system.
	want := []string{
		`Secret a/s Secret s: {"password": ""}`,
		`Gadget default/g Gadget g: {}`, // unknown kinds are taken as namespaced
		`Widget /w Widget w: {}`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestThreshold(t *testing.T) {
	if _, err := ParseThreshold("severe"); err == nil {
		t.Error("severe accepted")
	}
	for _, tc := range []struct {
		threshold string
		severity  ismsv1.Severity
		result    ismsv1.ControlResult
		breaches  bool
	}{
		{"high", ismsv1.SeverityCritical, ismsv1.ResultFail, true},
		{"high", ismsv1.SeverityHigh, ismsv1.ResultFail, true},
		{"high", ismsv1.SeverityMedium, ismsv1.ResultFail, false},
		{"high", ismsv1.SeverityHigh, ismsv1.ResultError, true},
		{"high", ismsv1.SeverityHigh, ismsv1.ResultPass, false},
		{"high", ismsv1.SeverityHigh, ismsv1.ResultNotApplicable, false},
		{"info", ismsv1.SeverityInfo, ismsv1.ResultFail, true},
		{"none", ismsv1.SeverityCritical, ismsv1.ResultFail, false},
	} {
		th, err := ParseThreshold(tc.threshold)
		if err != nil {
			t.Fatal(err)
		}
		if got := th.Breaches(ControlResult{Severity: tc.severity, Result: tc.result}); got != tc.breaches {
			t.Errorf("--fail-on=%s, %s %s: breaches %v, want %v", tc.threshold, tc.severity, tc.result, got, tc.breaches)
		}
	}
}
