package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func controlException(name string, expiresAt time.Time, subjects ismsv1.ExceptionSubjects, controls ...string) *ismsv1.ControlException {
	return &ismsv1.ControlException{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: ismsv1.ControlExceptionSpec{
			Controls:      controls,
			Subjects:      subjects,
			Justification: "The vendor's agent needs privileges until its 2.0 release.",
			ApprovedBy:    "ciso@example.com",
			ApprovedAt:    metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second)),
			ExpiresAt:     metav1.NewTime(expiresAt.Truncate(time.Second)),
		},
	}
}

func getException(g Gomega, name string) *ismsv1.ControlException {
	var ex ismsv1.ControlException
	g.Expect(k8s.Get(testCtx, types.NamespacedName{Name: name}, &ex)).To(Succeed())
	return &ex
}

func TestExceptionExemptsUntilExpiry(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns := uniqueName("exempt")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, deployment(ns, "agent", true))).To(Succeed())
	g.Expect(k8s.Create(testCtx, deployment(ns, "web", false))).To(Succeed())
	name := uniqueName("no-privileged")
	g.Expect(k8s.Create(testCtx, control(name, deploymentTargets(ns), privilegedPolicy))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getFinding(g, ns, name).Status.State).To(Equal(ismsv1.FindingOpen))
		g.Expect(getControl(g, name).Status.Result).To(Equal(ismsv1.ResultFail))
	}, eventually, poll).Should(Succeed())

	t.Log("an exception for the failing Deployment, expiring in a few seconds: the Finding resolves as excepted, the Control passes")
	exName := uniqueName("vendor-agent")
	expiresAt := time.Now().Add(7 * time.Second).Truncate(time.Second)
	ex := controlException(exName, expiresAt, ismsv1.ExceptionSubjects{
		Namespaces: []string{ns},
		Objects:    []ismsv1.ExceptedObject{{APIVersion: "apps/v1", Kind: "Deployment", Name: "agent"}},
	}, name)
	g.Eventually(func() error { return k8s.Create(testCtx, ex.DeepCopy()) }, eventually, poll).Should(Succeed()) // once the webhook serves
	g.Eventually(func(g Gomega) {
		f := getFinding(g, ns, name)
		g.Expect(f.Status.State).To(Equal(ismsv1.FindingResolved))
		g.Expect(f.Status.ExceptedCount).To(BeEquivalentTo(1))
		g.Expect(f.Status.ExceptedSubjects).To(ConsistOf(HaveField("Exception", exName)))
		g.Expect(f.Status.Remediations).To(BeEquivalentTo(0), "an exception is not a remediation")
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultPass))
		g.Expect(c.Status.ExceptedSubjects).To(BeEquivalentTo(1))
		g.Expect(c.Status.FailingSubjects).To(BeEquivalentTo(0))
		g.Expect(c.Status.OpenFindings).To(BeEquivalentTo(0))
		e := getException(g, exName)
		g.Expect(e.Status.Phase).To(Equal(ismsv1.ExceptionActive))
		g.Expect(e.Status.MatchedSubjects).To(BeEquivalentTo(1))
	}, eventually, poll).Should(Succeed())
	g.Expect(time.Now()).To(BeTemporally("<", expiresAt), "the test machine is too slow for this test's expiry")

	t.Log("at expiresAt the subject fails again: the Finding reopens within about a second, the exception reads Expired with an Event")
	g.Eventually(func(g Gomega) {
		f := getFinding(g, ns, name)
		g.Expect(f.Status.State).To(Equal(ismsv1.FindingOpen))
		g.Expect(f.Status.ReopenCount).To(BeEquivalentTo(1))
		g.Expect(f.Status.ExceptedCount).To(BeEquivalentTo(0))
	}, time.Until(expiresAt)+2*time.Second, 50*time.Millisecond).Should(Succeed())
	reopened := time.Now()
	g.Expect(reopened).To(BeTemporally(">=", expiresAt))
	t.Logf("reopened %v after expiresAt", reopened.Sub(expiresAt))
	g.Eventually(func(g Gomega) {
		g.Expect(getControl(g, name).Status.Result).To(Equal(ismsv1.ResultFail))
		e := getException(g, exName)
		g.Expect(e.Status.Phase).To(Equal(ismsv1.ExceptionExpired))
		g.Expect(meta.IsStatusConditionFalse(e.Status.Conditions, ismsv1.ExceptionConditionActive)).To(BeTrue())
		g.Expect(eventReasons(g, "default", exName)).To(ContainElement("ExceptionExpired"))
	}, eventually, poll).Should(Succeed())
}

func TestExceptionValidation(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	selection := ismsv1.ExceptionSubjects{Namespaces: []string{"shop"}}

	t.Log("expiresAt in the past: rejected by the webhook")
	expired := controlException(uniqueName("past"), time.Now().Add(-time.Second), selection, "c")
	expired.Spec.ApprovedAt = metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	g.Eventually(func() string {
		err := k8s.Create(testCtx, expired.DeepCopy())
		if err == nil {
			return ""
		}
		return err.Error()
	}, eventually, poll).Should(ContainSubstring("must be in the future"))

	t.Log("approvedAt next month: rejected by the webhook, it would be active from today")
	future := controlException(uniqueName("future"), time.Now().Add(300*24*time.Hour), selection, "c")
	future.Spec.ApprovedAt = metav1.NewTime(time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second))
	err := k8s.Create(testCtx, future)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.approvedAt"))
	g.Expect(err.Error()).To(ContainSubstring("must not be in the future"))

	t.Log("more than 365 days after approvedAt: rejected by CEL")
	long := controlException(uniqueName("long"), time.Now().Add(366*24*time.Hour), selection, "c")
	err = k8s.Create(testCtx, long)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("at most 365 days after approvedAt"))

	t.Log("no subject selection: rejected")
	none := controlException(uniqueName("none"), time.Now().Add(time.Hour), ismsv1.ExceptionSubjects{}, "c")
	err = k8s.Create(testCtx, none)
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("at least one of namespaces, labelSelector or objects"))

	t.Log("a valid exception is accepted, and moving its expiresAt into the past is rejected")
	ok := controlException(uniqueName("ok"), time.Now().Add(time.Hour), ismsv1.ExceptionSubjects{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}}}, "c")
	g.Expect(k8s.Create(testCtx, ok)).To(Succeed())
	past := time.Now().Add(-time.Second).UTC().Format(time.RFC3339)
	err = k8s.Patch(testCtx, ok, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"expiresAt":"`+past+`"}}`)))
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("must be in the future"))

	t.Log("a spec change is a new approval: moving approvedAt into the future is rejected")
	later := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	err = k8s.Patch(testCtx, ok, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"approvedAt":"`+later+`","expiresAt":"`+time.Now().Add(60*24*time.Hour).UTC().Format(time.RFC3339)+`"}}`)))
	g.Expect(err).To(HaveOccurred())
	g.Expect(err.Error()).To(ContainSubstring("spec.approvedAt"))
}
