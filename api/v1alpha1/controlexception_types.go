package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// MaxExceptionDuration is how long after its approval a ControlException may last at most.
const MaxExceptionDuration = "8760h" // 365 days

// ExceptionPhase is whether a ControlException exempts anything.
// +kubebuilder:validation:Enum=Active;Expired
type ExceptionPhase string

const (
	ExceptionActive  ExceptionPhase = "Active"
	ExceptionExpired ExceptionPhase = "Expired"
)

// ExceptionConditionActive is True while the exception exempts its subjects.
const ExceptionConditionActive = "Active"

// Reasons of the Active condition of a ControlException, and its Event.
const (
	// ReasonExceptionApproved: Active is True, until expiresAt.
	ReasonExceptionApproved = "Approved"
	// ReasonExceptionExpired: Active is False, since expiresAt.
	ReasonExceptionExpired = "Expired"
	// EventExceptionExpired: the exception expired; its subjects count as failing again.
	EventExceptionExpired = "ExceptionExpired"
)

// ExceptedObject names one object.
type ExceptedObject struct {
	// apiVersion of the object, e.g. apps/v1; any version when unset.
	// +optional
	// +kubebuilder:validation:MaxLength=317
	APIVersion string `json:"apiVersion,omitempty"`
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`
	// namespace of the object; empty for cluster-scoped objects, or to match any namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// ExceptionSubjects selects the subjects an exception exempts. A subject is exempted when it
// matches every selection that is set: its namespace is listed, its own labels match the
// selector, and it is one of the named objects.
// +kubebuilder:validation:XValidation:rule="(has(self.namespaces) && size(self.namespaces) > 0) || has(self.labelSelector) || (has(self.objects) && size(self.objects) > 0)",message="at least one of namespaces, labelSelector or objects must be set"
type ExceptionSubjects struct {
	// namespaces the exempted subjects live in.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	Namespaces []string `json:"namespaces,omitempty"`

	// labelSelector on the subjects' own labels.
	// +optional
	LabelSelector *metav1.LabelSelector `json:"labelSelector,omitempty"`

	// objects are the exempted objects, by name.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	Objects []ExceptedObject `json:"objects,omitempty"`
}

// ControlExceptionSpec is an approved, time-limited exemption of subjects from Controls.
// +kubebuilder:validation:XValidation:rule="self.expiresAt > self.approvedAt",message="expiresAt must be after approvedAt"
// +kubebuilder:validation:XValidation:rule="self.expiresAt - self.approvedAt <= duration('8760h')",message="expiresAt must be at most 365 days after approvedAt"
type ControlExceptionSpec struct {
	// controls are the names of the Controls whose failures the exception exempts.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	Controls []string `json:"controls"`

	// subjects selects the exempted subjects.
	// +required
	Subjects ExceptionSubjects `json:"subjects"`

	// justification says why the failure is accepted for now.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	Justification string `json:"justification"`

	// approvedBy names who approved the exception.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ApprovedBy string `json:"approvedBy"`

	// approvedAt is when the exception was approved.
	// +required
	ApprovedAt metav1.Time `json:"approvedAt"`

	// expiresAt is when the exception ends: in the future when it is written, and at most
	// 365 days after approvedAt. At that moment the subjects count as failing again.
	// +required
	ExpiresAt metav1.Time `json:"expiresAt"`

	// risk is the name of the Risk whose acceptance this exception implements.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Risk string `json:"risk,omitempty"`
}

// ControlExceptionStatus is the operator's view of an exception.
type ControlExceptionStatus struct {
	// phase is Active until expiresAt, then Expired.
	// +optional
	Phase ExceptionPhase `json:"phase,omitempty"`

	// conditions: Active is True until the exception expires.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// matchedSubjects is how many failing subjects the exception exempts now, over all its
	// controls, as of their latest evaluation.
	// +optional
	MatchedSubjects int32 `json:"matchedSubjects"`

	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// ControlException exempts selected subjects from Controls until it expires: their failures
// are recorded as excepted on the Findings and the Controls instead of failing them. It is
// cluster-scoped, so that only those allowed to write it cluster-wide can exempt anything.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=isms,shortName=cex
// +kubebuilder:printcolumn:name="Controls",type=string,JSONPath=`.spec.controls`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Matched",type=integer,JSONPath=`.status.matchedSubjects`
// +kubebuilder:printcolumn:name="Expires At",type=string,JSONPath=`.spec.expiresAt`,description="When the exception expires (a date column would print a future time as <invalid>)"
// +kubebuilder:printcolumn:name="Approved By",type=string,JSONPath=`.spec.approvedBy`,priority=1
// +kubebuilder:printcolumn:name="Risk",type=string,JSONPath=`.spec.risk`,priority=1
type ControlException struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ControlExceptionSpec `json:"spec"`
	// +optional
	Status ControlExceptionStatus `json:"status,omitempty"`
}

// ControlExceptionList is a list of ControlExceptions.
// +kubebuilder:object:root=true
type ControlExceptionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ControlException `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(scheme *runtime.Scheme) error {
		scheme.AddKnownTypes(GroupVersion, &ControlException{}, &ControlExceptionList{})
		return nil
	})
}
