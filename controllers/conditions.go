package controllers

import (
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func setCondition(control *ismsv1.Control, conditionType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&control.Status.Conditions, metav1.Condition{
		Type:               conditionType,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: control.Generation,
	})
}

func findCondition(conditions []metav1.Condition, conditionType string) *metav1.Condition {
	return meta.FindStatusCondition(conditions, conditionType)
}

func equalStatus(a, b ismsv1.ControlStatus) bool {
	return equality.Semantic.DeepEqual(a, b)
}

// timeRef stores a time at the API's one-second resolution, so that what is read back compares
// equal to what was written.
func timeRef(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t.Truncate(time.Second))
	return &mt
}
