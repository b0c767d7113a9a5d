package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// DefaultRiskReviewInterval is how long a risk assessment stays current when spec.reviewInterval
// is unset: 90 days.
const DefaultRiskReviewInterval = "2160h"

// MaxRiskControls bounds spec.controls, and with it every per-control list of the status.
const MaxRiskControls = 32

// MaxRiskAssetsListed is how many of the assets a Risk concerns its status lists; the count is
// exact.
const MaxRiskAssetsListed = 20

// RiskTreatment is the decision taken about a risk (ISO/IEC 27001:2022 clause 6.1.3).
// +kubebuilder:validation:Enum=mitigate;accept;transfer;avoid
type RiskTreatment string

const (
	// TreatmentMitigate: controls reduce the likelihood or the impact.
	TreatmentMitigate RiskTreatment = "mitigate"
	// TreatmentAccept: the risk owner accepts the risk as it is (spec.acceptance records who,
	// why and until when).
	TreatmentAccept RiskTreatment = "accept"
	// TreatmentTransfer: the risk is shared with a third party (insurance, a provider).
	TreatmentTransfer RiskTreatment = "transfer"
	// TreatmentAvoid: the activity that gives rise to the risk is stopped.
	TreatmentAvoid RiskTreatment = "avoid"
)

// RiskLevel is the band a risk score (likelihood × impact, 1..25) falls in. See internal/risk
// and docs/risk.md for the matrix.
// +kubebuilder:validation:Enum=Low;Medium;High;Critical
type RiskLevel string

const (
	// RiskLow: score 1..4.
	RiskLow RiskLevel = "Low"
	// RiskMedium: score 5..9.
	RiskMedium RiskLevel = "Medium"
	// RiskHigh: score 10..16.
	RiskHigh RiskLevel = "High"
	// RiskCritical: score 20..25.
	RiskCritical RiskLevel = "Critical"
)

// Condition types and reasons of a Risk.
const (
	// ConditionWithinAppetite is True when the residual score is at most spec.appetite.
	ConditionWithinAppetite = "WithinAppetite"
	// ConditionReviewed is True while the latest review (or, before the first one, the
	// creation of the Risk) is younger than spec.reviewInterval, and False when the review is
	// overdue or an acceptance has expired.
	ConditionReviewed = "Reviewed"

	ReasonWithinAppetite    = "WithinAppetite"
	ReasonAboveAppetite     = "AboveAppetite"
	ReasonEvidencePending   = "EvidencePending"
	ReasonReviewCurrent     = "ReviewCurrent"
	ReasonReviewOverdue     = "ReviewOverdue"
	ReasonAcceptanceExpired = "AcceptanceExpired"
)

// Event reasons of a Risk.
const (
	EventRiskOutOfAppetite  = "RiskOutOfAppetite"
	EventRiskWithinAppetite = "RiskWithinAppetite"
)

// RiskAsset describes something of value that the risk threatens: in words, and optionally as
// the namespaces or workloads it lives in. The selectors pick the cluster's assets (Namespaces,
// and Deployments, StatefulSets, DaemonSets, CronJobs and Jobs) that the Risk concerns: with a
// namespaceSelector alone, the selected Namespaces and the workloads in them; with a
// workloadSelector, the workloads with those labels (in the selected namespaces, if a
// namespaceSelector is set too). Once any asset has a selector, only the linked Controls that
// evaluate at least one of those assets count towards the residual risk (see docs/risk.md).
type RiskAsset struct {
	// description names the asset in words, e.g. "cardholder data in the payments database".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description"`

	// namespaceSelector selects the namespaces that hold the asset.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// workloadSelector selects the workloads (by their labels) that hold or process the asset.
	// +optional
	WorkloadSelector *metav1.LabelSelector `json:"workloadSelector,omitempty"`
}

// RiskControlRef links a Control that treats the risk, and says how much it reduces the
// likelihood and the impact while it is effective (its result is Pass).
type RiskControlRef struct {
	// name is the name of the Control object (metadata.name, not spec.id).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// likelihoodReduction is how many steps the control lowers the likelihood when effective.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4
	LikelihoodReduction int32 `json:"likelihoodReduction,omitempty"`

	// impactReduction is how many steps the control lowers the impact when effective.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=4
	ImpactReduction int32 `json:"impactReduction,omitempty"`
}

// RiskAcceptance records the risk owner's formal acceptance of the risk.
type RiskAcceptance struct {
	// acceptedBy is the person who accepted the risk (normally the risk owner).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	AcceptedBy string `json:"acceptedBy"`

	// justification says why the risk is acceptable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Justification string `json:"justification"`

	// until is when the acceptance expires. After it the Risk's Reviewed condition turns False
	// with reason AcceptanceExpired until the acceptance is renewed.
	// +required
	Until metav1.Time `json:"until"`
}

// RiskReview records the latest review of the risk. A review is a human act: the risk owner
// records it in the spec (through git or kubectl), where RBAC decides who may make it and the
// object's history keeps it. The operator only reads it.
type RiskReview struct {
	// by is who reviewed the risk.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	By string `json:"by"`

	// at is when the risk was reviewed.
	// +required
	At metav1.Time `json:"at"`

	// notes are the conclusions of the review.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Notes string `json:"notes,omitempty"`
}

// RiskSpec is one entry of the risk register: what could happen, how likely and how bad it is
// before treatment, and how it is treated.
// +kubebuilder:validation:XValidation:rule="self.treatment != 'accept' || has(self.acceptance)",message="acceptance is required when treatment is accept"
type RiskSpec struct {
	// title is a one-line statement of the risk.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Title string `json:"title"`

	// description explains the risk scenario.
	// +optional
	// +kubebuilder:validation:MaxLength=8192
	Description string `json:"description,omitempty"`

	// owner is the person or team accountable for the risk (ISO/IEC 27001:2022 6.1.2 c).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Owner string `json:"owner"`

	// assets are what is at risk.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	Assets []RiskAsset `json:"assets,omitempty"`

	// threat is what could cause harm, e.g. "an attacker who compromises one workload".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Threat string `json:"threat"`

	// vulnerability is the weakness the threat exploits.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Vulnerability string `json:"vulnerability,omitempty"`

	// likelihood before treatment: 1 rare, 2 unlikely, 3 possible, 4 likely, 5 almost certain.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5
	Likelihood int32 `json:"likelihood"`

	// impact before treatment: 1 negligible, 2 minor, 3 moderate, 4 major, 5 severe.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5
	Impact int32 `json:"impact"`

	// treatment is the decision taken about the risk.
	// +required
	Treatment RiskTreatment `json:"treatment"`

	// controls are the Controls that treat the risk. A control reduces the residual risk only
	// while its result is Pass.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=map
	// +listMapKey=name
	Controls []RiskControlRef `json:"controls,omitempty"`

	// appetite is the highest residual score (1..25) the organisation accepts for this risk.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=25
	Appetite int32 `json:"appetite"`

	// acceptance records who accepted the risk, why, and until when. Required when treatment
	// is accept.
	// +optional
	Acceptance *RiskAcceptance `json:"acceptance,omitempty"`

	// reviewInterval is how long a review stays current (default 2160h, 90 days).
	// +optional
	// +kubebuilder:default="2160h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h') && duration(self) <= duration('8784h')",message="reviewInterval must be between 1h and 8784h (366 days)"
	ReviewInterval *metav1.Duration `json:"reviewInterval,omitempty"`

	// review records the latest review of the risk by its owner.
	// +optional
	Review *RiskReview `json:"review,omitempty"`
}

// RiskControlStatus is how one linked Control stands.
type RiskControlStatus struct {
	// name of the Control.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// result is the Control's current result; empty when the Control does not exist.
	// +optional
	Result ControlResult `json:"result,omitempty"`

	// effective is true when the control reduces the risk now (its result is Pass).
	// +optional
	Effective bool `json:"effective"`

	// missing is true when no Control of this name exists.
	// +optional
	Missing bool `json:"missing,omitempty"`

	// offAssets is true when the Risk selects assets (spec.assets) and this evaluated Control's
	// targets match none of them: it does not count towards the residual risk.
	// +optional
	OffAssets bool `json:"offAssets,omitempty"`
}

// RiskAssetRef names one asset a Risk concerns.
type RiskAssetRef struct {
	// kind of the asset, e.g. Deployment or Namespace.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`

	// namespace of the asset; empty for a Namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`

	// name of the asset.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// RiskAssetsStatus is what a Risk's asset selectors select now.
type RiskAssetsStatus struct {
	// count is the exact number of assets selected.
	// +optional
	Count int32 `json:"count"`

	// items are the first 20 assets selected, sorted by kind, namespace and name.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	Items []RiskAssetRef `json:"items,omitempty"`

	// unwatchedKinds are asset kinds the operator does not watch because no Control targets
	// them: their objects are not listed, and no Control evaluates them.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=128
	// +listType=atomic
	UnwatchedKinds []string `json:"unwatchedKinds,omitempty"`
}

// RiskStatus is the risk as the operator scores it from the live results of its Controls.
type RiskStatus struct {
	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: WithinAppetite and Reviewed.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// inherentScore is likelihood × impact before treatment.
	// +optional
	InherentScore int32 `json:"inherentScore,omitempty"`

	// inherentLevel is the band of the inherent score.
	// +optional
	InherentLevel RiskLevel `json:"inherentLevel,omitempty"`

	// residualLikelihood is the likelihood less the reductions of the effective controls, at
	// least 1.
	// +optional
	ResidualLikelihood int32 `json:"residualLikelihood,omitempty"`

	// residualImpact is the impact less the reductions of the effective controls, at least 1.
	// +optional
	ResidualImpact int32 `json:"residualImpact,omitempty"`

	// residualScore is residualLikelihood × residualImpact.
	// +optional
	ResidualScore int32 `json:"residualScore,omitempty"`

	// residualLevel is the band of the residual score.
	// +optional
	ResidualLevel RiskLevel `json:"residualLevel,omitempty"`

	// effectiveControls counts the linked Controls that pass.
	// +optional
	EffectiveControls int32 `json:"effectiveControls"`

	// failingControls counts the linked Controls whose result is Fail or Error.
	// +optional
	FailingControls int32 `json:"failingControls"`

	// missingControls names the linked Controls that do not exist.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=atomic
	MissingControls []string `json:"missingControls,omitempty"`

	// assets are the cluster objects spec.assets selects; absent when no asset has a selector.
	// +optional
	Assets *RiskAssetsStatus `json:"assets,omitempty"`

	// controls is how each linked Control stands, in the order of spec.controls.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	Controls []RiskControlStatus `json:"controls,omitempty"`

	// lastReviewed is spec.review.at, the time of the latest review.
	// +optional
	LastReviewed *metav1.Time `json:"lastReviewed,omitempty"`

	// nextReview is when the next review is due: the latest review (or the creation of the
	// Risk) plus reviewInterval, or the end of the acceptance if that is sooner.
	// +optional
	NextReview *metav1.Time `json:"nextReview,omitempty"`
}

// Risk is an entry of the ISMS risk register whose residual risk is scored live from the
// results of the Controls that treat it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=isms,shortName=risk
// +kubebuilder:printcolumn:name="Title",type=string,JSONPath=`.spec.title`
// +kubebuilder:printcolumn:name="Inherent",type=integer,JSONPath=`.status.inherentScore`
// +kubebuilder:printcolumn:name="Residual",type=integer,JSONPath=`.status.residualScore`
// +kubebuilder:printcolumn:name="Level",type=string,JSONPath=`.status.residualLevel`
// +kubebuilder:printcolumn:name="Treatment",type=string,JSONPath=`.spec.treatment`
// +kubebuilder:printcolumn:name="Within Appetite",type=string,JSONPath=`.status.conditions[?(@.type=="WithinAppetite")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Owner",type=string,JSONPath=`.spec.owner`,priority=1
// +kubebuilder:printcolumn:name="Appetite",type=integer,JSONPath=`.spec.appetite`,priority=1
// +kubebuilder:printcolumn:name="Failing",type=integer,JSONPath=`.status.failingControls`,priority=1
// +kubebuilder:printcolumn:name="Assets",type=integer,JSONPath=`.status.assets.count`,priority=1
// +kubebuilder:printcolumn:name="Next Review",type=date,JSONPath=`.status.nextReview`,priority=1
type Risk struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec RiskSpec `json:"spec"`
	// +optional
	Status RiskStatus `json:"status,omitempty"`
}

// RiskList is a list of Risks.
// +kubebuilder:object:root=true
type RiskList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Risk `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(scheme *runtime.Scheme) error {
		scheme.AddKnownTypes(GroupVersion, &Risk{}, &RiskList{})
		return nil
	})
}
