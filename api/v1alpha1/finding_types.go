package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Bounds on what a Finding stores, so that one Finding stays small in etcd however many subjects
// fail. The totals are always exact.
const (
	// MaxFindingSubjects is how many failing subjects a Finding lists.
	MaxFindingSubjects = 50
	// MaxSubjectMessages is how many policy messages are kept per subject.
	MaxSubjectMessages = 5
	// MaxMessageLength is the length at which a policy message is cut.
	MaxMessageLength = 256
	// MaxFindingSubjectsBytes bounds the size of the listed failing and excepted subjects
	// together, so that a Finding, with its history, conditions and metadata, stays under 4 KiB
	// in etcd whatever the policy's messages look like; the counts stay exact.
	MaxFindingSubjectsBytes = 640
	// MaxFindingHistory is how many state changes a Finding keeps, newest last, within
	// MaxFindingHistoryBytes; each reason is cut to MaxHistoryReasonLength.
	MaxFindingHistory      = 10
	MaxFindingHistoryBytes = 800
	MaxHistoryReasonLength = 64
	// MaxFindingMessageLength bounds status.message, the one-line summary.
	MaxFindingMessageLength = 160
)

// FindingState is where a Finding is in its life.
// +kubebuilder:validation:Enum=Open;Acknowledged;Resolved
type FindingState string

const (
	// FindingOpen: subjects of the control fail in this namespace.
	FindingOpen FindingState = "Open"
	// FindingAcknowledged: subjects still fail, and an owner has acknowledged the Finding
	// (spec.acknowledgement).
	FindingAcknowledged FindingState = "Acknowledged"
	// FindingResolved: every subject that failed passes again (or is gone).
	FindingResolved FindingState = "Resolved"
)

// IsOpen reports whether subjects still fail: Open or Acknowledged.
func (s FindingState) IsOpen() bool {
	return s == FindingOpen || s == FindingAcknowledged
}

// FindingConditionOverdue is True while an open Finding is past its status.dueAt.
const FindingConditionOverdue = "Overdue"

// Reasons of a Finding's Overdue condition.
const (
	// ReasonPastDue: Overdue is True, subjects still fail after status.dueAt.
	ReasonPastDue = "PastDue"
	// ReasonWithinDue: Overdue is False, status.dueAt is ahead.
	ReasonWithinDue = "WithinDue"
	// ReasonNoDueDate: Overdue is False, Findings of severity info have no due date.
	ReasonNoDueDate = "NoDueDate"
	// ReasonFindingResolved: Overdue is False, the Finding is resolved.
	ReasonFindingResolved = "Resolved"
)

// Event reasons of a Finding, one per transition of its lifecycle.
const (
	// EventFindingOpened: subjects fail where no Finding was open.
	EventFindingOpened = "FindingOpened"
	// EventFindingReopened: subjects fail again after the Finding was resolved.
	EventFindingReopened = "FindingReopened"
	// EventFindingResolved: no subject fails any more (or every failing one is excepted).
	EventFindingResolved = "FindingResolved"
	// EventFindingAcknowledged: its owners set spec.acknowledgement.
	EventFindingAcknowledged = "FindingAcknowledged"
	// EventFindingUnacknowledged: the acknowledgement was removed while subjects still fail.
	EventFindingUnacknowledged = "FindingUnacknowledged"
	// EventFindingOverdue: still open after its due date.
	EventFindingOverdue = "FindingOverdue"
)

// Labels the operator sets on every Finding, for selection with kubectl -l.
const (
	LabelControl  = "isms.dev/control"
	LabelSeverity = "isms.dev/severity"
)

// FindingSpec identifies what a Finding is about. The operator sets it when it raises the
// Finding and keeps it in line with the Control; acknowledgement alone belongs to users.
type FindingSpec struct {
	// control is the name of the Control that raised the Finding.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Control string `json:"control"`

	// controlID is the control's human identifier (spec.id of the Control).
	// +required
	// +kubebuilder:validation:MaxLength=63
	ControlID string `json:"controlID"`

	// title is the control's title, so the Finding reads on its own.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Title string `json:"title,omitempty"`

	// severity is the control's severity.
	// +required
	Severity Severity `json:"severity"`

	// frameworks are the requirements the failing control provides evidence for.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Frameworks []FrameworkMapping `json:"frameworks,omitempty"`

	// acknowledgement is set by the Finding's owners to triage it (kubectl patch); the operator
	// never changes it. While subjects fail, an acknowledged Finding reads Acknowledged.
	// +optional
	Acknowledgement *FindingAcknowledgement `json:"acknowledgement,omitempty"`
}

// FindingAcknowledgement records that an owner has seen a Finding and plans to fix it.
type FindingAcknowledgement struct {
	// by names who acknowledged the Finding.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	By string `json:"by"`

	// note says what is planned, or why it waits.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Note string `json:"note,omitempty"`

	// plannedFixDate is when the owners expect the subjects to pass.
	// +optional
	PlannedFixDate *metav1.Time `json:"plannedFixDate,omitempty"`
}

// FindingHistoryEntry is one change of a Finding's state.
type FindingHistoryEntry struct {
	// +required
	Time metav1.Time `json:"time"`
	// +required
	State FindingState `json:"state"`
	// reason says why the state changed.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Reason string `json:"reason,omitempty"`
}

// FailingSubject is one object that violates the control's policy.
type FailingSubject struct {
	// +required
	// +kubebuilder:validation:MaxLength=317
	APIVersion string `json:"apiVersion"`
	// +required
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`
	// name of the subject, in the Finding's namespace (or cluster-scoped, for a Finding in
	// the operator's namespace about cluster-scoped subjects).
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// +optional
	// +kubebuilder:validation:MaxLength=36
	UID string `json:"uid,omitempty"`
	// messages are the policy's violation messages, at most 5, each cut to 256 characters.
	// +optional
	// +kubebuilder:validation:MaxItems=5
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=atomic
	Messages []string `json:"messages,omitempty"`
}

// ExceptedSubject is a failing subject that a ControlException exempts.
type ExceptedSubject struct {
	// +required
	// +kubebuilder:validation:MaxLength=317
	APIVersion string `json:"apiVersion"`
	// +required
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// exception is the name of the ControlException that exempts it.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Exception string `json:"exception"`
}

// FindingStatus is the operator's record of the failing evidence.
type FindingStatus struct {
	// state is Open while subjects fail (Acknowledged once spec.acknowledgement is set),
	// Resolved once they all pass again.
	// +optional
	State FindingState `json:"state,omitempty"`

	// conditions: Overdue is True while the Finding is open past dueAt.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// openedAt is when the Finding last opened or reopened: the start of its due period and of
	// its time to remediate.
	// +optional
	OpenedAt *metav1.Time `json:"openedAt,omitempty"`

	// dueAt is when an open Finding must be resolved: openedAt plus the due period of its
	// severity (none for info). Cleared when it resolves.
	// +optional
	DueAt *metav1.Time `json:"dueAt,omitempty"`

	// history lists the Finding's last 10 state changes, oldest first.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	History []FindingHistoryEntry `json:"history,omitempty"`

	// remediations counts how often the Finding was resolved by its subjects passing again
	// (not by exceptions).
	// +optional
	Remediations int32 `json:"remediations"`

	// lastTimeToRemediate is how long the latest remediation took, from openedAt to resolvedAt.
	// +optional
	LastTimeToRemediate *metav1.Duration `json:"lastTimeToRemediate,omitempty"`

	// resolvedAcknowledgement is spec.acknowledgement as it was when the Finding last resolved.
	// While spec.acknowledgement is unchanged it does not acknowledge a reopened Finding, unless
	// its plannedFixDate is still ahead.
	// +optional
	ResolvedAcknowledgement *FindingAcknowledgement `json:"resolvedAcknowledgement,omitempty"`

	// reopenCount counts how often the Finding was resolved and then failed again.
	// +optional
	ReopenCount int32 `json:"reopenCount"`

	// firstSeen is when the failure was first observed.
	// +optional
	FirstSeen *metav1.Time `json:"firstSeen,omitempty"`

	// lastSeen is when the failure was last observed. While nothing else in the Finding
	// changes, it is refreshed at most once an hour; the Control's status says when its
	// evidence was last evaluated.
	// +optional
	LastSeen *metav1.Time `json:"lastSeen,omitempty"`

	// resolvedAt is when the Finding was last resolved; cleared when it reopens.
	// +optional
	ResolvedAt *metav1.Time `json:"resolvedAt,omitempty"`

	// subjectCount is the exact number of failing subjects, of which subjects lists at most 50
	// (fewer when their messages are long: with the excepted subjects, the lists are kept under 640 bytes).
	// +optional
	SubjectCount int32 `json:"subjectCount"`

	// subjects are the failing subjects, sorted by kind and name, at most 50, within 640 bytes together with the excepted subjects.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +listType=atomic
	Subjects []FailingSubject `json:"subjects,omitempty"`

	// exceptedCount is the exact number of failing subjects that active ControlExceptions
	// exempt; they do not keep the Finding open.
	// +optional
	ExceptedCount int32 `json:"exceptedCount"`

	// exceptedSubjects lists at most 50 of the exempted subjects, sorted by kind and name.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	// +listType=atomic
	ExceptedSubjects []ExceptedSubject `json:"exceptedSubjects,omitempty"`

	// policyDigest is the digest of the policy that produced this evidence.
	// +optional
	PolicyDigest string `json:"policyDigest,omitempty"`

	// message summarises the Finding for humans.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
}

// Finding records that a Control fails in one namespace: one Finding per (Control, namespace),
// named after the Control, so raising it again is idempotent. Failing cluster-scoped subjects
// are recorded in the operator's namespace.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=isms,shortName=fnd
// +kubebuilder:printcolumn:name="Control",type=string,JSONPath=`.spec.controlID`
// +kubebuilder:printcolumn:name="Severity",type=string,JSONPath=`.spec.severity`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Subjects",type=integer,JSONPath=`.status.subjectCount`
// +kubebuilder:printcolumn:name="Excepted",type=integer,JSONPath=`.status.exceptedCount`,priority=1
// +kubebuilder:printcolumn:name="Due",type=string,JSONPath=`.status.dueAt`,description="The due date (a date column would print a future time as <invalid>)"
// +kubebuilder:printcolumn:name="First Seen",type=date,JSONPath=`.status.firstSeen`
// +kubebuilder:printcolumn:name="Last Seen",type=date,JSONPath=`.status.lastSeen`
// +kubebuilder:printcolumn:name="Reopened",type=integer,JSONPath=`.status.reopenCount`,priority=1
// +kubebuilder:printcolumn:name="Ack By",type=string,JSONPath=`.spec.acknowledgement.by`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.message`,priority=1
type Finding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FindingSpec `json:"spec"`
	// +optional
	Status FindingStatus `json:"status,omitempty"`
}

// FindingList is a list of Findings.
// +kubebuilder:object:root=true
type FindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Finding `json:"items"`
}
