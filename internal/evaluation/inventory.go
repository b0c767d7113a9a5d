package evaluation

import (
	"context"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// LoadInventory makes data.inventory hold the objects of the given kinds, as the controls that
// name them under spec.inventory need: from now on their events update it, and the objects
// list returns (a watch's store) are put there now. A kind loaded before is not listed again.
//
// data.inventory holds only such kinds: keeping an engine value of every watched object would
// cost several times what the objects cost in compact form.
func (e *Evaluator) LoadInventory(ctx context.Context, kinds []schema.GroupKind, list func([]schema.GroupKind) []*Subject) error {
	e.invMu.Lock()
	defer e.invMu.Unlock()
	var load []schema.GroupKind
	for _, gk := range kinds {
		if !e.inventoryKinds[gk] {
			e.inventoryKinds[gk] = true
			load = append(load, gk)
		}
	}
	if len(load) == 0 {
		return nil
	}
	// Listed under invMu: an event of these kinds waits, and then finds its kind loaded.
	for _, s := range list(load) {
		if _, err := e.putLocked(ctx, s); err != nil {
			for _, gk := range load {
				delete(e.inventoryKinds, gk) // loaded again by the control's next reconcile
			}
			return err
		}
	}
	return nil
}

// putInventory stores the subject in data.inventory if its kind is loaded there, and returns
// the value it stored.
func (e *Evaluator) putInventory(ctx context.Context, s *Subject) (ast.Value, error) {
	e.invMu.Lock()
	defer e.invMu.Unlock()
	if !e.inventoryKinds[s.GroupKind()] {
		return nil, nil
	}
	return e.putLocked(ctx, s)
}

// putLocked stores the subject's value in data.inventory; callers hold invMu.
func (e *Evaluator) putLocked(ctx context.Context, s *Subject) (ast.Value, error) {
	v := s.Materialize()
	err := e.inventory.Put(ctx, s.InventoryPath(), v)
	e.inventoryVersions.wrote(s.GroupKind()) // even after an error: a half-done write is one too
	if err != nil {
		return nil, fmt.Errorf("storing %s %s/%s in the inventory: %w", s.GVK.Kind, s.Namespace, s.Name, err)
	}
	return v, nil
}

// deleteInventory removes the subject from data.inventory if its kind is loaded there.
func (e *Evaluator) deleteInventory(ctx context.Context, s *Subject) error {
	e.invMu.Lock()
	defer e.invMu.Unlock()
	if !e.inventoryKinds[s.GroupKind()] {
		return nil
	}
	err := e.inventory.Delete(ctx, s.InventoryPath())
	e.inventoryVersions.wrote(s.GroupKind())
	if err != nil {
		return fmt.Errorf("removing %s %s/%s from the inventory: %w", s.GVK.Kind, s.Namespace, s.Name, err)
	}
	return nil
}
