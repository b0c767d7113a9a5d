package controllers

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/policy"
)

const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// newSubject converts what a watch delivers into the one form the operator keeps: one
// converted value per object, shared by every control and by data.inventory, and sharing what
// it has in common with other objects (see policy.Converter).
func newSubject(gvk schema.GroupVersionKind, u *unstructured.Unstructured, conv *policy.Converter) (*evaluation.Subject, error) {
	obj := u.Object
	// managedFields and the last-applied annotation repeat the object; no control needs them.
	unstructured.RemoveNestedField(obj, "metadata", "managedFields")
	if ann := u.GetAnnotations(); ann[lastAppliedAnnotation] != "" {
		delete(ann, lastAppliedAnnotation)
		u.SetAnnotations(ann)
	}
	if gvk.Group == "" && gvk.Kind == "Secret" {
		redactSecret(obj)
	}
	value, err := conv.Convert(obj)
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
		GVK:   gvk,
		Value: value,
	}, nil
}

// redactSecret keeps a Secret's keys, which policies may check, and drops their values, which
// the operator must never hold.
func redactSecret(obj map[string]any) {
	for _, field := range []string{"data", "stringData"} {
		if m, ok := obj[field].(map[string]any); ok {
			for k := range m {
				m[k] = ""
			}
		}
	}
}
