package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// AttestationDuration is a span of time in days ("90d") or in Go's units ("2160h", "30m",
// "5s"). Real schedules are days; the shorter units are there for tests and demos.
// +kubebuilder:validation:MaxLength=16
// +kubebuilder:validation:Pattern=`^([0-9]{1,4}d|([0-9]{1,7}(ms|s|m|h))+)$`
type AttestationDuration string

// ControlAttestationSchedule makes a Control attested instead of evaluated: a person states,
// every so often, that the control is in place, with evidence artifacts, and another person
// approves the statement (an Attestation). The control passes while an approved attestation
// is current, is Pending before the first one, and fails when the latest one has expired.
type ControlAttestationSchedule struct {
	// every is how long an approved attestation is current, from its approval: e.g. 90d.
	// Between 1s and 1096d (3 years).
	// +required
	// +kubebuilder:validation:XValidation:rule="self.endsWith('d') ? (int(self.substring(0, size(self) - 1)) >= 1 && int(self.substring(0, size(self) - 1)) <= 1096) : (duration(self) >= duration('1s') && duration(self) <= duration('26304h'))",message="every must be between 1s and 1096d"
	Every AttestationDuration `json:"every"`

	// grace is how long after every the control still passes, awaiting the renewal: e.g.
	// 14d. At most 366d; none when unset.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.endsWith('d') ? int(self.substring(0, size(self) - 1)) <= 366 : duration(self) <= duration('8784h')",message="grace must be at most 366d"
	Grace AttestationDuration `json:"grace,omitempty"`

	// renewalPercent is the share of every, in percent, after which renewal is announced (the
	// UpcomingRenewal condition and Event). A whole percentage rather than a fraction: the
	// Kubernetes API conventions avoid floats. Default 80.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=99
	RenewalPercent int32 `json:"renewalPercent,omitempty"`

	// approvers may approve or reject the control's attestations, as the API server
	// authenticates them; nobody decides their own.
	// +required
	Approvers AttestationApprovers `json:"approvers"`
}

// AttestationApprovers are users by name and groups by name, as the API server authenticates
// them (the names in RBAC subjects). Set at least one.
// +kubebuilder:validation:XValidation:rule="(has(self.users) ? size(self.users) : 0) + (has(self.groups) ? size(self.groups) : 0) > 0",message="name at least one approver user or group"
type AttestationApprovers struct {
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=set
	Users []string `json:"users,omitempty"`

	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=set
	Groups []string `json:"groups,omitempty"`
}

// AttestedStatus is where an attested Control stands (status.attestation).
type AttestedStatus struct {
	// standing: NeverAttested, Current, RenewalDue, InGrace or Expired.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Standing string `json:"standing,omitempty"`
	// current names the approved Attestation in force (the latest approval).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Current string `json:"current,omitempty"`
	// renewAt is when renewal is announced, dueAt when the current attestation's period
	// ends, failsAt when its grace ends and the control fails.
	// +optional
	RenewAt *metav1.Time `json:"renewAt,omitempty"`
	// +optional
	DueAt *metav1.Time `json:"dueAt,omitempty"`
	// +optional
	FailsAt *metav1.Time `json:"failsAt,omitempty"`
	// awaitingApproval counts the submitted attestations no one has decided yet.
	// +optional
	AwaitingApproval int32 `json:"awaitingApproval,omitempty"`
}

// Condition types and reasons of an attested Control. Compliant is set too, with the reasons
// below.
const (
	// ConditionUpcomingRenewal is True once renewal is due (renewalPercent of every has passed
	// since the approval) until a new attestation is approved or the control fails.
	ConditionUpcomingRenewal = "UpcomingRenewal"

	ReasonNeverAttested      = "NeverAttested"
	ReasonAttestationCurrent = "AttestationCurrent"
	ReasonRenewalDue         = "RenewalDue"
	ReasonInGrace            = "InGrace"
	ReasonAttestationExpired = "AttestationExpired"
)

// Event reasons about attestations, on the Control.
const (
	// EventRenewalDue (Normal): renewal is due; EventAttestationInGrace (Warning): the period
	// is over and the control fails when the grace ends.
	EventRenewalDue         = "RenewalDue"
	EventAttestationInGrace = "AttestationInGrace"
	// EventAttestationSubmitted, EventAttestationApproved, EventAttestationRejected and
	// EventAttestationWithdrawn record an Attestation's steps.
	EventAttestationSubmitted = "AttestationSubmitted"
	EventAttestationApproved  = "AttestationApproved"
	EventAttestationRejected  = "AttestationRejected"
	EventAttestationWithdrawn = "AttestationWithdrawn"
)

// AttestationOutcome is what the decider did with an attestation.
// +kubebuilder:validation:Enum=Approved;Rejected;Withdrawn
type AttestationOutcome string

const (
	AttestationApproved AttestationOutcome = "Approved"
	AttestationRejected AttestationOutcome = "Rejected"
	// AttestationWithdrawn: the submitter took it back before anyone decided it.
	AttestationWithdrawn AttestationOutcome = "Withdrawn"
)

// AttestationPeriod is the time an attestation speaks for.
// +kubebuilder:validation:XValidation:rule="self.to >= self.from",message="period.to must not be before period.from"
type AttestationPeriod struct {
	// +required
	From metav1.Time `json:"from"`
	// +required
	To metav1.Time `json:"to"`
}

// AttestationArtifact refers to one evidence file. The file stays in the organisation's
// document store or object storage, never in etcd: the Attestation holds its digest, so that
// anyone can check later that the file they are shown is the one that was approved.
type AttestationArtifact struct {
	// name of the artifact, e.g. the file name access-review-q3.pdf.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`
	// uri is where the file is kept (https://, s3://...).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self)",message="uri must be an absolute URL"
	URI string `json:"uri,omitempty"`
	// sha256 of the file's content, lower-case hex.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-f0-9]{64}$`
	SHA256 string `json:"sha256"`
	// size of the file in bytes.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Size int64 `json:"size,omitempty"`
	// mediaType of the file, e.g. application/pdf.
	// +optional
	// +kubebuilder:validation:MaxLength=127
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$`
	MediaType string `json:"mediaType,omitempty"`
}

// AttestationDecision is the approver's decision, or the submitter's withdrawal.
type AttestationDecision struct {
	// +required
	Outcome AttestationOutcome `json:"outcome"`
	// comment explains the decision.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Comment string `json:"comment,omitempty"`
	// decidedBy is stamped by the admission webhook from the API server's user info of the
	// request that set the decision; whatever a client writes here is replaced.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	DecidedBy string `json:"decidedBy,omitempty"`
	// decidedAt is stamped by the admission webhook, the same way.
	// +optional
	DecidedAt *metav1.Time `json:"decidedAt,omitempty"`
}

// AttestationSpec is a person's statement that a Control was in place over a period, with the
// evidence for it, and the decision on it.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.decision) || self == oldSelf",message="a decided attestation is final and cannot be edited: submit a new one to supersede it"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.submittedBy) || (has(self.submittedBy) && self.submittedBy == oldSelf.submittedBy)",message="submittedBy is immutable"
type AttestationSpec struct {
	// control is the name of the attested Control.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="control is immutable"
	Control string `json:"control"`

	// period is the time the statement covers.
	// +required
	Period AttestationPeriod `json:"period"`

	// statement says what was checked and found, in the submitter's words.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=8192
	Statement string `json:"statement"`

	// artifacts are the evidence files, by reference and digest.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=name
	Artifacts []AttestationArtifact `json:"artifacts,omitempty"`

	// submittedBy is stamped by the admission webhook from the API server's user info of the
	// create request; whatever a client writes here is replaced.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	SubmittedBy string `json:"submittedBy,omitempty"`

	// decision is set once, by an approver (Approved, Rejected) or by the submitter
	// (Withdrawn); after that the attestation cannot be edited.
	// +optional
	Decision *AttestationDecision `json:"decision,omitempty"`
}

// Condition types and reasons of an Attestation.
const (
	// AttestationConditionInForce is True for the approved attestation that keeps its
	// control passing (Current, RenewalDue or InGrace); False with reason Superseded,
	// Expired, Rejected, Withdrawn or AwaitingApproval otherwise.
	AttestationConditionInForce = "InForce"

	ReasonAttestationSuperseded = "Superseded"
	ReasonAwaitingApproval      = "AwaitingApproval"
	ReasonAttestationRejected   = "Rejected"
	ReasonAttestationWithdrawn  = "Withdrawn"
	// ReasonControlNotAttested: the Control does not exist or has no spec.attestation.
	ReasonControlNotAttested = "ControlNotAttested"
)

// AttestationStatus is what the operator makes of an Attestation.
type AttestationStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: InForce.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=4
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Attestation is a person's statement, with evidence artifacts, that an attested Control was
// in place over a period, and another person's approval of it.
//
// It is cluster-scoped because it speaks for a Control, which is cluster-scoped: there is no
// namespace it would belong to, and who may submit or approve is granted cluster-wide with
// ClusterRoles (config/rbac/attestation_submitter_role.yaml, attestation_approver_role.yaml).
// Who submitted and who decided is stamped by the operator's admission webhook from the API
// server's authentication of each request, never taken from the object.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=isms,shortName=att
// +kubebuilder:printcolumn:name="Control",type=string,JSONPath=`.spec.control`
// +kubebuilder:printcolumn:name="From",type=string,JSONPath=`.spec.period.from`
// +kubebuilder:printcolumn:name="To",type=string,JSONPath=`.spec.period.to`
// +kubebuilder:printcolumn:name="Submitted By",type=string,JSONPath=`.spec.submittedBy`
// +kubebuilder:printcolumn:name="Decision",type=string,JSONPath=`.spec.decision.outcome`
// +kubebuilder:printcolumn:name="Decided By",type=string,JSONPath=`.spec.decision.decidedBy`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="In Force",type=string,JSONPath=`.status.conditions[?(@.type=="InForce")].status`,priority=1
// +kubebuilder:printcolumn:name="Decided At",type=date,JSONPath=`.spec.decision.decidedAt`,priority=1
type Attestation struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec AttestationSpec `json:"spec"`
	// +optional
	Status AttestationStatus `json:"status,omitempty"`
}

// AttestationList is a list of Attestations.
// +kubebuilder:object:root=true
type AttestationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Attestation `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(scheme *runtime.Scheme) error {
		scheme.AddKnownTypes(GroupVersion, &Attestation{}, &AttestationList{})
		return nil
	})
}

// IsAttested says whether the control is attested (spec.attestation) rather than evaluated.
func (c *Control) IsAttested() bool {
	return c.Spec.Attestation != nil
}
