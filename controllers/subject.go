package controllers

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/subject"
)

// newSubject converts what a watch delivers into the one form the operator keeps. The
// conversion lives in internal/subject so that the offline CLI (kubectl isms eval) converts
// objects exactly as the operator does.
func newSubject(gvk schema.GroupVersionKind, u *unstructured.Unstructured, conv *policy.Converter) (*evaluation.Subject, error) {
	return subject.FromUnstructured(gvk, u, conv)
}
