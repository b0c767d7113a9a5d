package controllers

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// TestFrameworkTypoIsReportedOnTheControl: a requirement its catalog lacks turns
// FrameworksKnown False with the field path, the control is still evaluated, and fixing the
// typo turns the condition True.
func TestFrameworkTypoIsReportedOnTheControl(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	name := uniqueName("framework-typo")
	c := control(name, deploymentTargets(uniqueName("no-such-namespace")), privilegedPolicy)
	c.Spec.Frameworks = []ismsv1.FrameworkMapping{{Framework: "iso27001-2022", Requirements: []string{"A.8.9", "8.22"}}}
	g.Expect(k8s.Create(testCtx, c)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		cond := condition(c, ismsv1.ConditionFrameworksKnown)
		g.Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonUnknownRequirement))
		g.Expect(cond.Message).To(ContainSubstring(`spec.frameworks[0].requirements[1]: "8.22" is not a requirement id of iso27001-2022 (did you mean "A.8.22"`))
		g.Expect(cond.ObservedGeneration).To(Equal(c.Generation))
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultNotApplicable))
	}, eventually, poll).Should(Succeed())

	fixed := getControl(g, name)
	fixed.Spec.Frameworks[0].Requirements[1] = "A.8.22"
	g.Expect(k8s.Update(testCtx, fixed)).To(Succeed())
	g.Eventually(func(g Gomega) {
		cond := condition(getControl(g, name), ismsv1.ConditionFrameworksKnown)
		g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(cond.Reason).To(Equal(ismsv1.ReasonRequirementsKnown))
	}, eventually, poll).Should(Succeed())
}
