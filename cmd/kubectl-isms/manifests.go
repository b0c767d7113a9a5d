package main

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/isms-operator/isms-operator/internal/offline"
)

// crdGroupKind is the kind whose objects may declare cluster-scoped kinds.
var crdGroupKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

// manifests are the objects of the inputs other than Controls, Policies and
// ControlExceptions, as offline.Objects. Each is kept as its JSON, compact and about the size
// of the YAML it came from, until the evaluation decodes it (once) and converts it into the
// form the evaluator keeps, or ignores it: the inputs are never all held decoded.
type manifests struct {
	kinds []schema.GroupVersionKind
	json  [][]byte
	// crds are the CustomResourceDefinitions among them, decoded, for their scopes.
	crds []*unstructured.Unstructured
}

var _ offline.Objects = (*manifests)(nil)

// add keeps an object, decoded as u from js.
func (m *manifests) add(gvk schema.GroupVersionKind, u *unstructured.Unstructured, js []byte) {
	if gvk.GroupKind() == crdGroupKind {
		m.crds = append(m.crds, u)
	}
	m.kinds = append(m.kinds, gvk)
	m.json = append(m.json, bytes.Clone(js)) // not the decoder's larger buffer
}

func (m *manifests) Len() int { return len(m.kinds) }

func (m *manifests) GroupVersionKind(i int) schema.GroupVersionKind { return m.kinds[i] }

// Decode decodes the i-th object and lets its JSON go. Its JSON was encoded by the loader:
// failing to decode it, or decoding it twice, is a bug (a panic: exit code 3), not bad input.
func (m *manifests) Decode(i int) (*unstructured.Unstructured, error) {
	js := m.json[i]
	if js == nil {
		panic(fmt.Sprintf("object %d of the inputs decoded twice: offline.Objects says once", i))
	}
	m.json[i] = nil
	obj, err := decodeJSONObject(js)
	if err != nil {
		panic(fmt.Sprintf("decoding object %d of the inputs again: %v", i, err))
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

func (m *manifests) ClusterScopedKinds() map[schema.GroupKind]bool {
	return offline.ClusterScopedKinds(m.crds)
}
