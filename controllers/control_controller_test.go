package controllers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

const (
	// Event-driven evaluation shows a change within about a second; the margin is for a loaded
	// CI machine, not for the operator.
	eventually = 15 * time.Second
	poll       = 100 * time.Millisecond
)

const privilegedPolicy = `package test.privileged

violation contains {"msg": sprintf("container %q is privileged", [c.name])} if {
	some c in input.review.object.spec.template.spec.containers
	c.securityContext.privileged
}`

var nameSeq atomic.Int32

// uniqueName keeps the tests, which share one API server, out of each other's way.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%100000, nameSeq.Add(1))
}

func createNamespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := k8s.Create(testCtx, ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}

func deployment(ns, name string, privileged bool) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:            "app",
					Image:           "registry.example/app:1.0.0",
					SecurityContext: &corev1.SecurityContext{Privileged: &privileged},
				}}},
			},
		},
	}
}

func setPrivileged(t *testing.T, ns, name string, privileged bool) {
	t.Helper()
	var d appsv1.Deployment
	if err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: name}, &d); err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Spec.Containers[0].SecurityContext.Privileged = &privileged
	if err := k8s.Update(testCtx, &d); err != nil {
		t.Fatalf("updating deployment %s/%s: %v", ns, name, err)
	}
}

func control(name string, targets ismsv1.Targets, rego string) *ismsv1.Control {
	return &ismsv1.Control{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: ismsv1.ControlSpec{
			ID:       strings.ToUpper(name),
			Title:    "Test control " + name,
			Owner:    "platform-security",
			Severity: ismsv1.SeverityHigh,
			Frameworks: []ismsv1.FrameworkMapping{
				{Framework: "iso27001-2022", Requirements: []string{"A.8.9"}},
			},
			Targets: targets,
			Policy:  ismsv1.PolicySource{Rego: rego},
		},
	}
}

func deploymentTargets(namespaces ...string) ismsv1.Targets {
	return ismsv1.Targets{
		Kinds:      []ismsv1.KindSelector{{APIGroups: []string{"apps"}, Kinds: []string{"Deployment"}}},
		Namespaces: namespaces,
	}
}

func getControl(g Gomega, name string) *ismsv1.Control {
	var c ismsv1.Control
	g.Expect(k8s.Get(testCtx, types.NamespacedName{Name: name}, &c)).To(Succeed())
	return &c
}

func getFinding(g Gomega, ns, name string) *ismsv1.Finding {
	var f ismsv1.Finding
	g.Expect(k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: name}, &f)).To(Succeed())
	return &f
}

func condition(c *ismsv1.Control, conditionType string) metav1.Condition {
	if cond := meta.FindStatusCondition(c.Status.Conditions, conditionType); cond != nil {
		return *cond
	}
	return metav1.Condition{}
}

func subjectNames(f *ismsv1.Finding) []string {
	var names []string
	for _, s := range f.Status.Subjects {
		names = append(names, s.Name)
	}
	return names
}

func TestFindingsFollowTheEvidence(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	nsA, nsB := uniqueName("team-a"), uniqueName("team-b")
	createNamespace(t, nsA, nil)
	createNamespace(t, nsB, nil)
	for _, d := range []*appsv1.Deployment{
		deployment(nsA, "api", true), deployment(nsA, "web", false), deployment(nsB, "worker", true),
	} {
		g.Expect(k8s.Create(testCtx, d)).To(Succeed())
	}
	name := uniqueName("no-privileged")
	g.Expect(k8s.Create(testCtx, control(name, deploymentTargets(nsA, nsB), privilegedPolicy))).To(Succeed())

	t.Log("a violating Deployment in each of two namespaces: the control fails with one Finding per namespace")
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultFail))
		g.Expect(c.Status.EvaluatedSubjects).To(BeEquivalentTo(3))
		g.Expect(c.Status.FailingSubjects).To(BeEquivalentTo(2))
		g.Expect(c.Status.OpenFindings).To(BeEquivalentTo(2))
		g.Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
		g.Expect(c.Status.PolicyDigest).To(HavePrefix("sha256:"))
		g.Expect(condition(c, ismsv1.ConditionPolicyReady).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(condition(c, ismsv1.ConditionCompliant).Status).To(Equal(metav1.ConditionFalse))
	}, eventually, poll).Should(Succeed())

	fa := getFinding(g, nsA, name)
	g.Expect(fa.Status.State).To(Equal(ismsv1.FindingOpen))
	g.Expect(subjectNames(fa)).To(Equal([]string{"api"}))
	g.Expect(fa.Status.SubjectCount).To(BeEquivalentTo(1))
	g.Expect(fa.Status.Subjects[0].Kind).To(Equal("Deployment"))
	g.Expect(fa.Status.Subjects[0].APIVersion).To(Equal("apps/v1"))
	g.Expect(fa.Status.Subjects[0].UID).NotTo(BeEmpty())
	g.Expect(fa.Status.Subjects[0].Messages).To(Equal([]string{`container "app" is privileged`}))
	g.Expect(fa.Spec.ControlID).To(Equal(strings.ToUpper(name)))
	g.Expect(fa.Spec.Severity).To(Equal(ismsv1.SeverityHigh))
	g.Expect(fa.Spec.Frameworks).To(HaveLen(1))
	g.Expect(fa.Labels).To(HaveKeyWithValue(ismsv1.LabelControl, name))
	g.Expect(fa.Labels).To(HaveKeyWithValue(ismsv1.LabelSeverity, "high"))
	g.Expect(fa.OwnerReferences).To(HaveLen(1))
	g.Expect(fa.OwnerReferences[0].Name).To(Equal(name))
	g.Expect(fa.Status.FirstSeen).NotTo(BeNil())
	fb := getFinding(g, nsB, name)
	g.Expect(subjectNames(fb)).To(Equal([]string{"worker"}))

	t.Log("the Finding's opening is an Event")
	g.Eventually(func(g Gomega) {
		var evs eventsv1.EventList
		g.Expect(k8s.List(testCtx, &evs, client.InNamespace(nsA))).To(Succeed())
		var reasons []string
		for _, e := range evs.Items {
			if e.Regarding.Name == name {
				reasons = append(reasons, e.Reason)
			}
		}
		g.Expect(reasons).To(ContainElement("FindingOpened"))
	}, eventually, poll).Should(Succeed())

	t.Log("fixing the Deployment in one namespace resolves that Finding only")
	setPrivileged(t, nsA, "api", false)
	g.Eventually(func(g Gomega) {
		f := getFinding(g, nsA, name)
		g.Expect(f.Status.State).To(Equal(ismsv1.FindingResolved))
		g.Expect(f.Status.ResolvedAt).NotTo(BeNil())
		g.Expect(f.Status.Subjects).To(BeEmpty())
		g.Expect(f.Status.SubjectCount).To(BeZero())
	}, eventually, poll).Should(Succeed())
	g.Expect(getFinding(g, nsB, name).Status.State).To(Equal(ismsv1.FindingOpen))
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.FailingSubjects).To(BeEquivalentTo(1))
		g.Expect(c.Status.OpenFindings).To(BeEquivalentTo(1))
	}, eventually, poll).Should(Succeed())

	t.Log("breaking it again reopens the Finding and counts the reopening")
	setPrivileged(t, nsA, "api", true)
	g.Eventually(func(g Gomega) {
		f := getFinding(g, nsA, name)
		g.Expect(f.Status.State).To(Equal(ismsv1.FindingOpen))
		g.Expect(f.Status.ReopenCount).To(BeEquivalentTo(1))
		g.Expect(f.Status.ResolvedAt).To(BeNil())
		g.Expect(subjectNames(f)).To(Equal([]string{"api"}))
	}, eventually, poll).Should(Succeed())

	t.Log("deleting a failing Deployment removes it from its Finding")
	g.Expect(k8s.Delete(testCtx, deployment(nsB, "worker", true))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getFinding(g, nsB, name).Status.State).To(Equal(ismsv1.FindingResolved))
		c := getControl(g, name)
		g.Expect(c.Status.EvaluatedSubjects).To(BeEquivalentTo(2))
		g.Expect(c.Status.FailingSubjects).To(BeEquivalentTo(1))
	}, eventually, poll).Should(Succeed())

	t.Log("when every subject passes, the control passes")
	setPrivileged(t, nsA, "api", false)
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultPass))
		g.Expect(c.Status.OpenFindings).To(BeZero())
		g.Expect(condition(c, ismsv1.ConditionCompliant).Status).To(Equal(metav1.ConditionTrue))
		// What Open Cluster Management reads: the state, and its changes newest first.
		g.Expect(c.Status.Compliant).To(Equal(ismsv1.Compliant))
		g.Expect(c.Status.History).NotTo(BeEmpty())
		g.Expect(c.Status.History[0].Compliant).To(Equal(ismsv1.Compliant))
		g.Expect(c.Status.History).To(ContainElement(HaveField("Compliant", ismsv1.NonCompliant)))
	}, eventually, poll).Should(Succeed())
}

func TestInvalidRegoIsReportedAndOtherControlsKeepWorking(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns := uniqueName("compile")
	createNamespace(t, ns, nil)
	broken := uniqueName("broken")
	// Broken Rego is refused at admission (TestAdmissionRefusesBrokenControls); this one landed
	// while the operator was down.
	g.Expect(k8s.Create(testCtx, landedUnchecked(control(broken, deploymentTargets(ns), "package broken\n\nviolation contains msg if {\n")))).To(Succeed())

	g.Eventually(func(g Gomega) {
		c := getControl(g, broken)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultError))
		cond := condition(c, ismsv1.ConditionPolicyReady)
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonCompileError))
		g.Expect(cond.Message).To(ContainSubstring("rego_parse_error"))
		g.Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
	}, eventually, poll).Should(Succeed())

	t.Log("a valid control created after the broken one is evaluated")
	healthy := uniqueName("healthy")
	g.Expect(k8s.Create(testCtx, deployment(ns, "api", true))).To(Succeed())
	g.Expect(k8s.Create(testCtx, control(healthy, deploymentTargets(ns), privilegedPolicy))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getControl(g, healthy).Status.Result).To(Equal(ismsv1.ResultFail))
		g.Expect(getFinding(g, ns, healthy).Status.State).To(Equal(ismsv1.FindingOpen))
	}, eventually, poll).Should(Succeed())

	t.Log("fixing the broken policy makes it ready and evaluated")
	c := getControl(g, broken)
	c.Spec.Policy.Rego = privilegedPolicy
	g.Expect(k8s.Update(testCtx, c)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, broken)
		g.Expect(condition(c, ismsv1.ConditionPolicyReady).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultFail))
		g.Expect(c.Status.FailingSubjects).To(BeEquivalentTo(1))
	}, eventually, poll).Should(Succeed())
}

func TestCrossResourcePolicyReadsTheInventory(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	marker := uniqueName("netpol")
	ns := uniqueName("isolated")
	createNamespace(t, ns, map[string]string{"isms-test": marker})

	name := uniqueName("namespace-has-netpol")
	// Admission refuses it too (TestAdmissionRefusesBrokenControls): it landed unchecked.
	c := landedUnchecked(control(name, ismsv1.Targets{
		Kinds:         []ismsv1.KindSelector{{APIGroups: []string{""}, Kinds: []string{"Namespace"}}},
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"isms-test": marker}},
	}, `package test.netpol

violation contains {"msg": sprintf("namespace %s has no NetworkPolicy", [ns])} if {
	ns := input.review.object.metadata.name
	count(object.get(data.inventory, ["namespace", ns, "networking.k8s.io/v1", "NetworkPolicy"], {})) == 0
}`))
	g.Expect(k8s.Create(testCtx, c)).To(Succeed())

	t.Log("without spec.inventory the policy would read nothing: the control is refused, saying what to list")
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultError))
		cond := condition(c, ismsv1.ConditionPolicyReady)
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonInventoryNotListed))
		g.Expect(cond.Message).To(ContainSubstring(`Add to spec.inventory: {apiGroups: ["networking.k8s.io"], kinds: ["NetworkPolicy"]}`))
		g.Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
		g.Expect(controlEventReasons(g, name)).To(ContainElement(ismsv1.ReasonInventoryNotListed))
	}, eventually, poll).Should(Succeed())
	mergePatch(g, c, `{"spec":{"inventory":[{"apiGroups":["networking.k8s.io"],"kinds":["NetworkPolicy"]}]}}`)

	t.Log("a namespace without a NetworkPolicy fails; the Finding of a cluster-scoped subject is in the operator's namespace")
	g.Eventually(func(g Gomega) {
		g.Expect(getControl(g, name).Status.Result).To(Equal(ismsv1.ResultFail))
		f := getFinding(g, operatorNamespace, name)
		g.Expect(f.Status.State).To(Equal(ismsv1.FindingOpen))
		g.Expect(subjectNames(f)).To(Equal([]string{ns}))
		g.Expect(f.Status.Subjects[0].Kind).To(Equal("Namespace"))
	}, eventually, poll).Should(Succeed())

	t.Log("adding a NetworkPolicy in the namespace makes the control pass")
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-deny"},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
	}
	g.Expect(k8s.Create(testCtx, np)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getControl(g, name).Status.Result).To(Equal(ismsv1.ResultPass))
		g.Expect(getFinding(g, operatorNamespace, name).Status.State).To(Equal(ismsv1.FindingResolved))
	}, eventually, poll).Should(Succeed())
}

func TestControlWithoutSubjectsIsNotApplicable(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	name := uniqueName("nothing-matches")
	c := control(name, deploymentTargets(uniqueName("no-such-namespace")), privilegedPolicy)
	g.Expect(k8s.Create(testCtx, c)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultNotApplicable))
		g.Expect(c.Status.LastSweep).NotTo(BeNil())
	}, eventually, poll).Should(Succeed())
}

func TestControlTargetingUnknownKindReportsIt(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	name := uniqueName("unknown-kind")
	c := control(name, ismsv1.Targets{
		Kinds: []ismsv1.KindSelector{{APIGroups: []string{"widgets.example.com"}, Kinds: []string{"Widget"}}},
	}, privilegedPolicy)
	g.Expect(k8s.Create(testCtx, c)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultError))
		cond := condition(c, ismsv1.ConditionPolicyReady)
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonTargetsUnresolved))
		g.Expect(cond.Message).To(ContainSubstring("Widget.widgets.example.com"))
	}, eventually, poll).Should(Succeed())
}

func TestParametersReachThePolicy(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns := uniqueName("registries")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, deployment(ns, "api", false))).To(Succeed()) // image registry.example/app
	name := uniqueName("allowed-registries")
	c := control(name, deploymentTargets(ns), `package test.registries

violation contains {"msg": sprintf("image %s is not from an allowed registry", [c.image])} if {
	some c in input.review.object.spec.template.spec.containers
	not startswith(c.image, input.parameters.registry)
}`)
	c.Spec.Parameters = &apiextensionsv1.JSON{Raw: []byte(`{"registry": "registry.corp/"}`)}
	g.Expect(k8s.Create(testCtx, c)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getControl(g, name).Status.Result).To(Equal(ismsv1.ResultFail))
	}, eventually, poll).Should(Succeed())

	t.Log("changing the parameters re-evaluates the control")
	c = getControl(g, name)
	c.Spec.Parameters = &apiextensionsv1.JSON{Raw: []byte(`{"registry": "registry.example/"}`)}
	g.Expect(k8s.Update(testCtx, c)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getControl(g, name).Status.Result).To(Equal(ismsv1.ResultPass))
	}, eventually, poll).Should(Succeed())
}

// The shipped samples must compile and evaluate against a real API server.
func TestSampleControlsAreReady(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	files, err := filepath.Glob(filepath.Join(repoRoot(), "config", "samples", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		g.Expect(err).NotTo(HaveOccurred())
		var c ismsv1.Control
		g.Expect(yaml.UnmarshalStrict(data, &c)).To(Succeed(), f)
		g.Expect(c.Spec.Frameworks).To(ContainElement(HaveField("Framework", "iso27001-2022")), f)
		g.Expect(k8s.Create(testCtx, &c)).To(Succeed(), f)
		names = append(names, c.Name)
	}
	g.Expect(len(names)).To(BeNumerically(">=", 3))
	for _, name := range names {
		g.Eventually(func(g Gomega) {
			c := getControl(g, name)
			g.Expect(condition(c, ismsv1.ConditionPolicyReady).Status).To(Equal(metav1.ConditionTrue), name)
			g.Expect(c.Status.Result).To(BeElementOf(ismsv1.ResultPass, ismsv1.ResultFail, ismsv1.ResultNotApplicable), name)
		}, eventually, poll).Should(Succeed())
	}
}
