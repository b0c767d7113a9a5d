// Package v1alpha1 contains the isms.dev/v1alpha1 API: Controls and the Findings they raise.
//
// The package depends only on apimachinery so that the pure core under internal/ and the
// offline CLI can use these types without pulling in controller-runtime.
//
// +kubebuilder:object:generate=true
// +groupName=isms.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the group and version of every kind in this package.
var GroupVersion = schema.GroupVersion{Group: "isms.dev", Version: "v1alpha1"}

var (
	// SchemeBuilder registers the kinds of this package with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion,
		&Control{}, &ControlList{},
		&Finding{}, &FindingList{},
	)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
