package controllers

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/argocdhealth"
)

// The Argo CD health scripts (config/argocd/resource_customizations) read the statuses the
// operator writes. These tests run them on objects in the states a user meets, as the API
// server serves them, so that a change of the status the scripts do not follow fails here.

// healthCase is one object, the state its status must settle in, and the health Argo CD must
// then show.
type healthCase struct {
	obj client.Object
	// settled reports, from the typed status, that the operator has written the state under
	// test; the script's verdict is not consulted.
	settled       func(obj client.Object) bool
	status        string
	messagePrefix string
}

func loadHealthScripts(t *testing.T) map[string]string {
	t.Helper()
	checks, err := argocdhealth.LoadChecks(filepath.Join(repoRoot(), "config", "argocd", "resource_customizations"))
	if err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{}
	for _, c := range checks {
		scripts[c.Kind] = c.Script
	}
	return scripts
}

// liveObject reads the object named like obj as the API server serves it (what Argo CD's
// cache holds), and decodes the same map into a new typed object, so that settled and the
// script judge the same state.
func liveObject(g Gomega, obj client.Object) (map[string]any, client.Object) {
	u := &unstructured.Unstructured{}
	gvk, err := k8s.GroupVersionKindFor(obj)
	g.Expect(err).NotTo(HaveOccurred())
	u.SetGroupVersionKind(gvk)
	g.Expect(k8s.Get(testCtx, client.ObjectKeyFromObject(obj), u)).To(Succeed())
	typed := reflect.New(reflect.TypeOf(obj).Elem()).Interface().(client.Object)
	g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, typed)).To(Succeed())
	return u.Object, typed
}

// checkHealth waits for each case's object to settle, then runs its kind's script on it.
func checkHealth(t *testing.T, scripts map[string]string, cases map[string]healthCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			g := NewWithT(t)
			var live map[string]any
			g.Eventually(func(g Gomega) {
				var typed client.Object
				live, typed = liveObject(g, tc.obj)
				g.Expect(tc.settled(typed)).To(BeTrue(), "status: %+v", live["status"])
			}, eventually, poll).Should(Succeed())
			kind := live["kind"].(string)
			got, err := argocdhealth.Run(scripts[kind], live)
			g.Expect(err).NotTo(HaveOccurred())
			if got.Status != tc.status || !strings.HasPrefix(got.Message, tc.messagePrefix) {
				t.Errorf("%s health = %+v, want %s with a message starting %q; status: %+v", kind, got, tc.status, tc.messagePrefix, live["status"])
			}
		})
	}
}

// evaluatedAs: the Control's status describes its generation with this result.
func evaluatedAs(result ismsv1.ControlResult) func(client.Object) bool {
	return func(obj client.Object) bool {
		c := obj.(*ismsv1.Control)
		return c.Status.ObservedGeneration == c.Generation && c.Status.Result == result
	}
}

// notReadyFor: the Control cannot be evaluated, for this reason of PolicyReady.
func notReadyFor(reason string) func(client.Object) bool {
	return func(obj client.Object) bool {
		c := obj.(*ismsv1.Control)
		return c.Status.ObservedGeneration == c.Generation && condition(c, ismsv1.ConditionPolicyReady).Reason == reason
	}
}

func TestArgoCDHealthOfControls(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	scripts := loadHealthScripts(t)
	clean, dirty := uniqueName("argo-clean"), uniqueName("argo-dirty")
	createNamespace(t, clean, nil)
	createNamespace(t, dirty, nil)
	g.Expect(k8s.Create(testCtx, deployment(clean, "web", false))).To(Succeed())
	g.Expect(k8s.Create(testCtx, deployment(dirty, "web", false))).To(Succeed())
	g.Expect(k8s.Create(testCtx, deployment(dirty, "api", true))).To(Succeed())

	optedIn := control(uniqueName("argo-fail-opted-in"), deploymentTargets(dirty), privilegedPolicy)
	optedIn.Annotations = map[string]string{"isms.dev/health-includes-compliance": "true"}
	unknownKind := control(uniqueName("argo-unknown-kind"), ismsv1.Targets{
		Kinds: []ismsv1.KindSelector{{APIGroups: []string{"widgets.example.com"}, Kinds: []string{"Widget"}}},
	}, privilegedPolicy)
	// Applied while the operator was down: the webhook would refuse it at apply.
	broken := control(uniqueName("argo-broken"), deploymentTargets(clean), "package broken\n\nviolation contains msg if {\n")
	broken.Labels = map[string]string{skipAdmissionLabel: "true"}
	cases := map[string]healthCase{
		"passing": {control(uniqueName("argo-pass"), deploymentTargets(clean), privilegedPolicy),
			evaluatedAs(ismsv1.ResultPass), argocdhealth.Healthy, "Pass: All 1 subjects pass."},
		"failing is healthy": {control(uniqueName("argo-fail"), deploymentTargets(dirty), privilegedPolicy),
			evaluatedAs(ismsv1.ResultFail), argocdhealth.Healthy, "Fail: 1 of 2 subjects fail, in 1 namespace(s)."},
		"failing, opted in to compliance": {optedIn,
			evaluatedAs(ismsv1.ResultFail), argocdhealth.Degraded, "Fail: 1 of 2 subjects fail, in 1 namespace(s)."},
		"nothing to evaluate": {control(uniqueName("argo-na"), deploymentTargets(uniqueName("argo-none")), privilegedPolicy),
			evaluatedAs(ismsv1.ResultNotApplicable), argocdhealth.Healthy, "NotApplicable: "},
		"compile error": {broken,
			notReadyFor(ismsv1.ReasonCompileError), argocdhealth.Degraded, "CompileError: "},
		"target kind not served": {unknownKind,
			notReadyFor(ismsv1.ReasonTargetsUnresolved), argocdhealth.Degraded, "TargetsUnresolved: "},
		"policy not found": {refControl(uniqueName("argo-no-policy"), deploymentTargets(clean), uniqueName("argo-missing"), ""),
			notReadyFor(ismsv1.ReasonPolicyNotFound), argocdhealth.Degraded, "PolicyNotFound: "},
	}
	for _, tc := range cases {
		g.Expect(k8s.Create(testCtx, tc.obj)).To(Succeed())
	}
	checkHealth(t, scripts, cases)

	finding := &ismsv1.Finding{ObjectMeta: metav1.ObjectMeta{Namespace: dirty, Name: cases["failing is healthy"].obj.GetName()}}
	checkHealth(t, scripts, map[string]healthCase{"open finding": {finding,
		func(obj client.Object) bool { return obj.(*ismsv1.Finding).Status.State == ismsv1.FindingOpen },
		argocdhealth.Healthy, "Open: 1 subject(s) fail; first: Deployment api"}})
}

// TestArgoCDHealthWhileTheOperatorIsDown stops the operator: a new Control, and a Control
// whose spec changed, are Progressing until it is back and has evaluated them.
func TestArgoCDHealthWhileTheOperatorIsDown(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	scripts := loadHealthScripts(t)
	ns := uniqueName("argo-down")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, deployment(ns, "web", false))).To(Succeed())
	changed := control(uniqueName("argo-changed"), deploymentTargets(ns), privilegedPolicy)
	g.Expect(k8s.Create(testCtx, changed)).To(Succeed())
	checkHealth(t, scripts, map[string]healthCase{"before": {changed, evaluatedAs(ismsv1.ResultPass), argocdhealth.Healthy, "Pass: "}})

	operator.stop()
	created := control(uniqueName("argo-new"), deploymentTargets(ns), privilegedPolicy)
	g.Expect(k8s.Create(testCtx, created)).To(Succeed())
	mergePatch(g, changed, `{"spec":{"title":"No privileged containers, reworded"}}`)
	stale := func(obj client.Object) bool {
		return obj.GetGeneration() > obj.(*ismsv1.Control).Status.ObservedGeneration
	}
	checkHealth(t, scripts, map[string]healthCase{
		"new":     {created, stale, argocdhealth.Progressing, "Waiting for the operator to evaluate generation 1"},
		"changed": {changed, stale, argocdhealth.Progressing, "Waiting for the operator to evaluate generation 2"},
	})

	var err error
	if operator, err = startOperator(operatorSettings{restart: true}); err != nil {
		t.Fatal(err)
	}
	checkHealth(t, scripts, map[string]healthCase{
		"new, evaluated":     {created, evaluatedAs(ismsv1.ResultPass), argocdhealth.Healthy, "Pass: "},
		"changed, evaluated": {changed, evaluatedAs(ismsv1.ResultPass), argocdhealth.Healthy, "Pass: "},
	})
}

func TestArgoCDHealthOfPoliciesExceptionsAndRisks(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	scripts := loadHealthScripts(t)
	ns := uniqueName("argo-risk")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, deployment(ns, "api", true))).To(Succeed())
	failing := control(uniqueName("argo-risk-fail"), deploymentTargets(ns), privilegedPolicy)
	g.Expect(k8s.Create(testCtx, failing)).To(Succeed())

	tolerant := riskObject(uniqueName("argo-within"), ismsv1.RiskControlRef{Name: failing.Name, LikelihoodReduction: 3})
	tolerant.Spec.Appetite = 16
	readyIs := func(want metav1.ConditionStatus) func(client.Object) bool {
		return func(obj client.Object) bool {
			p := obj.(*ismsv1.Policy)
			return p.Status.ObservedGeneration == p.Generation && policyReady(p).Status == want
		}
	}
	withinAppetite := func(want metav1.ConditionStatus) func(client.Object) bool {
		return func(obj client.Object) bool {
			r := obj.(*ismsv1.Risk)
			return r.Status.ObservedGeneration == r.Generation && riskCondition(r, ismsv1.ConditionWithinAppetite).Status == want
		}
	}
	inPhase := func(want ismsv1.ExceptionPhase) func(client.Object) bool {
		return func(obj client.Object) bool { return obj.(*ismsv1.ControlException).Status.Phase == want }
	}
	// The exception names no existing control, so that it changes no result above.
	exempt := ismsv1.ExceptionSubjects{Namespaces: []string{ns}}
	badPolicy := sharedPolicy(uniqueName("argo-bad-policy"), "package bad\n\nviolation contains msg if {\n", "")
	badPolicy.Labels = map[string]string{skipAdmissionLabel: "true"} // applied while the operator was down
	cases := map[string]healthCase{
		"policy compiles": {sharedPolicy(uniqueName("argo-policy"), privilegedPolicy, ""),
			readyIs(metav1.ConditionTrue), argocdhealth.Healthy, "Compiled, digest sha256:"},
		"policy does not compile": {badPolicy,
			readyIs(metav1.ConditionFalse), argocdhealth.Degraded, "CompileError: "},
		"risk above appetite": {riskObject(uniqueName("argo-above"), ismsv1.RiskControlRef{Name: failing.Name, LikelihoodReduction: 3}),
			withinAppetite(metav1.ConditionFalse), argocdhealth.Degraded, "AboveAppetite: Residual score 16 (High) is above the appetite of 4"},
		"risk within appetite": {tolerant,
			withinAppetite(metav1.ConditionTrue), argocdhealth.Healthy, "Residual score 16 (High) is within the appetite of 16."},
		"active exception": {controlException(uniqueName("argo-active"), time.Now().Add(time.Hour), exempt, uniqueName("argo-other")),
			inPhase(ismsv1.ExceptionActive), argocdhealth.Healthy, "Approved by ciso@example.com; expires at "},
		"expired exception": {controlException(uniqueName("argo-expiring"), time.Now().Add(2*time.Second), exempt, uniqueName("argo-other")),
			inPhase(ismsv1.ExceptionExpired), argocdhealth.Degraded, "Expired at "},
	}
	for _, tc := range cases {
		g.Expect(k8s.Create(testCtx, tc.obj)).To(Succeed())
	}
	checkHealth(t, scripts, cases)
}
