// Package evaluation decides, for every Control, which of its subjects comply. It keeps the
// per-control results between events so that a change to one object costs one evaluation per
// control that targets it, and it knows nothing of the API server: the operator feeds it the
// objects its watches deliver, and reads back what Findings and statuses should say.
package evaluation

import (
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/isms-operator/isms-operator/internal/policy"
)

// Subject is the one form in which a watched object is kept: the metadata needed to match it
// against targets, and the object itself in compact form (policy.Compact), from which the
// policy engine's value is built when the object is evaluated or put in data.inventory.
//
// The embedded ObjectMeta carries only name, namespace, uid, labels and resourceVersion, so
// that client-go's stores can key it.
type Subject struct {
	metav1.ObjectMeta
	GVK schema.GroupVersionKind
	// Compact is the object as the watches keep it.
	Compact *policy.Compact
	// Value, when set, is the object's engine value, used as it is instead of building one
	// from Compact (for objects built in tests and benchmarks).
	Value ast.Value

	// sweptIn is the sweep batch that last evaluated this very object (this instance: an
	// update is a new Subject), read and written atomically. A watch hands each object to the
	// event handler after it is in the store a sweep lists, so the initial list of a watch can
	// reach the handler after a sweep has already evaluated it: this lets the handler skip it.
	sweptIn uint64
}

// Materialize returns the subject's value in the policy engine's form: Value if set, else a
// new value built from Compact, which the caller may keep or drop (nothing may modify it).
func (s *Subject) Materialize() ast.Value {
	if s.Value != nil {
		return s.Value
	}
	return s.Compact.Value()
}

// GroupKind of the subject.
func (s *Subject) GroupKind() schema.GroupKind { return s.GVK.GroupKind() }

// APIVersion of the subject, e.g. apps/v1.
func (s *Subject) APIVersion() string { return s.GVK.GroupVersion().String() }

// InventoryPath is where the subject is found under data.inventory.
func (s *Subject) InventoryPath() storage.Path {
	return policy.InventoryPath(s.Namespace, s.APIVersion(), s.GVK.Kind, s.Name)
}

// Key identifies the subject across kinds.
// Objects built offline (the CLI) may have no uid.
func (s *Subject) Key() types.UID {
	if s.UID != "" {
		return s.UID // as refOf(s).key(), without building the ref
	}
	return refOf(s).key()
}

// Subjects travel through client-go's informer machinery as runtime.Objects, so that a watch
// can hand them over already converted: the informer then never holds the full decoded
// objects, not even while its initial list streams in.

// GetObjectKind implements runtime.Object. A Subject carries its kind in GVK; it reports none
// here, so that nothing mistakes it for an API type.
func (s *Subject) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object. The object is shared: it is never mutated.
// A copy is a new instance, which no sweep has evaluated yet.
func (s *Subject) DeepCopyObject() runtime.Object {
	c := &Subject{GVK: s.GVK, Compact: s.Compact, Value: s.Value}
	s.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	return c
}

// SubjectList is a list of Subjects, what a converting ListWatch returns from a list call.
type SubjectList struct {
	metav1.ListMeta
	Items []*Subject
}

// GetObjectKind implements runtime.Object.
func (l *SubjectList) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject implements runtime.Object.
func (l *SubjectList) DeepCopyObject() runtime.Object {
	c := &SubjectList{Items: make([]*Subject, len(l.Items))}
	l.ListMeta.DeepCopyInto(&c.ListMeta)
	for i, s := range l.Items {
		c.Items[i] = s.DeepCopyObject().(*Subject)
	}
	return c
}
