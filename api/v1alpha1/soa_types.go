package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// DefaultSoAFramework is the framework a StatementOfApplicability speaks for when
// spec.framework is unset: ISO/IEC 27001:2022 Annex A.
const DefaultSoAFramework = "iso27001-2022"

// Bounds of a StatementOfApplicability. MaxSoARequirements is above the size of every embedded
// catalog (ISO/IEC 27001:2022 Annex A has 93; internal/soa's tests check the others), so that
// status can hold one row per requirement of the catalog; the per-row lists are capped and
// counted (see SoARequirementStatus), which keeps the whole status well under 1 MiB.
const (
	MaxSoARequirements   = 128
	MaxSoARowControls    = 10
	MaxSoARowExceptions  = 5
	MaxSoARowRisks       = 5
	MaxSoAUnknownEntries = 16
)

// SoAInclusionReason says why a requirement is applicable (ISO/IEC 27001:2022 6.1.3 d: the
// justification for inclusion).
// +kubebuilder:validation:Enum=Regulatory;Contractual;BusinessNeed;RiskAssessment
type SoAInclusionReason string

const (
	// InclusionRegulatory: a law or regulation requires it.
	InclusionRegulatory SoAInclusionReason = "Regulatory"
	// InclusionContractual: a contract with a customer or partner requires it.
	InclusionContractual SoAInclusionReason = "Contractual"
	// InclusionBusinessNeed: the organisation needs it for its own objectives.
	InclusionBusinessNeed SoAInclusionReason = "BusinessNeed"
	// InclusionRiskAssessment: the risk treatment calls for it; the Risks are named.
	InclusionRiskAssessment SoAInclusionReason = "RiskAssessment"
)

// SoAInclusion is one reason a requirement is included.
// +kubebuilder:validation:XValidation:rule="self.reason != 'RiskAssessment' || (has(self.risks) && size(self.risks) > 0)",message="a RiskAssessment inclusion names the Risks (risks) that call for the requirement"
type SoAInclusion struct {
	// reason is the kind of justification.
	// +required
	Reason SoAInclusionReason `json:"reason"`

	// risks are the names (metadata.name) of the Risks whose treatment calls for the
	// requirement; required with reason RiskAssessment.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	Risks []string `json:"risks,omitempty"`

	// note names the regulation, contract or objective, e.g. "GDPR art. 32".
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Note string `json:"note,omitempty"`
}

// SoAEntry is the decision on one requirement of the framework.
// +kubebuilder:validation:XValidation:rule="self.applicable || (has(self.exclusionJustification) && size(self.exclusionJustification) > 0)",message="exclusionJustification is required when applicable is false"
// +kubebuilder:validation:XValidation:rule="!self.applicable || !has(self.exclusionJustification)",message="exclusionJustification belongs to requirements that are not applicable"
// +kubebuilder:validation:XValidation:rule="!self.applicable || (has(self.inclusions) && size(self.inclusions) > 0)",message="an applicable requirement states at least one inclusion reason (inclusions)"
// +kubebuilder:validation:XValidation:rule="self.applicable || !has(self.inclusions) || size(self.inclusions) == 0",message="inclusions belong to applicable requirements"
type SoAEntry struct {
	// requirement is the id in the framework's catalog, e.g. A.8.9 (kubectl isms frameworks).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Requirement string `json:"requirement"`

	// applicable says whether the requirement applies in the scope.
	// +required
	Applicable bool `json:"applicable"`

	// inclusions say why an applicable requirement is included.
	// +optional
	// +kubebuilder:validation:MaxItems=4
	// +listType=map
	// +listMapKey=reason
	Inclusions []SoAInclusion `json:"inclusions,omitempty"`

	// exclusionJustification says why a requirement is not applicable: required then.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	ExclusionJustification string `json:"exclusionJustification,omitempty"`

	// owner is the person or team accountable for the requirement.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Owner string `json:"owner,omitempty"`
}

// SoADecision is an approver's decision on a version of the statement.
// +kubebuilder:validation:Enum=Approved;Rejected
type SoADecision string

const (
	SoAApproved SoADecision = "Approved"
	SoARejected SoADecision = "Rejected"
)

// SoAApproval is an approver's decision on spec.version. The approver writes version,
// decision and comment; the admission webhook stamps decidedBy, decidedAt and digest from the
// request, replacing whatever the client wrote there.
type SoAApproval struct {
	// version is the spec.version decided: it must be spec.version when the decision is made.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	Version string `json:"version"`

	// +required
	Decision SoADecision `json:"decision"`

	// comment explains the decision.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Comment string `json:"comment,omitempty"`

	// decidedBy is stamped by the admission webhook from the API server's user info of the
	// request that made the decision.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	DecidedBy string `json:"decidedBy,omitempty"`

	// decidedAt is stamped by the admission webhook, the same way.
	// +optional
	DecidedAt *metav1.Time `json:"decidedAt,omitempty"`

	// digest is stamped by the admission webhook: the sha256 of the content decided
	// (framework, scope, version, approvers and entries), so that a later edit shows.
	// +optional
	// +kubebuilder:validation:MaxLength=71
	Digest string `json:"digest,omitempty"`
}

// StatementOfApplicabilitySpec is the organisation's decision, for one ISMS scope, on which
// requirements of a framework apply and why.
// +kubebuilder:validation:XValidation:rule="!has(self.approval) || (has(self.approval.decidedBy) && has(self.approval.decidedAt) && has(self.approval.digest))",message="spec.approval is stamped by the operator's admission webhook (decidedBy, decidedAt, digest): is the operator running?"
type StatementOfApplicabilitySpec struct {
	// framework is the catalog the statement covers (kubectl isms frameworks).
	// +optional
	// +kubebuilder:default=iso27001-2022
	// +kubebuilder:validation:Enum=iso27001-2022;soc2-2017;nist-800-53-r5;cis-k8s-1.9
	Framework string `json:"framework,omitempty"`

	// scope describes the ISMS scope the statement is for (ISO/IEC 27001:2022 4.3).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Scope string `json:"scope"`

	// version names this revision of the statement, e.g. 2026.1. Approvals are of a version.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*$`
	Version string `json:"version"`

	// approvers may approve or reject a version, as the API server authenticates them; nobody
	// decides a version they last edited.
	// +required
	Approvers AttestationApprovers `json:"approvers"`

	// entries are the decisions, one per requirement id. Ids of the catalog the entries do
	// not name are listed in status as NotAssessed.
	// +optional
	// +kubebuilder:validation:MaxItems=128
	// +listType=map
	// +listMapKey=requirement
	Entries []SoAEntry `json:"entries,omitempty"`

	// editedBy is stamped by the admission webhook: the user of the latest request that
	// changed the content (everything but approval). Whatever a client writes is replaced.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	EditedBy string `json:"editedBy,omitempty"`

	// approval is an approver's decision on version; see SoAApproval.
	// +optional
	Approval *SoAApproval `json:"approval,omitempty"`
}

// SoAImplementation is how far an applicable requirement is implemented, from the live
// results of the Controls that map to it.
// +kubebuilder:validation:Enum=Implemented;Partial;NotImplemented;NotEvaluated;Attested;NotApplicable;NotAssessed
type SoAImplementation string

const (
	// SoAImplemented: every mapped Control with a result passes, at least one automated.
	SoAImplemented SoAImplementation = "Implemented"
	// SoAPartial: some mapped Controls pass, others fail or have no result.
	SoAPartial SoAImplementation = "Partial"
	// SoANotImplemented: no mapped Control passes and at least one fails.
	SoANotImplemented SoAImplementation = "NotImplemented"
	// SoANotEvaluated: no Control maps to it, or none of them has a Pass or Fail result.
	SoANotEvaluated SoAImplementation = "NotEvaluated"
	// SoAAttested: mapped only to attested Controls, and every one passes.
	SoAAttested SoAImplementation = "Attested"
	// SoANotApplicable: the entry says it does not apply.
	SoANotApplicable SoAImplementation = "NotApplicable"
	// SoANotAssessed: no entry names it: nobody has decided whether it applies.
	SoANotAssessed SoAImplementation = "NotAssessed"
)

// SoAControlResult is one mapped Control and its result.
type SoAControlResult struct {
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// +optional
	Result ControlResult `json:"result,omitempty"`
	// attested is true for an attested Control (spec.attestation).
	// +optional
	Attested bool `json:"attested,omitempty"`
}

// SoARequirementStatus is one requirement of the catalog, as the cluster shows it now. The
// lists are capped (controls at MaxSoARowControls, exceptions and risks at 5, sorted by name);
// the counts are exact.
type SoARequirementStatus struct {
	// +required
	// +kubebuilder:validation:MaxLength=63
	ID string `json:"id"`
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Title string `json:"title,omitempty"`
	// +required
	State SoAImplementation `json:"state"`
	// controlCount counts the Controls that map to the requirement.
	// +optional
	ControlCount int32 `json:"controlCount"`
	// +optional
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	Controls []SoAControlResult `json:"controls,omitempty"`
	// openFindings counts the open Findings of those Controls.
	// +optional
	OpenFindings int32 `json:"openFindings"`
	// exceptionCount counts the ControlExceptions in force that name one of those Controls.
	// +optional
	ExceptionCount int32 `json:"exceptionCount,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=5
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=atomic
	Exceptions []string `json:"exceptions,omitempty"`
	// riskCount counts the Risks those Controls treat (spec.controls of the Risk).
	// +optional
	RiskCount int32 `json:"riskCount,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=5
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=atomic
	Risks []string `json:"risks,omitempty"`
}

// SoATotals counts the requirements of the catalog by state. Applicable counts those whose
// entry says applicable; NotAssessed those no entry names.
type SoATotals struct {
	Requirements   int32 `json:"requirements"`
	Applicable     int32 `json:"applicable"`
	NotApplicable  int32 `json:"notApplicable"`
	NotAssessed    int32 `json:"notAssessed"`
	Implemented    int32 `json:"implemented"`
	Attested       int32 `json:"attested"`
	Partial        int32 `json:"partial"`
	NotImplemented int32 `json:"notImplemented"`
	NotEvaluated   int32 `json:"notEvaluated"`
}

// SoAApprovedStatus is the approval of spec.approval when its decision is Approved.
type SoAApprovedStatus struct {
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Version string `json:"version,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=512
	By string `json:"by,omitempty"`
	// +optional
	At *metav1.Time `json:"at,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=71
	Digest string `json:"digest,omitempty"`
	// recorded is true once the approval is in the evidence ledger.
	// +optional
	Recorded bool `json:"recorded,omitempty"`
}

// Condition types and reasons of a StatementOfApplicability.
const (
	// SoAConditionRequirementsKnown is True when every entry names a requirement of the
	// framework's catalog; False (ReasonUnknownRequirement) names the entries that do not.
	SoAConditionRequirementsKnown = "RequirementsKnown"
	// SoAConditionApproved is True when spec.approval approves the current content.
	SoAConditionApproved = "Approved"

	// ReasonSoAApproved: the current version and content are approved.
	ReasonSoAApproved = "Approved"
	// ReasonSoANotApproved: no decision on the current version yet.
	ReasonSoANotApproved = "NotApproved"
	// ReasonSoARejected: an approver rejected the current version.
	ReasonSoARejected = "Rejected"
	// ReasonSoAChangedSinceApproval: the content or version changed after the decision; the
	// version decided stays the one in force in the evidence ledger until the next approval.
	ReasonSoAChangedSinceApproval = "ChangedSinceApproval"
	// ReasonSoAUnknownFramework: spec.framework has no catalog (an operator older than the CRD).
	ReasonSoAUnknownFramework = "UnknownFramework"
)

// Event reasons of a StatementOfApplicability.
const (
	EventSoAApproved = "SoAApproved"
	EventSoARejected = "SoARejected"
)

// StatementOfApplicabilityStatus is the statement as the cluster shows it now.
type StatementOfApplicabilityStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: RequirementsKnown and Approved.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// totals count the requirements by state.
	// +optional
	Totals SoATotals `json:"totals,omitzero"`
	// contentDigest is the sha256 of the current content (see SoAApproval.digest).
	// +optional
	// +kubebuilder:validation:MaxLength=71
	ContentDigest string `json:"contentDigest,omitempty"`
	// approved is the approval of spec.approval, when it approves.
	// +optional
	Approved *SoAApprovedStatus `json:"approved,omitempty"`
	// unknownRequirements are the entries' ids the catalog lacks, at most 16.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=atomic
	UnknownRequirements []string `json:"unknownRequirements,omitempty"`
	// requirements are every requirement of the catalog, in its order.
	// +optional
	// +kubebuilder:validation:MaxItems=128
	// +listType=atomic
	Requirements []SoARequirementStatus `json:"requirements,omitempty"`
}

// StatementOfApplicability is the Statement of Applicability of one ISMS scope (ISO/IEC
// 27001:2022 6.1.3 d): for every requirement of a framework, whether it applies and why, and,
// computed live, how far it is implemented by the Controls that map to it. Cluster-scoped,
// like the Controls it reads. Who edited and who approved comes from the API server.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=isms,shortName=soa
// +kubebuilder:printcolumn:name="Framework",type=string,JSONPath=`.spec.framework`,priority=1
// +kubebuilder:printcolumn:name="Applicable",type=integer,JSONPath=`.status.totals.applicable`
// +kubebuilder:printcolumn:name="Implemented",type=integer,JSONPath=`.status.totals.implemented`
// +kubebuilder:printcolumn:name="Attested",type=integer,JSONPath=`.status.totals.attested`,priority=1
// +kubebuilder:printcolumn:name="Partial",type=integer,JSONPath=`.status.totals.partial`
// +kubebuilder:printcolumn:name="Not Implemented",type=integer,JSONPath=`.status.totals.notImplemented`
// +kubebuilder:printcolumn:name="Not Evaluated",type=integer,JSONPath=`.status.totals.notEvaluated`,priority=1
// +kubebuilder:printcolumn:name="Not Assessed",type=integer,JSONPath=`.status.totals.notAssessed`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Approved",type=string,JSONPath=`.status.conditions[?(@.type=="Approved")].status`
// +kubebuilder:printcolumn:name="Approved By",type=string,JSONPath=`.status.approved.by`,priority=1
// +kubebuilder:printcolumn:name="Approved Version",type=string,JSONPath=`.status.approved.version`,priority=1
type StatementOfApplicability struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec StatementOfApplicabilitySpec `json:"spec"`
	// +optional
	Status StatementOfApplicabilityStatus `json:"status,omitempty"`
}

// StatementOfApplicabilityList is a list of StatementOfApplicabilities.
// +kubebuilder:object:root=true
type StatementOfApplicabilityList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []StatementOfApplicability `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(scheme *runtime.Scheme) error {
		scheme.AddKnownTypes(GroupVersion, &StatementOfApplicability{}, &StatementOfApplicabilityList{})
		return nil
	})
}
