package controllers

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
)

func setCondition(control *ismsv1.Control, conditionType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&control.Status.Conditions, metav1.Condition{
		Type:               conditionType,
		Status:             status,
		Reason:             reason,
		Message:            policy.Truncate(message, maxNoteLen),
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

// maxNoteLen bounds what the operator writes into a condition message or an Event note:
// both quote policy messages, compile errors and API errors, which people (or a hostile
// policy) make as long as they like, and an Event's note may hold 1 KiB at most.
const maxNoteLen = 1024

// boundedRecorder cuts every Event note to maxNoteLen, so that no Event is refused for its
// size and lost.
type boundedRecorder struct{ events.EventRecorder }

func (r boundedRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, "%s", policy.Truncate(fmt.Sprintf(note, args...), maxNoteLen))
}

// eventRecorder is the manager's Event recorder, bounded.
func eventRecorder(mgr ctrl.Manager) events.EventRecorder {
	return boundedRecorder{mgr.GetEventRecorder("isms-operator")}
}
