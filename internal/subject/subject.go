// Package subject turns a Kubernetes object into the one form the evaluator keeps
// (evaluation.Subject). The operator's watches and the offline CLI (kubectl isms eval) both
// convert through FromUnstructured, so that a policy sees the same input.review.object and the
// same data.inventory whether it runs in the cluster or in CI.
package subject

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// LastAppliedAnnotation is the annotation kubectl apply writes, stripped before conversion.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// FromUnstructured converts an object into a Subject: one compact form per object, from which
// every control's evaluation and data.inventory build the engine's value, and which shares
// what it has in common with other objects (see policy.Compact).
//
// It modifies u: managedFields and the last-applied annotation are removed, and a Secret's
// values are blanked (RedactSecret).
func FromUnstructured(gvk schema.GroupVersionKind, u *unstructured.Unstructured, conv *policy.Converter) (*evaluation.Subject, error) {
	obj := u.Object
	// managedFields and the last-applied annotation repeat the object; no control needs them.
	unstructured.RemoveNestedField(obj, "metadata", "managedFields")
	if ann := u.GetAnnotations(); ann[LastAppliedAnnotation] != "" {
		delete(ann, LastAppliedAnnotation)
		u.SetAnnotations(ann)
	}
	if gvk.Group == "" && gvk.Kind == "Secret" {
		RedactSecret(obj)
	}
	compact, err := conv.Compact(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %s %s/%s: %w", gvk.Kind, u.GetNamespace(), u.GetName(), err)
	}
	return &evaluation.Subject{
		ObjectMeta: metav1.ObjectMeta{
			Name:            u.GetName(),
			Namespace:       u.GetNamespace(),
			UID:             u.GetUID(),
			ResourceVersion: u.GetResourceVersion(),
			Labels:          u.GetLabels(),
		},
		GVK:     gvk,
		Compact: compact,
	}, nil
}

// RedactSecret keeps a Secret's keys, which policies may check, and drops their values, which
// the operator must never hold.
func RedactSecret(obj map[string]any) {
	for _, field := range []string{"data", "stringData"} {
		if m, ok := obj[field].(map[string]any); ok {
			for k := range m {
				m[k] = ""
			}
		}
	}
}
