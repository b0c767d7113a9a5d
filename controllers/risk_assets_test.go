package controllers

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// TestRiskScoredOnItsAssets: a Risk whose assets select a labelled namespace lists that
// namespace and its Deployments, and its residual risk counts only the Control that evaluates
// them, neither an unrelated failing Control nor an unrelated passing one.
func TestRiskScoredOnItsAssets(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	dataLabel := map[string]string{"risk-assets-data": uniqueName("cardholder")}
	payments, other := uniqueName("risk-assets-pay"), uniqueName("risk-assets-other")
	createNamespace(t, payments, dataLabel)
	createNamespace(t, other, nil)
	g.Expect(k8s.Create(testCtx, deployment(payments, "api", false))).To(Succeed())
	g.Expect(k8s.Create(testCtx, deployment(payments, "worker", false))).To(Succeed())
	g.Expect(k8s.Create(testCtx, deployment(other, "legacy", true))).To(Succeed())

	onAssets := uniqueName("risk-assets-on")
	onTargets := deploymentTargets()
	onTargets.NamespaceSelector = &metav1.LabelSelector{MatchLabels: dataLabel}
	unrelatedFailing, unrelatedPassing := uniqueName("risk-assets-failing"), uniqueName("risk-assets-passing")
	g.Expect(k8s.Create(testCtx, control(onAssets, onTargets, privilegedPolicy))).To(Succeed())
	g.Expect(k8s.Create(testCtx, control(unrelatedFailing, deploymentTargets(other), privilegedPolicy))).To(Succeed())
	g.Expect(k8s.Create(testCtx, control(unrelatedPassing, deploymentTargets(other), imageTagPolicy))).To(Succeed())

	// Inherent 4×4. Counting only onAssets: (4-2)×4 = 8. Were the unrelated controls counted,
	// the passing one would bring it to 2×2 = 4 and the failing one would be reported failing.
	name := uniqueName("cardholder-data")
	rk := riskObject(name,
		ismsv1.RiskControlRef{Name: onAssets, LikelihoodReduction: 2},
		ismsv1.RiskControlRef{Name: unrelatedFailing, LikelihoodReduction: 1},
		ismsv1.RiskControlRef{Name: unrelatedPassing, ImpactReduction: 2},
	)
	rk.Spec.Assets = []ismsv1.RiskAsset{{Description: "cardholder data", NamespaceSelector: &metav1.LabelSelector{MatchLabels: dataLabel}}}
	g.Expect(k8s.Create(testCtx, rk)).To(Succeed())

	g.Eventually(func(g Gomega) {
		g.Expect(getControl(g, unrelatedFailing).Status.Result).To(Equal(ismsv1.ResultFail))
		r := getRisk(g, name)
		g.Expect(r.Status.Assets).NotTo(BeNil())
		g.Expect(r.Status.Assets.Count).To(BeEquivalentTo(3))
		g.Expect(r.Status.Assets.Items).To(Equal([]ismsv1.RiskAssetRef{
			{Kind: "Namespace", Name: payments},
			{Kind: "Deployment", Namespace: payments, Name: "api"},
			{Kind: "Deployment", Namespace: payments, Name: "worker"},
		}))
		g.Expect(r.Status.Assets.UnwatchedKinds).NotTo(ContainElement("Deployment.apps"))
		g.Expect(r.Status.Controls).To(Equal([]ismsv1.RiskControlStatus{
			{Name: onAssets, Result: ismsv1.ResultPass, Effective: true},
			{Name: unrelatedFailing, Result: ismsv1.ResultFail, OffAssets: true},
			{Name: unrelatedPassing, Result: ismsv1.ResultPass, OffAssets: true},
		}))
		g.Expect(r.Status.ResidualScore).To(BeEquivalentTo(8))
		g.Expect(r.Status.EffectiveControls).To(BeEquivalentTo(1))
		g.Expect(r.Status.FailingControls).To(BeZero())
		cond := riskCondition(r, ismsv1.ConditionWithinAppetite)
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Message).To(ContainSubstring("2 linked control(s) evaluate none of its assets"))
		g.Expect(cond.Message).NotTo(ContainSubstring("select no object"))
	}, eventually, poll).Should(Succeed())

	t.Log("without asset selectors the same Risk counts every linked Control, as before")
	g.Eventually(func(g Gomega) {
		r := getRisk(g, name)
		r.Spec.Assets = []ismsv1.RiskAsset{{Description: "cardholder data"}}
		g.Expect(k8s.Update(testCtx, r)).To(Succeed())
	}, eventually, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		r := getRisk(g, name)
		g.Expect(r.Status.Assets).To(BeNil())
		g.Expect(r.Status.ResidualScore).To(BeEquivalentTo(4))
		g.Expect(r.Status.FailingControls).To(BeEquivalentTo(1))
		g.Expect(r.Status.EffectiveControls).To(BeEquivalentTo(2))
	}, eventually, poll).Should(Succeed())
}
