package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Condition types and reasons of a Policy.
const (
	// ConditionReady is True when the policy's Rego compiles (in the operator's sandbox) and its
	// parametersSchema is a usable object schema.
	ConditionReady = "Ready"

	// ReasonInvalidSchema: spec.parametersSchema is not an OpenAPI v3 object schema the API
	// server's validator accepts. ReasonCompiled and ReasonCompileError are shared with Controls.
	ReasonInvalidSchema = "InvalidSchema"
)

// PolicySpec is a Rego policy that Controls share by reference (spec.policy.ref), with the
// schema of the parameters a Control passes to it.
type PolicySpec struct {
	// description says what the policy checks and what its parameters mean.
	// +optional
	// +kubebuilder:validation:MaxLength=8192
	Description string `json:"description,omitempty"`

	// rego is one Rego v1 module. It must define
	//   violation contains {"msg": <string>, "details": <any>} if { ... }
	// and may read input.review.object (the subject), input.parameters and data.inventory.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=65536
	Rego string `json:"rego"`

	// parametersSchema is an OpenAPI v3 schema (type object) of the parameters, as in a
	// CustomResourceDefinition. The spec.parameters of every Control that references the policy
	// are validated against it; a Control whose parameters do not match is not evaluated.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:Type=object
	ParametersSchema *apiextensionsv1.JSON `json:"parametersSchema,omitempty"`
}

// PolicyStatus says whether the policy can be used.
type PolicyStatus struct {
	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// digest is the sha256 of spec.rego, as the policyDigest of the Controls that use it.
	// +optional
	Digest string `json:"digest,omitempty"`

	// conditions: Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Policy is a reusable Rego policy with the schema of its parameters. Controls apply it through
// spec.policy.ref, each with its own targets, severity and parameters.
//
// There is no short name: Kyverno also serves a kind Policy, so use `kubectl get
// policies.isms.dev` (or `kubectl get isms`) where both are installed.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,categories=isms
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Digest",type=string,JSONPath=`.status.digest`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Policy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec PolicySpec `json:"spec"`
	// +optional
	Status PolicyStatus `json:"status,omitempty"`
}

// PolicyList is a list of Policies.
// +kubebuilder:object:root=true
type PolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Policy `json:"items"`
}

func init() {
	SchemeBuilder.Register(func(scheme *runtime.Scheme) error {
		scheme.AddKnownTypes(GroupVersion, &Policy{}, &PolicyList{})
		return nil
	})
}
