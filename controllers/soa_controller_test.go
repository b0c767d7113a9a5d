package controllers

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidence"
)

// The SoA tests map their Controls to A.6.7 and A.7.13, which no other test of the suite
// maps to, so that the rows they read hold only their own Controls.

func statementOf(name, approversGroup string, entries ...ismsv1.SoAEntry) *ismsv1.StatementOfApplicability {
	return &ismsv1.StatementOfApplicability{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: ismsv1.StatementOfApplicabilitySpec{Scope: "The test platform", Version: "1",
			Approvers: ismsv1.AttestationApprovers{Groups: []string{approversGroup}}, Entries: entries, EditedBy: "mallory"}}
}

func applicableEntry(id string) ismsv1.SoAEntry {
	return ismsv1.SoAEntry{Requirement: id, Applicable: true, Inclusions: []ismsv1.SoAInclusion{{Reason: ismsv1.InclusionBusinessNeed}}}
}

func getSoA(g Gomega, name string) *ismsv1.StatementOfApplicability {
	var s ismsv1.StatementOfApplicability
	g.Expect(k8s.Get(testCtx, types.NamespacedName{Name: name}, &s)).To(Succeed())
	return &s
}

func soaRow(g Gomega, s *ismsv1.StatementOfApplicability, id string) ismsv1.SoARequirementStatus {
	for _, r := range s.Status.Requirements {
		if r.ID == id {
			return r
		}
	}
	g.Expect(id).To(BeEmpty(), "no row for the requirement")
	return ismsv1.SoARequirementStatus{}
}

func soaCondition(s *ismsv1.StatementOfApplicability, conditionType string) metav1.Condition {
	if c := meta.FindStatusCondition(s.Status.Conditions, conditionType); c != nil {
		return *c
	}
	return metav1.Condition{}
}

func decideSoA(as client.Client, name, version string, decision ismsv1.SoADecision, claimedBy string) error {
	s := &ismsv1.StatementOfApplicability{ObjectMeta: metav1.ObjectMeta{Name: name}}
	patch := fmt.Sprintf(`{"spec":{"approval":{"version":%q,"decision":%q,"decidedBy":%q}}}`, version, decision, claimedBy)
	return as.Patch(testCtx, s, client.RawPatch(types.MergePatchType, []byte(patch)))
}

// TestSoAFollowsItsControls applies a statement and two Controls, one passing and one
// failing, and reads the states and totals an auditor sees; then the failing one is fixed.
func TestSoAFollowsItsControls(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns := uniqueName("soa")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, deployment(ns, "api", true))).To(Succeed())
	passing, failing := control(uniqueName("soa-image-tag"), deploymentTargets(ns), imageTagPolicy),
		control(uniqueName("soa-no-privileged"), deploymentTargets(ns), privilegedPolicy)
	passing.Spec.Frameworks = []ismsv1.FrameworkMapping{{Framework: "iso27001-2022", Requirements: []string{"A.6.7"}}}
	failing.Spec.Frameworks = []ismsv1.FrameworkMapping{{Framework: "iso27001-2022", Requirements: []string{"A.6.7", "A.7.13"}}}
	g.Expect(k8s.Create(testCtx, passing)).To(Succeed())
	g.Expect(k8s.Create(testCtx, failing)).To(Succeed())

	name := uniqueName("platform")
	excluded := ismsv1.SoAEntry{Requirement: "A.5.1", ExclusionJustification: "Out of this scope: the group's policy applies"}
	s := statementOf(name, "isms-management", applicableEntry("A.6.7"), applicableEntry("A.7.13"), excluded, applicableEntry("A.6.77"))
	g.Expect(k8s.Create(testCtx, s)).To(Succeed())

	t.Log("one Control passes and one fails: A.6.7 is Partial, A.7.13 NotImplemented, the rest kept")
	g.Eventually(func(g Gomega) {
		s := getSoA(g, name)
		g.Expect(s.Status.ObservedGeneration).To(Equal(s.Generation))
		g.Expect(s.Status.Requirements).To(HaveLen(93))
		a67 := soaRow(g, s, "A.6.7")
		g.Expect(a67.State).To(Equal(ismsv1.SoAPartial))
		g.Expect(a67.Controls).To(ConsistOf(ismsv1.SoAControlResult{Name: passing.Name, Result: ismsv1.ResultPass},
			ismsv1.SoAControlResult{Name: failing.Name, Result: ismsv1.ResultFail}))
		g.Expect(a67.OpenFindings).To(BeEquivalentTo(1))
		g.Expect(soaRow(g, s, "A.7.13").State).To(Equal(ismsv1.SoANotImplemented))
		g.Expect(soaRow(g, s, "A.5.1").State).To(Equal(ismsv1.SoANotApplicable))
		g.Expect(soaRow(g, s, "A.8.1").State).To(Equal(ismsv1.SoANotAssessed))
		g.Expect(s.Status.Totals).To(Equal(ismsv1.SoATotals{Requirements: 93, Applicable: 2, NotApplicable: 1, NotAssessed: 90,
			Partial: 1, NotImplemented: 1}))
		known := soaCondition(s, ismsv1.SoAConditionRequirementsKnown)
		g.Expect(known.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(known.Message).To(ContainSubstring(`spec.entries[3].requirement: iso27001-2022 has no requirement "A.6.77"`))
		g.Expect(s.Status.UnknownRequirements).To(Equal([]string{"A.6.77"}))
		g.Expect(soaCondition(s, ismsv1.SoAConditionApproved).Reason).To(Equal(ismsv1.ReasonSoANotApproved))
	}, eventually, poll).Should(Succeed())

	t.Log("fixing the workload implements both")
	setPrivileged(t, ns, "api", false)
	g.Eventually(func(g Gomega) {
		s := getSoA(g, name)
		g.Expect(soaRow(g, s, "A.6.7").State).To(Equal(ismsv1.SoAImplemented))
		g.Expect(soaRow(g, s, "A.7.13").State).To(Equal(ismsv1.SoAImplemented))
		g.Expect(s.Status.Totals.Implemented).To(BeEquivalentTo(2))
		g.Expect(s.Status.Totals.Partial + s.Status.Totals.NotImplemented).To(BeZero())
	}, riskEventually, poll).Should(Succeed())
}

// TestSoAApprovalComesFromTheAPIServer: who edited and who approved are the API server's users;
// the last editor cannot approve; the approved version is in the ledger's answer for a date.
func TestSoAApprovalComesFromTheAPIServer(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	approvers := uniqueName("isms-management")
	aliceName, bobName, daveName := uniqueName("alice"), uniqueName("bob"), uniqueName("dave")
	// alice edits and is an approver too: that does not let her approve what she edited.
	alice := testUser(t, aliceName, []string{approvers}, "soa_editor_role.yaml")
	bob := testUser(t, bobName, []string{approvers}, "soa_approver_role.yaml")
	dave := testUser(t, daveName, []string{"developers"}, "soa_approver_role.yaml")

	t.Log("a not-applicable entry without a justification is refused by the CRD")
	bad := statementOf(uniqueName("bad"), approvers, ismsv1.SoAEntry{Requirement: "A.7.4"})
	g.Expect(alice.Create(testCtx, bad)).To(MatchError(ContainSubstring("exclusionJustification is required when applicable is false")))

	t.Log("alice creates it, claiming to be mallory: editedBy says alice")
	name := uniqueName("platform")
	g.Expect(alice.Create(testCtx, statementOf(name, approvers, applicableEntry("A.6.7")))).To(Succeed())
	g.Expect(getSoA(g, name).Spec.EditedBy).To(Equal(aliceName))

	t.Log("alice cannot approve her version; dave, no approver, cannot; bob cannot approve another version")
	g.Expect(decideSoA(alice, name, "1", ismsv1.SoAApproved, aliceName)).To(MatchError(ContainSubstring("last edited this version")))
	g.Expect(decideSoA(dave, name, "1", ismsv1.SoAApproved, daveName)).To(MatchError(ContainSubstring("not among")))
	g.Expect(decideSoA(bob, name, "0", ismsv1.SoAApproved, bobName)).To(MatchError(ContainSubstring("decide the version you read")))

	t.Log("bob approves, claiming to be alice: the approval says bob, and the ledger records it")
	before := time.Now().Add(-time.Second)
	g.Expect(decideSoA(bob, name, "1", ismsv1.SoAApproved, aliceName)).To(Succeed())
	a := getSoA(g, name).Spec.Approval
	g.Expect(a.DecidedBy).To(Equal(bobName))
	g.Expect(a.DecidedAt.Time).To(BeTemporally(">=", before.Truncate(time.Second)))
	g.Eventually(func(g Gomega) {
		s := getSoA(g, name)
		g.Expect(soaCondition(s, ismsv1.SoAConditionApproved).Status).To(Equal(metav1.ConditionTrue))
		g.Expect(s.Status.Approved).NotTo(BeNil())
		g.Expect(s.Status.Approved.By).To(Equal(bobName))
		g.Expect(s.Status.Approved.Digest).To(Equal(s.Status.ContentDigest))
		g.Expect(s.Status.Approved.Recorded).To(BeTrue())
	}, eventually, poll).Should(Succeed())
	digest := getSoA(g, name).Status.ContentDigest
	g.Eventually(func(g Gomega) {
		g.Expect(soaInForce(g, name, time.Now())).To(Equal(evidence.SoADecision{Name: name, Version: "1", Framework: "iso27001-2022",
			Decision: evidence.SoAApproved, Digest: digest, DecidedBy: bobName, DecidedAt: a.DecidedAt.UTC().Format(time.RFC3339), EditedBy: aliceName}))
	}, eventually, poll).Should(Succeed())
	firstInForce := time.Now()

	t.Log("bob edits it: it is no longer approved, and bob, its last editor, cannot approve it; alice can")
	edit := `{"spec":{"version":"2","scope":"The test platform and its CI"}}`
	g.Expect(bob.Patch(testCtx, &ismsv1.StatementOfApplicability{ObjectMeta: metav1.ObjectMeta{Name: name}},
		client.RawPatch(types.MergePatchType, []byte(edit)))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(soaCondition(getSoA(g, name), ismsv1.SoAConditionApproved).Reason).To(Equal(ismsv1.ReasonSoAChangedSinceApproval))
	}, eventually, poll).Should(Succeed())
	g.Expect(decideSoA(bob, name, "2", ismsv1.SoAApproved, "")).To(MatchError(ContainSubstring("last edited")))
	g.Expect(decideSoA(alice, name, "2", ismsv1.SoAApproved, "")).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(soaInForce(g, name, time.Now()).Version).To(Equal("2"))
	}, eventually, poll).Should(Succeed())
	g.Expect(soaInForce(g, name, firstInForce).Version).To(Equal("1"), "the version in force before the second approval")
}

// soaInForce is the ledger's answer for the statement at t, verified as an auditor would.
func soaInForce(g Gomega, name string, t time.Time) evidence.SoADecision {
	snap, err := operator.ledger.At(testCtx, t)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(evidence.VerifySnapshot(snap, operator.ledger.VerifierKey())).To(Succeed())
	for _, p := range snap.SoAs {
		if p.Leaf.SoA.Name == name {
			return *p.Leaf.SoA
		}
	}
	return evidence.SoADecision{}
}
