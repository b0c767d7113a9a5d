package controllers

import (
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidence"
)

// An attested control with a period of a few seconds goes through its whole life in the test:
// Pending before the first approval, Pass while the approval is current (with UpcomingRenewal
// once renewal is due), Fail with a Finding once period and grace are over, and Pass again,
// with the Finding resolved, once a new attestation is approved.
func TestAttestedControlExpiresAndIsRenewed(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	approvers := uniqueName("isms-approvers")
	aliceName, bobName := uniqueName("alice"), uniqueName("bob")
	alice := testUser(t, aliceName, nil, "attestation_submitter_role.yaml")
	bob := testUser(t, bobName, []string{approvers}, "attestation_approver_role.yaml")
	ctl := attestedControl(uniqueName("a-8-13"), "4s", "2s", approvers)
	g.Expect(k8s.Create(testCtx, ctl)).To(Succeed())

	t.Log("before any approval the control is Pending, awaiting alice's submission's approval")
	first := uniqueName("backup-restore-test")
	g.Expect(alice.Create(testCtx, newAttestation(first, ctl.Name, ""))).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, ctl.Name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultPending))
		g.Expect(c.Status.Attestation).NotTo(BeNil())
		g.Expect(c.Status.Attestation.Standing).To(Equal("NeverAttested"))
		g.Expect(c.Status.Attestation.AwaitingApproval).To(Equal(int32(1)))
		g.Expect(condition(c, ismsv1.ConditionPolicyReady).Type).To(BeEmpty())
	}, eventually, poll).Should(Succeed())

	t.Log("bob approves: the control passes, then announces its renewal, then fails with a Finding")
	g.Expect(decide(bob, first, ismsv1.AttestationApproved, "")).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, ctl.Name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultPass))
		g.Expect(c.Status.Attestation.Current).To(Equal(first))
		g.Expect(findCondition(getAttestation(g, first).Status.Conditions, ismsv1.AttestationConditionInForce)).NotTo(BeNil())
	}, eventually, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, ctl.Name)
		g.Expect(condition(c, ismsv1.ConditionUpcomingRenewal).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultPass))
	}, eventually, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, ctl.Name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultFail))
		g.Expect(c.Status.OpenFindings).To(Equal(int32(1)))
		f := getFinding(g, operatorNamespace, ctl.Name)
		g.Expect(f.Status.State).To(Equal(ismsv1.FindingOpen))
		g.Expect(subjectNames(f)).To(Equal([]string{ctl.Name}))
		g.Expect(f.Status.Subjects[0].Kind).To(Equal("Control"))
		g.Expect(f.Status.DueAt).NotTo(BeNil())
		in := findCondition(getAttestation(g, first).Status.Conditions, ismsv1.AttestationConditionInForce)
		g.Expect(in.Reason).To(Equal(ismsv1.ReasonAttestationExpired))
	}, eventually, poll).Should(Succeed())
	g.Expect(eventReasons(g, "default", ctl.Name)).To(ContainElements(ismsv1.EventRenewalDue, ismsv1.EventControlFailing))

	t.Log("a new approved attestation resolves the Finding; a rejected one is recorded too")
	rejected := uniqueName("backup-restore-test")
	g.Expect(alice.Create(testCtx, newAttestation(rejected, ctl.Name, ""))).To(Succeed())
	g.Expect(decide(bob, rejected, ismsv1.AttestationRejected, "")).To(Succeed())
	second := uniqueName("backup-restore-test")
	g.Expect(alice.Create(testCtx, newAttestation(second, ctl.Name, ""))).To(Succeed())
	g.Expect(decide(bob, second, ismsv1.AttestationApproved, "")).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, ctl.Name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultPass))
		g.Expect(c.Status.Attestation.Current).To(Equal(second))
		g.Expect(getFinding(g, operatorNamespace, ctl.Name).Status.State).To(Equal(ismsv1.FindingResolved))
		g.Expect(eventReasons(g, "default", ctl.Name)).To(ContainElements(ismsv1.EventAttestationRejected, ismsv1.EventControlPassing))
	}, eventually, poll).Should(Succeed())

	t.Log("the ledger holds every step, with the artifacts' digests")
	g.Eventually(func(g Gomega) {
		var steps []string
		for _, e := range controlLog(t, ctl.Name, false) {
			if a := e.Leaf.Attestation; a != nil {
				steps = append(steps, a.Name+" "+a.Step)
				if a.Step == evidence.StepApproved {
					g.Expect(a.DecidedBy).To(Equal(bobName))
					g.Expect(a.SubmittedBy).To(Equal(aliceName))
					g.Expect(a.Artifacts).To(HaveLen(1))
				}
			}
		}
		g.Expect(steps).To(ContainElements(first+" Submitted", first+" Approved", first+" Expired",
			rejected+" Rejected", second+" Approved"))
		g.Expect(slices.Index(steps, first+" Approved")).To(BeNumerically("<", slices.Index(steps, first+" Expired")))
	}, eventually, poll).Should(Succeed())
}
