package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultSweepInterval is how often a Control is re-evaluated in full when spec.interval is unset.
// Event-driven evaluation keeps results current between sweeps; the sweep catches what events
// cannot show (for example a policy that reads the inventory of another kind).
const DefaultSweepInterval = "10m"

// KindSelector names kinds by API group and kind, as Gatekeeper's match does. The empty group ""
// is the core API group. Wildcards are not accepted: every kind named is watched.
type KindSelector struct {
	// apiGroups lists API groups, "" for the core group.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$`
	// +listType=set
	APIGroups []string `json:"apiGroups"`

	// kinds lists kinds in those groups, e.g. Deployment.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[A-Z][A-Za-z0-9]*$`
	// +listType=set
	Kinds []string `json:"kinds"`
}

// Targets selects the subjects a Control evaluates.
type Targets struct {
	// kinds are the kinds whose objects are evaluated.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Kinds []KindSelector `json:"kinds"`

	// namespaces, when set, limits namespaced subjects to these namespaces.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	Namespaces []string `json:"namespaces,omitempty"`

	// excludedNamespaces are never evaluated (for example kube-system).
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	ExcludedNamespaces []string `json:"excludedNamespaces,omitempty"`

	// namespaceSelector selects namespaced subjects by the labels of their namespace. For a
	// Namespace subject it is matched against the namespace's own labels.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// labelSelector selects subjects by their own labels.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`
}

// PolicySource holds the Rego policy that decides whether a subject complies: inline (rego) or
// a shared Policy (ref), exactly one of the two.
// +kubebuilder:validation:XValidation:rule="has(self.rego) != has(self.ref)",message="exactly one of spec.policy.rego (inline Rego) and spec.policy.ref (a Policy) must be set"
type PolicySource struct {
	// rego is one Rego v1 module. It must define
	//   violation contains {"msg": <string>, "details": <any>} if { ... }
	// and may read input.review.object (the subject), input.parameters and data.inventory.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	Rego string `json:"rego,omitempty"`

	// ref names a Policy (cluster-scoped) whose Rego the control applies. spec.parameters are
	// validated against the Policy's parametersSchema.
	// +optional
	Ref *PolicyReference `json:"ref,omitempty"`
}

// PolicyReference names a Policy.
type PolicyReference struct {
	// name is the Policy's metadata.name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// ControlSpec defines a security control and how its evidence is evaluated, or attested.
// +kubebuilder:validation:XValidation:rule="has(self.policy) != has(self.attestation)",message="exactly one of spec.policy (an evaluated control) and spec.attestation (an attested control) must be set"
// +kubebuilder:validation:XValidation:rule="has(self.policy) == has(self.targets)",message="spec.targets is required with spec.policy and forbidden with spec.attestation"
// +kubebuilder:validation:XValidation:rule="!has(self.attestation) || (!has(self.inventory) && !has(self.parameters))",message="spec.inventory and spec.parameters belong to evaluated controls, not to attested ones"
type ControlSpec struct {
	// id is the control identifier people use, e.g. ISMS-K8S-001.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*$`
	ID string `json:"id"`

	// title is a one-line statement of the control.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Title string `json:"title"`

	// description explains the control, its rationale and how to remediate a failure.
	// +optional
	// +kubebuilder:validation:MaxLength=8192
	Description string `json:"description,omitempty"`

	// owner is the person or team accountable for the control.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Owner string `json:"owner"`

	// severity ranks the consequence of the control failing.
	// +required
	Severity Severity `json:"severity"`

	// frameworks maps the control to requirements of standards (ISO 27001:2022 Annex A first).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=map
	// +listMapKey=framework
	Frameworks []FrameworkMapping `json:"frameworks,omitempty"`

	// targets selects the objects the policy evaluates: required with spec.policy, forbidden
	// with spec.attestation.
	// +optional
	Targets Targets `json:"targets,omitzero"`

	// inventory names further kinds the policy reads from data.inventory without evaluating
	// them as subjects (for example NetworkPolicies, for a policy about Namespaces). A change
	// to such an object re-evaluates the whole control.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Inventory []KindSelector `json:"inventory,omitempty"`

	// whenKindsNotServed says what the control's result is while a kind it targets or lists in
	// inventory is not served by the API server, typically because the tool that defines it
	// (its CRD) is not installed. Error (the default): the control is Error, reason
	// TargetsUnresolved. NotApplicable: the control is NotApplicable, reason KindsNotServed,
	// with a message naming the kinds, so that a control on another tool's objects does not
	// fail a cluster that does not run the tool, and does not pass it either. Either way the
	// kinds are looked up again every 30 seconds and the control is evaluated once they are
	// served.
	// +optional
	// +kubebuilder:default=Error
	WhenKindsNotServed KindsNotServedAction `json:"whenKindsNotServed,omitempty"`

	// policy is the Rego that decides compliance: inline, or a reference to a Policy. Exactly
	// one of policy and attestation is set.
	// +optional
	Policy PolicySource `json:"policy,omitzero"`

	// attestation makes the control attested instead of evaluated: people state on a schedule
	// that it is in place (Attestations), for what a cluster cannot show (policies, training,
	// physical security...). See docs/attestations.md.
	// +optional
	Attestation *ControlAttestationSchedule `json:"attestation,omitempty"`

	// parameters is passed to the policy as input.parameters.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	Parameters *apiextensionsv1.JSON `json:"parameters,omitempty"`

	// interval is how often the control is re-evaluated in full, in addition to the
	// evaluation that follows every change of a targeted object.
	// +optional
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5s') && duration(self) <= duration('168h')",message="interval must be between 5s and 168h"
	Interval *metav1.Duration `json:"interval,omitempty"`
}

// KindsNotServedAction is a Control's result while a kind it reads is not served.
// +kubebuilder:validation:Enum=Error;NotApplicable
type KindsNotServedAction string

const (
	// KindsNotServedError: the control is Error (reason TargetsUnresolved).
	KindsNotServedError KindsNotServedAction = "Error"
	// KindsNotServedNotApplicable: the control is NotApplicable (reason KindsNotServed).
	KindsNotServedNotApplicable KindsNotServedAction = "NotApplicable"
)

// ControlResult is the outcome of a Control's latest evaluation.
// +kubebuilder:validation:Enum=Pass;Fail;Error;Pending;NotApplicable
type ControlResult string

const (
	// ResultPass: every subject complies.
	ResultPass ControlResult = "Pass"
	// ResultFail: at least one subject violates the policy.
	ResultFail ControlResult = "Fail"
	// ResultError: the policy could not be compiled or evaluated, or targets could not be watched.
	ResultError ControlResult = "Error"
	// ResultPending: the control has not been evaluated yet.
	ResultPending ControlResult = "Pending"
	// ResultNotApplicable: no object matches the control's targets, or a kind it reads is not
	// served and spec.whenKindsNotServed is NotApplicable.
	ResultNotApplicable ControlResult = "NotApplicable"
)

// Condition types and reasons of a Control.
const (
	// ConditionPolicyReady is True when the policy compiled and its targets are watched.
	ConditionPolicyReady = "PolicyReady"
	// ConditionCompliant is True when the control passes (or has nothing to evaluate).
	ConditionCompliant = "Compliant"

	ReasonCompiled          = "Compiled"
	ReasonCompileError      = "CompileError"
	ReasonTargetsUnresolved = "TargetsUnresolved"
	ReasonWatchPending      = "WatchPending"
	ReasonAllSubjectsPass   = "AllSubjectsPass"
	ReasonSubjectsFailing   = "SubjectsFailing"
	ReasonEvaluationError   = "EvaluationError"
	// ReasonSweepBudgetExceeded: the latest sweep ran out of the control's evaluation time
	// (the manager's --control-sweep-budget) before it reached every subject; those it did
	// not reach are errors until the next sweep tries them again.
	ReasonSweepBudgetExceeded = "SweepBudgetExceeded"
	ReasonNoSubjects          = "NoSubjects"
	ReasonNotEvaluated        = "NotEvaluated"
	// ReasonKindsNotServed: the reason of Compliant when a kind the control reads is not served
	// and spec.whenKindsNotServed is NotApplicable (PolicyReady is then False, TargetsUnresolved).
	ReasonKindsNotServed = "KindsNotServed"

	// ReasonPolicyNotFound: spec.policy.ref names a Policy that does not exist (yet).
	ReasonPolicyNotFound = "PolicyNotFound"
	// ReasonInvalidParameters: spec.parameters do not match the referenced Policy's
	// parametersSchema.
	ReasonInvalidParameters = "InvalidParameters"
	// ReasonForbidden: the API server refuses the operator list or watch access to a kind the
	// control targets or reads from the inventory, so it cannot be evaluated. The watch keeps
	// retrying, and the control is evaluated once read access is granted (a ClusterRole
	// labelled isms.dev/aggregate-to-reader: "true"), with no change to the Control.
	ReasonForbidden = "Forbidden"
	// ReasonInventoryNotListed: the policy reads from data.inventory a kind that
	// spec.inventory does not list; data.inventory holds only listed kinds, so the policy
	// would find nothing there and could pass for want of evidence.
	ReasonInventoryNotListed = "InventoryNotListed"
)

// The EvidenceRecorded condition of a Control says whether its latest state reached the
// evidence ledger's queue. It is absent when the operator runs without the ledger.
const (
	// ConditionEvidenceRecorded is True when the control's latest recorded state was queued
	// for the ledger, False when the queue was full and the change waits for a retry.
	ConditionEvidenceRecorded = "EvidenceRecorded"
	// ReasonEvidenceRecorded: the latest state change (or confirmation) was queued.
	ReasonEvidenceRecorded = "Recorded"
	// ReasonEvidenceQueueFull: the ledger's queue had no room; the control is reconciled
	// again shortly and the change is recorded then.
	ReasonEvidenceQueueFull = "QueueFull"
)

// EventEvidenceCheckpoint is the reason of the Event on the isms-evidence ConfigMap when it
// publishes a newly kept checkpoint of the evidence ledger.
const EventEvidenceCheckpoint = "EvidenceCheckpoint"

// Event reasons of a Control. A Control that becomes unusable (its result turns Error because
// PolicyReady is False) is announced by a Warning whose reason is PolicyReady's: CompileError,
// TargetsUnresolved, PolicyNotFound, InvalidParameters, InventoryNotListed or Forbidden.
const (
	// EventControlFailing: the result turned Fail.
	EventControlFailing = "ControlFailing"
	// EventControlError: the result turned Error because subjects could not be evaluated.
	EventControlError = "ControlError"
	// EventControlPassing: the result turned Pass after Fail or Error.
	EventControlPassing = "ControlPassing"
)

// ControlStatus is the observed compliance of a Control.
type ControlStatus struct {
	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: PolicyReady and Compliant.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// result is the outcome of the latest evaluation.
	// +optional
	Result ControlResult `json:"result,omitempty"`

	// evaluatedSubjects counts the objects the policy was evaluated against.
	// +optional
	EvaluatedSubjects int32 `json:"evaluatedSubjects"`

	// failingSubjects counts the objects that violate the policy.
	// +optional
	FailingSubjects int32 `json:"failingSubjects"`

	// erroredSubjects counts the objects whose evaluation failed (for example on the deadline).
	// +optional
	ErroredSubjects int32 `json:"erroredSubjects"`

	// openFindings counts this control's Findings that are Open.
	// +optional
	OpenFindings int32 `json:"openFindings"`

	// exceptedSubjects is how many failing subjects active ControlExceptions exempt; they are
	// not counted in failingSubjects, and a control whose only failures are excepted passes.
	// +optional
	ExceptedSubjects int32 `json:"exceptedSubjects"`

	// lastEvaluated is when a subject of this control was last evaluated.
	// +optional
	LastEvaluated *metav1.Time `json:"lastEvaluated,omitempty"`

	// lastSweep is when the control was last evaluated against all its subjects.
	// +optional
	LastSweep *metav1.Time `json:"lastSweep,omitempty"`

	// policyDigest is the sha256 of the Rego module in force (inline or of the referenced Policy).
	// +optional
	PolicyDigest string `json:"policyDigest,omitempty"`

	// compliant is the result as policy engines that aggregate compliance read it (Open
	// Cluster Management's policy templates): Compliant for Pass and NotApplicable,
	// NonCompliant for Fail and Error, Pending before the first evaluation.
	// +optional
	Compliant ComplianceState `json:"compliant,omitempty"`

	// history lists the latest changes of compliant, newest first (at most
	// MaxComplianceHistory), for engines that sync a short history.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	History []ComplianceChange `json:"history,omitempty"`

	// attestation is where an attested control stands; unset for evaluated controls.
	// +optional
	Attestation *AttestedStatus `json:"attestation,omitempty"`
}

// ComplianceState is a Control's result as compliance aggregators read it.
// +kubebuilder:validation:Enum=Compliant;NonCompliant;Pending
type ComplianceState string

const (
	Compliant    ComplianceState = "Compliant"
	NonCompliant ComplianceState = "NonCompliant"
	// CompliancePending: not evaluated yet.
	CompliancePending ComplianceState = "Pending"
)

// MaxComplianceHistory is how many changes status.history keeps.
const MaxComplianceHistory = 10

// ComplianceChange is one change of a Control's compliance.
type ComplianceChange struct {
	// time is when the operator saw the change.
	Time metav1.Time `json:"time"`
	// compliant is the new state.
	Compliant ComplianceState `json:"compliant"`
	// result is the Control's result then.
	Result ControlResult `json:"result"`
	// message is the Compliant condition's message then, cut to 256 bytes.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Message string `json:"message,omitempty"`
}

// Control is a security control whose evidence is the live state of the cluster, evaluated by a
// Rego policy.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=isms,shortName=ctl
// +kubebuilder:metadata:labels="policy.open-cluster-management.io/policy-type=template"
// +kubebuilder:printcolumn:name="ID",type=string,JSONPath=`.spec.id`
// +kubebuilder:printcolumn:name="Severity",type=string,JSONPath=`.spec.severity`
// +kubebuilder:printcolumn:name="Result",type=string,JSONPath=`.status.result`
// +kubebuilder:printcolumn:name="Failing",type=integer,JSONPath=`.status.failingSubjects`
// +kubebuilder:printcolumn:name="Findings",type=integer,JSONPath=`.status.openFindings`
// +kubebuilder:printcolumn:name="Last Evaluated",type=date,JSONPath=`.status.lastEvaluated`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Title",type=string,JSONPath=`.spec.title`,priority=1
// +kubebuilder:printcolumn:name="Owner",type=string,JSONPath=`.spec.owner`,priority=1
// +kubebuilder:printcolumn:name="Evaluated",type=integer,JSONPath=`.status.evaluatedSubjects`,priority=1
// +kubebuilder:printcolumn:name="Attestation Due",type=string,JSONPath=`.status.attestation.dueAt`,priority=1
type Control struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ControlSpec `json:"spec"`
	// +optional
	Status ControlStatus `json:"status,omitempty"`
}

// ControlList is a list of Controls.
// +kubebuilder:object:root=true
type ControlList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Control `json:"items"`
}
