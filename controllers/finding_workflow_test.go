package controllers

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// eventReasons lists the reasons of the Events about the object named name in ns.
func eventReasons(g Gomega, ns, name string) []string {
	var evs eventsv1.EventList
	g.Expect(k8s.List(testCtx, &evs, client.InNamespace(ns))).To(Succeed())
	var reasons []string
	for _, e := range evs.Items {
		if e.Regarding.Name == name {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

// mergePatch applies a JSON merge patch, as `kubectl patch --type merge -p` does.
func mergePatch(g Gomega, obj client.Object, patch string) {
	g.Expect(k8s.Patch(testCtx, obj, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
}

func TestFindingAcknowledgementSurvivesEvaluation(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns := uniqueName("ack")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, deployment(ns, "api", true))).To(Succeed())
	name := uniqueName("no-privileged")
	g.Expect(k8s.Create(testCtx, control(name, deploymentTargets(ns), privilegedPolicy))).To(Succeed())

	var opened time.Time
	g.Eventually(func(g Gomega) {
		f := getFinding(g, ns, name)
		g.Expect(f.Status.State).To(Equal(ismsv1.FindingOpen))
		g.Expect(f.Status.OpenedAt).NotTo(BeNil())
		g.Expect(f.Status.DueAt).NotTo(BeNil())
		opened = f.Status.OpenedAt.Time
		g.Expect(f.Status.DueAt.Time).To(Equal(opened.Add(30*24*time.Hour)), "severity high is due in 30 days")
	}, eventually, poll).Should(Succeed())

	t.Log("an owner acknowledges the Finding with a merge patch of spec.acknowledgement")
	f := &ismsv1.Finding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	mergePatch(g, f, `{"spec":{"acknowledgement":{"by":"alice@example.com","note":"drop privileged in 2.0","plannedFixDate":"2030-01-01T00:00:00Z"}}}`)
	g.Eventually(func(g Gomega) {
		f := getFinding(g, ns, name)
		g.Expect(f.Status.State).To(Equal(ismsv1.FindingAcknowledged))
		g.Expect(f.Status.History).NotTo(BeEmpty())
		g.Expect(f.Status.History[len(f.Status.History)-1].Reason).To(HavePrefix("Acknowledged by alice@example.com"))
		g.Expect(eventReasons(g, ns, name)).To(ContainElement("FindingAcknowledged"))
	}, eventually, poll).Should(Succeed())

	t.Log("the evidence changes and the Control's spec changes (a sweep, and an update of the Finding's spec): the acknowledgement stays")
	g.Expect(k8s.Create(testCtx, deployment(ns, "web", true))).To(Succeed())
	mergePatch(g, &ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: name}}, `{"spec":{"title":"Renamed control","interval":"5m"}}`)
	g.Eventually(func(g Gomega) {
		f := getFinding(g, ns, name)
		g.Expect(f.Spec.Title).To(Equal("Renamed control"))
		g.Expect(f.Status.SubjectCount).To(BeEquivalentTo(2))
		g.Expect(f.Spec.Acknowledgement).NotTo(BeNil())
		g.Expect(f.Spec.Acknowledgement.By).To(Equal("alice@example.com"))
		g.Expect(f.Spec.Acknowledgement.PlannedFixDate).NotTo(BeNil())
		g.Expect(f.Status.State).To(Equal(ismsv1.FindingAcknowledged))
		g.Expect(f.Status.OpenedAt.Time).To(Equal(opened), "still the same open period")
	}, eventually, poll).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(getFinding(g, ns, name).Spec.Acknowledgement).NotTo(BeNil())
	}, time.Second, poll).Should(Succeed())
}

func TestFindingFallsOverdueAndRecordsItsRemediation(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns := uniqueName("overdue")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, deployment(ns, "api", true))).To(Succeed())
	name := uniqueName("low")
	c := control(name, deploymentTargets(ns), privilegedPolicy)
	c.Spec.Severity = ismsv1.SeverityLow // due after lowSeverityDue in the suite
	g.Expect(k8s.Create(testCtx, c)).To(Succeed())

	var dueAt time.Time
	g.Eventually(func(g Gomega) {
		f := getFinding(g, ns, name)
		g.Expect(f.Status.State).To(Equal(ismsv1.FindingOpen))
		g.Expect(f.Status.DueAt).NotTo(BeNil())
		dueAt = f.Status.DueAt.Time
	}, eventually, poll).Should(Succeed())

	t.Log("nothing changes, yet the Finding turns Overdue at its due date, with an Event")
	g.Eventually(func(g Gomega) {
		f := getFinding(g, ns, name)
		g.Expect(meta.IsStatusConditionTrue(f.Status.Conditions, ismsv1.FindingConditionOverdue)).To(BeTrue())
		g.Expect(eventReasons(g, ns, name)).To(ContainElement("FindingOverdue"))
	}, lowSeverityDue+eventually, poll).Should(Succeed())
	g.Expect(time.Now()).To(BeTemporally(">=", dueAt))

	t.Log("fixing the Deployment resolves it and records the time to remediate")
	setPrivileged(t, ns, "api", false)
	g.Eventually(func(g Gomega) {
		f := getFinding(g, ns, name)
		g.Expect(f.Status.State).To(Equal(ismsv1.FindingResolved))
		g.Expect(f.Status.Remediations).To(BeEquivalentTo(1))
		g.Expect(f.Status.LastTimeToRemediate).NotTo(BeNil())
		g.Expect(f.Status.LastTimeToRemediate.Duration).To(BeNumerically(">=", lowSeverityDue))
		g.Expect(f.Status.DueAt).To(BeNil())
		g.Expect(meta.IsStatusConditionFalse(f.Status.Conditions, ismsv1.FindingConditionOverdue)).To(BeTrue())
		var states []ismsv1.FindingState
		for _, h := range f.Status.History {
			states = append(states, h.State)
		}
		g.Expect(states).To(Equal([]ismsv1.FindingState{ismsv1.FindingOpen, ismsv1.FindingResolved}))
	}, eventually, poll).Should(Succeed())
}
