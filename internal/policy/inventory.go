package policy

import (
	"context"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// Inventory is the cluster state policies read as data.inventory. It holds the same converted
// value that is passed as input.review.object, so an object is converted once per change and
// stored once, however many controls read it.
type Inventory struct {
	store storage.Store
}

// NewInventory returns an empty inventory: data.inventory.cluster and
// data.inventory.namespace exist and are empty. A policy that looks up what is missing, such as
// object.get(data.inventory, ["namespace", ns, "v1", "LimitRange"], {}), must find an empty
// object there and not an undefined document, which would silently pass every subject.
func NewInventory() *Inventory {
	empty := map[string]any{"inventory": map[string]any{"cluster": map[string]any{}, "namespace": map[string]any{}}}
	return &Inventory{store: inmem.NewFromObjectWithOpts(empty,
		// Values are ast.Values we built and never mutate afterwards: skip the JSON round trip
		// and keep them in the form the evaluator reads.
		inmem.OptRoundTripOnWrite(false),
		inmem.OptReturnASTValuesOnRead(true),
	)}
}

// InventoryPath is where an object lives under data.inventory.
func InventoryPath(namespace, groupVersion, kind, name string) storage.Path {
	if namespace == "" {
		return storage.Path{"inventory", "cluster", groupVersion, kind, name}
	}
	return storage.Path{"inventory", "namespace", namespace, groupVersion, kind, name}
}

// Put stores the object's value at path, replacing what was there.
func (i *Inventory) Put(ctx context.Context, path storage.Path, value ast.Value) error {
	return storage.Txn(ctx, i.store, storage.WriteParams, func(txn storage.Transaction) error {
		if err := storage.MakeDir(ctx, i.store, txn, path[:len(path)-1]); err != nil {
			return fmt.Errorf("creating inventory path %v: %w", path[:len(path)-1], err)
		}
		return i.store.Write(ctx, txn, storage.AddOp, path, value)
	})
}

// Delete removes the object at path; a missing object is not an error.
func (i *Inventory) Delete(ctx context.Context, path storage.Path) error {
	err := storage.Txn(ctx, i.store, storage.WriteParams, func(txn storage.Transaction) error {
		return i.store.Write(ctx, txn, storage.RemoveOp, path, nil)
	})
	if storage.IsNotFound(err) {
		return nil
	}
	var serr *storage.Error
	if errors.As(err, &serr) && serr.Code == storage.NotFoundErr {
		return nil
	}
	return err
}
