package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// A refused watch is retried by its reflector with a backoff of up to 30 s plus as much
// jitter: the control recovers within that once access is granted.
const forbiddenRecovery = 75 * time.Second

const provisionerPolicy = `package test.provisioner

violation contains {"msg": "the StorageClass names no provisioner"} if {
	not input.review.object.provisioner
}`

// controlEventReasons lists the reasons of the Events about a Control (cluster-scoped objects'
// Events land in the default namespace; all namespaces are searched).
func controlEventReasons(g Gomega, name string) []string {
	var evs eventsv1.EventList
	g.Expect(k8s.List(testCtx, &evs)).To(Succeed())
	var reasons []string
	for _, e := range evs.Items {
		if e.Regarding.Kind == "Control" && e.Regarding.Name == name {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

// The operator may not read Secrets: a Control that targets them is Error, with reason
// Forbidden, instead of waiting for ever.
func TestControlTargetingForbiddenKindSaysSo(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	name := uniqueName("secrets")
	c := control(name, ismsv1.Targets{
		Kinds: []ismsv1.KindSelector{{APIGroups: []string{""}, Kinds: []string{"Secret"}}},
	}, privilegedPolicy)
	g.Expect(k8s.Create(testCtx, c)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultError))
		cond := condition(c, ismsv1.ConditionPolicyReady)
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonForbidden))
		g.Expect(cond.Message).To(ContainSubstring("may not list and watch Secret."))
		g.Expect(cond.Message).To(ContainSubstring("forbidden"))
	}, eventually, poll).Should(Succeed())
}

// StorageClasses are not in the generated ClusterRole. A Control that targets them is Error
// (Forbidden) within seconds, with an Event, and its Risk counts it as failing instead of
// waiting for its evidence. Once the operator may read them, the control is evaluated with no
// change to it. (envtest runs no kube-controller-manager, so an aggregated ClusterRole would
// never be merged: the grant is bound to the operator's user directly.)
func TestControlOnForbiddenKindRecoversWhenAccessIsGranted(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("standard")}, Provisioner: "example.com/disk"}
	g.Expect(k8s.Create(testCtx, sc)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(testCtx, sc) })
	name := uniqueName("storageclasses")
	c := control(name, ismsv1.Targets{
		Kinds: []ismsv1.KindSelector{{APIGroups: []string{"storage.k8s.io"}, Kinds: []string{"StorageClass"}}},
	}, provisionerPolicy)
	g.Expect(k8s.Create(testCtx, c)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(testCtx, c) })
	// Inherent 4×4 = 16; with the control effective (4-3)×(4-3) = 1, within the appetite.
	risk := uniqueName("storage-risk")
	g.Expect(k8s.Create(testCtx, riskObject(risk, ismsv1.RiskControlRef{Name: name, LikelihoodReduction: 3, ImpactReduction: 3}))).To(Succeed())

	t.Log("the watch is refused: Error, Forbidden, naming the kind and the fix")
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultError))
		cond := condition(c, ismsv1.ConditionPolicyReady)
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonForbidden))
		g.Expect(cond.Message).To(ContainSubstring("StorageClass.storage.k8s.io"))
		g.Expect(cond.Message).To(ContainSubstring(`isms.dev/aggregate-to-reader: "true"`))
		g.Expect(cond.Message).To(ContainSubstring("config/rbac/reader_extra_example.yaml"))
		g.Expect(len(cond.Message)).To(BeNumerically("<=", maxForbiddenMessage))
		g.Expect(c.Status.ObservedGeneration).To(Equal(c.Generation))
	}, eventually, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(controlEventReasons(g, name)).To(ContainElement(ismsv1.ReasonForbidden))
	}, eventually, poll).Should(Succeed())

	t.Log("its Risk counts it as failing, not as pending evidence")
	g.Eventually(func(g Gomega) {
		r := getRisk(g, risk)
		g.Expect(r.Status.Controls).To(ContainElement(ismsv1.RiskControlStatus{Name: name, Result: ismsv1.ResultError}))
		g.Expect(r.Status.FailingControls).To(BeEquivalentTo(1))
		g.Expect(riskCondition(r, ismsv1.ConditionWithinAppetite).Reason).To(Equal(ismsv1.ReasonAboveAppetite))
	}, riskEventually, poll).Should(Succeed())

	t.Log("read access is granted: the control is evaluated by itself")
	grantStorageClassRead(t, g)
	start := time.Now()
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(condition(c, ismsv1.ConditionPolicyReady).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultPass))
		g.Expect(c.Status.EvaluatedSubjects).To(BeNumerically(">=", 1))
	}, forbiddenRecovery, poll).Should(Succeed())
	t.Logf("recovered %s after the grant", time.Since(start).Round(100*time.Millisecond))
	g.Eventually(func(g Gomega) {
		g.Expect(getRisk(g, risk).Status.EffectiveControls).To(BeEquivalentTo(1))
	}, riskEventually, poll).Should(Succeed())
}

// grantStorageClassRead binds read access to StorageClasses to the operator's user.
func grantStorageClassRead(t *testing.T, g Gomega) {
	t.Helper()
	grantRead(t, g, "storage.k8s.io", "storageclasses")
}
