package controllers

import (
	"testing"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// registriesPolicy fails containers whose image is not under one of the allowed registries.
const registriesPolicy = `package test.shared.registries

violation contains {"msg": sprintf("container %q uses image %q, not from an allowed registry", [c.name, c.image])} if {
	some c in input.review.object.spec.template.spec.containers
	not allowed(c.image)
}

allowed(image) if {
	some prefix in input.parameters.allowedRegistries
	startswith(image, prefix)
}`

const registriesSchema = `{
  "type": "object",
  "required": ["allowedRegistries"],
  "properties": {
    "allowedRegistries": {"type": "array", "items": {"type": "string"}}
  }
}`

func sharedPolicy(name, rego, schema string) *ismsv1.Policy {
	p := &ismsv1.Policy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       ismsv1.PolicySpec{Description: "test policy", Rego: rego},
	}
	if schema != "" {
		p.Spec.ParametersSchema = &apiextensionsv1.JSON{Raw: []byte(schema)}
	}
	return p
}

// refControl is a Control that applies the Policy policyName with the given parameters.
func refControl(name string, targets ismsv1.Targets, policyName, parameters string) *ismsv1.Control {
	c := control(name, targets, "")
	c.Spec.Policy = ismsv1.PolicySource{Ref: &ismsv1.PolicyReference{Name: policyName}}
	if parameters != "" {
		c.Spec.Parameters = &apiextensionsv1.JSON{Raw: []byte(parameters)}
	}
	return c
}

func getPolicy(g Gomega, name string) *ismsv1.Policy {
	var p ismsv1.Policy
	g.Expect(k8s.Get(testCtx, types.NamespacedName{Name: name}, &p)).To(Succeed())
	return &p
}

func policyReady(p *ismsv1.Policy) metav1.Condition {
	if c := meta.FindStatusCondition(p.Status.Conditions, ismsv1.ConditionReady); c != nil {
		return *c
	}
	return metav1.Condition{}
}

// (a) and (b): a Control evaluates the Rego of the Policy it references, with its own
// parameters, and follows the Policy when its Rego changes.
func TestControlAppliesAReferencedPolicy(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns := uniqueName("shared")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, deployment(ns, "api", false))).To(Succeed()) // image registry.example/app:1.0.0
	pname := uniqueName("registries")
	g.Expect(k8s.Create(testCtx, sharedPolicy(pname, registriesPolicy, registriesSchema))).To(Succeed())
	name := uniqueName("uses-registries")
	g.Expect(k8s.Create(testCtx, refControl(name, deploymentTargets(ns), pname, `{"allowedRegistries": ["registry.corp/"]}`))).To(Succeed())

	t.Log("the Deployment's image is not from an allowed registry: the control fails and a Finding opens")
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultFail))
		g.Expect(c.Status.FailingSubjects).To(BeEquivalentTo(1))
		g.Expect(c.Status.PolicyDigest).To(Equal(policy.Digest(registriesPolicy)))
		g.Expect(condition(c, ismsv1.ConditionPolicyReady).Status).To(Equal(metav1.ConditionTrue))
		f := getFinding(g, ns, name)
		g.Expect(f.Status.State).To(Equal(ismsv1.FindingOpen))
		g.Expect(f.Status.Subjects).To(HaveLen(1))
		g.Expect(f.Status.Subjects[0].Messages[0]).To(ContainSubstring(`uses image "registry.example/app:1.0.0"`))
	}, eventually, poll).Should(Succeed())

	t.Log("editing the Policy's Rego re-evaluates the Control with the new Rego")
	const lenient = `package test.shared.lenient

violation contains {"msg": "never"} if false`
	p := getPolicy(g, pname)
	p.Spec.Rego = lenient
	g.Expect(k8s.Update(testCtx, p)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.PolicyDigest).To(Equal(policy.Digest(lenient)))
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultPass))
		g.Expect(getFinding(g, ns, name).Status.State).To(Equal(ismsv1.FindingResolved))
	}, eventually, poll).Should(Succeed())
}

// (c): parameters that do not match the Policy's schema make the Control an Error, with the
// validator's message naming the field, until they are fixed.
func TestParametersAreValidatedAgainstThePolicySchema(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns := uniqueName("params")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, deployment(ns, "api", false))).To(Succeed())
	pname := uniqueName("registries")
	g.Expect(k8s.Create(testCtx, sharedPolicy(pname, registriesPolicy, registriesSchema))).To(Succeed())
	name := uniqueName("bad-params")
	// Admission refuses such parameters (TestAdmissionRefusesBrokenControls): these landed
	// while the operator was down.
	g.Expect(k8s.Create(testCtx, landedUnchecked(refControl(name, deploymentTargets(ns), pname, `{"allowedRegistries": [42]}`)))).To(Succeed())

	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultError))
		g.Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
		cond := condition(c, ismsv1.ConditionPolicyReady)
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonInvalidParameters))
		g.Expect(cond.Message).To(ContainSubstring("spec.parameters.allowedRegistries[0]: Invalid value"))
		g.Expect(cond.Message).To(ContainSubstring("must be of type string"))
	}, eventually, poll).Should(Succeed())

	t.Log("fixing the parameters makes the control ready and evaluated")
	c := getControl(g, name)
	c.Spec.Parameters = &apiextensionsv1.JSON{Raw: []byte(`{"allowedRegistries": ["registry.example/"]}`)}
	g.Expect(k8s.Update(testCtx, c)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(condition(c, ismsv1.ConditionPolicyReady).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultPass))
	}, eventually, poll).Should(Succeed())

	t.Log("a missing required parameter is reported too")
	missing := uniqueName("no-params")
	g.Expect(k8s.Create(testCtx, landedUnchecked(refControl(missing, deploymentTargets(ns), pname, "")))).To(Succeed())
	g.Eventually(func(g Gomega) {
		cond := condition(getControl(g, missing), ismsv1.ConditionPolicyReady)
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonInvalidParameters))
		g.Expect(cond.Message).To(ContainSubstring("spec.parameters.allowedRegistries: Required value"))
	}, eventually, poll).Should(Succeed())
}

// (d): a Control that references a Policy that does not exist waits for it, and is evaluated
// once the Policy is created, without being touched.
func TestControlWaitsForAMissingPolicy(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns := uniqueName("waits")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, deployment(ns, "api", true))).To(Succeed())
	pname := uniqueName("later")
	name := uniqueName("waiting")
	g.Expect(k8s.Create(testCtx, refControl(name, deploymentTargets(ns), pname, ""))).To(Succeed())

	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultError))
		cond := condition(c, ismsv1.ConditionPolicyReady)
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonPolicyNotFound))
		g.Expect(cond.Message).To(ContainSubstring(pname))
	}, eventually, poll).Should(Succeed())
	generation := getControl(g, name).Generation

	t.Log("creating the Policy makes the control ready")
	g.Expect(k8s.Create(testCtx, sharedPolicy(pname, privilegedPolicy, ""))).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(condition(c, ismsv1.ConditionPolicyReady).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultFail))
		g.Expect(c.Status.PolicyDigest).To(Equal(policy.Digest(privilegedPolicy)))
		g.Expect(c.Generation).To(Equal(generation))
	}, eventually, poll).Should(Succeed())

	t.Log("deleting the Policy makes the control wait again")
	g.Expect(k8s.Delete(testCtx, getPolicy(g, pname))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(condition(getControl(g, name), ismsv1.ConditionPolicyReady).Reason).To(Equal(ismsv1.ReasonPolicyNotFound))
	}, eventually, poll).Should(Succeed())
}

// (e): spec.policy holds exactly one of rego and ref.
func TestControlNeedsExactlyOneOfRegoAndRef(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	both := control(uniqueName("both"), deploymentTargets(), privilegedPolicy)
	both.Spec.Policy.Ref = &ismsv1.PolicyReference{Name: "some-policy"}
	neither := control(uniqueName("neither"), deploymentTargets(), "")
	badName := refControl(uniqueName("bad-ref"), deploymentTargets(), "Not_A_Name", "")
	// A Go client omits an empty spec.policy (omitzero): the Control then has neither a policy
	// nor an attestation, which the spec-level rule refuses.
	for c, want := range map[*ismsv1.Control]string{
		both:    "exactly one of spec.policy.rego (inline Rego) and spec.policy.ref (a Policy) must be set",
		neither: "exactly one of spec.policy (an evaluated control) and spec.attestation (an attested control) must be set",
	} {
		err := k8s.Create(testCtx, c)
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%s: %v", c.Name, err)
		g.Expect(err.Error()).To(ContainSubstring(want))
	}
	err := k8s.Create(testCtx, badName)
	g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
	g.Expect(err.Error()).To(ContainSubstring("spec.policy.ref.name"))
}

// (f): a Policy's status says whether it compiles and its schema is usable.
func TestPolicyStatus(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	good, broken, badSchema := uniqueName("good"), uniqueName("broken"), uniqueName("bad-schema")
	g.Expect(k8s.Create(testCtx, sharedPolicy(good, registriesPolicy, registriesSchema))).To(Succeed())
	// Admission refuses these two (TestAdmissionRefusesBrokenPolicies): they landed unchecked.
	g.Expect(k8s.Create(testCtx, landedUnchecked(sharedPolicy(broken, "package broken\n\nviolation contains msg if {\n", "")))).To(Succeed())
	g.Expect(k8s.Create(testCtx, landedUnchecked(sharedPolicy(badSchema, registriesPolicy, `{"type": "object", "propertiez": {}}`)))).To(Succeed())

	g.Eventually(func(g Gomega) {
		p := getPolicy(g, good)
		g.Expect(p.Status.ObservedGeneration).To(Equal(p.Generation))
		g.Expect(p.Status.Digest).To(Equal(policy.Digest(registriesPolicy)))
		cond := policyReady(p)
		g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonCompiled))
	}, eventually, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		cond := policyReady(getPolicy(g, broken))
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonCompileError))
		g.Expect(cond.Message).To(ContainSubstring("rego_parse_error"))
	}, eventually, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		cond := policyReady(getPolicy(g, badSchema))
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonInvalidSchema))
		g.Expect(cond.Message).To(ContainSubstring(`unknown field "propertiez"`))
	}, eventually, poll).Should(Succeed())

	t.Log("the compile error is an Event on the Policy")
	g.Eventually(func(g Gomega) {
		var evs eventsv1.EventList
		g.Expect(k8s.List(testCtx, &evs)).To(Succeed()) // cluster-scoped: the recorder picks the namespace
		var reasons []string
		for _, e := range evs.Items {
			if e.Regarding.Kind == "Policy" && e.Regarding.Name == broken {
				reasons = append(reasons, e.Reason)
			}
		}
		g.Expect(reasons).To(ContainElement(ismsv1.ReasonCompileError))
	}, eventually, poll).Should(Succeed())

	t.Log("a Control that references the broken Policy reports its compile error")
	name := uniqueName("uses-broken")
	g.Expect(k8s.Create(testCtx, refControl(name, deploymentTargets(), broken, ""))).To(Succeed())
	g.Eventually(func(g Gomega) {
		cond := condition(getControl(g, name), ismsv1.ConditionPolicyReady)
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonCompileError))
		g.Expect(cond.Message).To(HavePrefix("Policy " + broken + ": "))
	}, eventually, poll).Should(Succeed())
}
