package controllers

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/frameworks"
)

// setFrameworksCondition sets the Control's FrameworksKnown condition from its
// spec.frameworks checked against the embedded catalogs: False when a requirement is not in
// its catalog or a framework has none, so that a typo shows on the Control instead of
// silently leaving it out of a framework's coverage. It does not change the evaluation.
func setFrameworksCondition(control *ismsv1.Control) {
	v := frameworks.Summarize(frameworks.Check(control.Spec.Frameworks))
	status := metav1.ConditionFalse
	if v.Known {
		status = metav1.ConditionTrue
	}
	setCondition(control, ismsv1.ConditionFrameworksKnown, status, v.Reason, v.Message)
}
