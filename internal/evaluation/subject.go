// Package evaluation decides, for every Control, which of its subjects comply. It keeps the
// per-control results between events so that a change to one object costs one evaluation per
// control that targets it, and it knows nothing of the API server: the operator feeds it the
// objects its watches deliver, and reads back what Findings and statuses should say.
package evaluation

import (
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/isms-operator/isms-operator/internal/policy"
)

// Subject is the one form in which a watched object is kept: the metadata needed to match it
// against targets, and its value in the policy engine's form, which serves both as
// input.review.object and as its data.inventory entry.
//
// The embedded ObjectMeta carries only name, namespace, uid, labels and resourceVersion, so
// that client-go's stores can key it.
type Subject struct {
	metav1.ObjectMeta
	GVK   schema.GroupVersionKind
	Value ast.Value
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
func (s *Subject) Key() types.UID { return refOf(s).key() }
