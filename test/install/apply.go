package install

import (
	"context"
	"fmt"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FieldOwner is the field manager the install is applied as, like kubectl's.
const FieldOwner = "isms-install-test"

// Apply applies objs server-side, in the order kubectl apply would succeed in: Namespaces and
// CRDs first, waiting until the CRDs are established, then everything else. It returns the
// first object the API server refuses.
func Apply(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	var first, rest []*unstructured.Unstructured
	for _, obj := range objs {
		if obj.GetKind() == "Namespace" || obj.GetKind() == "CustomResourceDefinition" {
			first = append(first, obj)
		} else {
			rest = append(rest, obj)
		}
	}
	if err := applyAll(ctx, c, first); err != nil {
		return err
	}
	for _, obj := range first {
		if obj.GetKind() == "CustomResourceDefinition" {
			if err := waitEstablished(ctx, c, obj.GetName()); err != nil {
				return err
			}
		}
	}
	return applyAll(ctx, c, rest)
}

func applyAll(ctx context.Context, c client.Client, objs []*unstructured.Unstructured) error {
	for _, obj := range objs {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj.DeepCopy()), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return nil
}

// waitEstablished reads the CRD unstructured, so that c's scheme need not know the kind.
func waitEstablished(ctx context.Context, c client.Client, name string) error {
	return wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		crd := &unstructured.Unstructured{}
		crd.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			return false, err
		}
		conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, cond := range conditions {
			m, _ := cond.(map[string]any)
			if m["type"] == string(apiextensionsv1.Established) && m["status"] == string(apiextensionsv1.ConditionTrue) {
				return true, nil
			}
		}
		return false, nil
	})
}

// StubCRDs are schemaless CRDs for the kinds of objs that the install does not define itself
// (cert-manager's Issuer and Certificate), so that an API server without cert-manager accepts
// them. They stand in for cert-manager's own CRDs, which validate more.
func StubCRDs(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	defined := map[schema.GroupKind]bool{}
	for _, obj := range objs {
		if obj.GetKind() == "CustomResourceDefinition" {
			group, _, _ := unstructured.NestedString(obj.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(obj.Object, "spec", "names", "kind")
			defined[schema.GroupKind{Group: group, Kind: kind}] = true
		}
	}
	var stubs []*unstructured.Unstructured
	seen := map[schema.GroupVersionKind]bool{}
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		if gvk.Group != "cert-manager.io" || defined[gvk.GroupKind()] || seen[gvk] {
			continue
		}
		seen[gvk] = true
		stubs = append(stubs, stubCRD(gvk))
	}
	return stubs
}

func stubCRD(gvk schema.GroupVersionKind) *unstructured.Unstructured {
	plural := strings.ToLower(gvk.Kind) + "s" // issuers, certificates
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": plural + "." + gvk.Group},
		"spec": map[string]any{
			"group": gvk.Group,
			"scope": "Namespaced",
			"names": map[string]any{"kind": gvk.Kind, "plural": plural, "listKind": gvk.Kind + "List", "singular": plural[:len(plural)-1]},
			"versions": []any{map[string]any{
				"name": gvk.Version, "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
			}},
		},
	}}
}
