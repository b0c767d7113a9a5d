package finding

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// Workflow is the manager's configuration of the finding workflow: due dates and retention.
// (Not to be confused with ismsv1.Policy, the CRD, or policy.Policy, compiled Rego.)
type Workflow struct {
	// DuePeriods are how long an open Finding of each severity may stay open; a severity
	// without one (info, by default) has no due date.
	DuePeriods map[ismsv1.Severity]time.Duration
	// Retention is how long a Resolved Finding is kept before it is deleted; 0 keeps it.
	Retention time.Duration
}

// Defaults of the finding workflow.
const (
	DefaultDueCritical = 7 * 24 * time.Hour
	DefaultDueHigh     = 30 * 24 * time.Hour
	DefaultDueMedium   = 90 * 24 * time.Hour
	DefaultDueLow      = 180 * 24 * time.Hour
	DefaultRetention   = 30 * 24 * time.Hour
)

// DefaultWorkflow: critical 7 days, high 30, medium 90, low 180, info none; resolved Findings
// are kept 30 days.
func DefaultWorkflow() Workflow {
	return Workflow{
		DuePeriods: map[ismsv1.Severity]time.Duration{
			ismsv1.SeverityCritical: DefaultDueCritical,
			ismsv1.SeverityHigh:     DefaultDueHigh,
			ismsv1.SeverityMedium:   DefaultDueMedium,
			ismsv1.SeverityLow:      DefaultDueLow,
		},
		Retention: DefaultRetention,
	}
}

// DuePeriod is the due period of a severity, if it has one.
func (w Workflow) DuePeriod(s ismsv1.Severity) (time.Duration, bool) {
	d, ok := w.DuePeriods[s]
	return d, ok && d > 0
}

// Expired reports whether a Resolved Finding has outlived the retention and is to be deleted.
func (w Workflow) Expired(s ismsv1.FindingStatus, now time.Time) bool {
	return w.Retention > 0 && s.State == ismsv1.FindingResolved && s.ResolvedAt != nil &&
		!now.Before(s.ResolvedAt.Add(w.Retention))
}

// WakeAt is when the Finding next changes with time alone: an open Finding becomes overdue at
// its due date, a resolved one expires after the retention. It is zero when nothing is due.
func (w Workflow) WakeAt(s ismsv1.FindingStatus) time.Time {
	switch {
	case s.State.IsOpen() && s.DueAt != nil && !isOverdue(s):
		return s.DueAt.Time
	case s.State == ismsv1.FindingResolved && s.ResolvedAt != nil && w.Retention > 0:
		return s.ResolvedAt.Add(w.Retention)
	}
	return time.Time{}
}

// IsOverdue reports whether the Finding's Overdue condition is True.
func IsOverdue(s ismsv1.FindingStatus) bool { return isOverdue(s) }

func isOverdue(s ismsv1.FindingStatus) bool {
	return meta.IsStatusConditionTrue(s.Conditions, ismsv1.FindingConditionOverdue)
}

// openedAt is when the Finding's current (or last) open period began; Findings written before
// openedAt existed fall back to firstSeen.
func openedAt(s ismsv1.FindingStatus) *metav1.Time {
	if s.OpenedAt != nil {
		return s.OpenedAt
	}
	return s.FirstSeen
}

func setOverdue(s *ismsv1.FindingStatus, status metav1.ConditionStatus, reason, message string, now time.Time) {
	meta.SetStatusCondition(&s.Conditions, metav1.Condition{
		Type:               ismsv1.FindingConditionOverdue,
		Status:             status,
		Reason:             reason,
		Message:            message,
		LastTransitionTime: *timeRef(now),
	})
}

// appendHistory records a state change, keeping the last MaxFindingHistory entries that fit in
// MaxFindingHistoryBytes (the newest always does).
func appendHistory(h []ismsv1.FindingHistoryEntry, now time.Time, state ismsv1.FindingState, reason string) []ismsv1.FindingHistoryEntry {
	h = append(h, ismsv1.FindingHistoryEntry{Time: *timeRef(now), State: state, Reason: policy.Truncate(reason, ismsv1.MaxHistoryReasonLength)})
	first, size := len(h)-1, 0
	for i := len(h) - 1; i >= 0 && len(h)-i <= ismsv1.MaxFindingHistory; i-- {
		const keys = len(`{"time":"2006-01-02T15:04:05Z","state":"","reason":""},`)
		if size += keys + len(h[i].State) + len(h[i].Reason); size > ismsv1.MaxFindingHistoryBytes && i < len(h)-1 {
			break
		}
		first = i
	}
	if first > 0 {
		h = append([]ismsv1.FindingHistoryEntry(nil), h[first:]...)
	}
	return h
}

func ackReason(a *ismsv1.FindingAcknowledgement) string {
	r := "Acknowledged by " + a.By
	if a.PlannedFixDate != nil {
		r += fmt.Sprintf(", fix planned by %s", a.PlannedFixDate.UTC().Format("2006-01-02"))
	}
	if a.Note != "" {
		r += ": " + a.Note
	}
	return r
}
