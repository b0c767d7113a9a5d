package evaluation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/params"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// Define compiles what a Control applies into what the evaluator needs: its inline Rego, or
// the Rego of the Policy its spec.policy.ref names (referenced, nil when there is no such
// Policy) with spec.parameters validated against that Policy's parametersSchema. The operator
// and `kubectl isms eval` both define Controls here, so that they judge alike.
//
// A *params.Error says why a reference cannot be used (PolicyNotFound, InvalidParameters,
// InvalidSchema) or why the policy cannot be used with this Control (InventoryNotListed, see
// checkInventoryListed); a *policy.CompileError what is wrong with the Rego or the parameters.
// Either comes wrapped in a *SpecError that names the field at fault, for the admission
// webhook (errors.As finds them through it).
func Define(ctx context.Context, engine *policy.Engine, control *ismsv1.Control, referenced *ismsv1.Policy) (ControlDefinition, error) {
	ref := control.Spec.Policy.Ref
	rego, err := params.Resolve(control, referenced)
	if err != nil {
		return ControlDefinition{}, resolveError(err)
	}
	p, err := engine.Compile(ctx, rego)
	if err != nil {
		var ce *policy.CompileError
		switch {
		case !errors.As(err, &ce):
			return ControlDefinition{}, err // not the spec's fault
		case ref != nil:
			return ControlDefinition{}, &SpecError{Field: policyRefPath, OfPolicy: true,
				Err: &policy.CompileError{Message: fmt.Sprintf("Policy %s: %s", ref.Name, ce.Message)}}
		}
		return ControlDefinition{}, &SpecError{Field: policyRegoPath, Err: err}
	}
	if err := checkInventoryListed(control, p.InventoryReads); err != nil {
		return ControlDefinition{}, &SpecError{Field: inventoryPath, OfPolicy: ref != nil, Err: err}
	}
	var parameters ast.Value
	if control.Spec.Parameters != nil && len(control.Spec.Parameters.Raw) > 0 {
		if parameters, err = ast.ValueFromReader(bytes.NewReader(control.Spec.Parameters.Raw)); err != nil {
			return ControlDefinition{}, &SpecError{Field: params.ParametersPath, Err: &policy.CompileError{Message: "spec.parameters: " + err.Error()}}
		}
	}
	return ControlDefinition{
		Name:       control.Name,
		Generation: control.Generation,
		Targets:    control.Spec.Targets,
		Inventory:  control.Spec.Inventory,
		Policy:     p,
		Parameters: parameters,
	}, nil
}

// SpecError is an error of Define with the field of the Control it is about.
type SpecError struct {
	// Field is spec.policy.rego, spec.policy.ref, spec.parameters or spec.inventory.
	Field *field.Path
	// OfPolicy: the referenced Policy decides the error as much as the Control does, and
	// changing the Policy (creating it, fixing its Rego or schema) can clear it.
	OfPolicy bool
	// Err is a *params.Error or a *policy.CompileError.
	Err error
}

func (e *SpecError) Error() string { return e.Err.Error() }
func (e *SpecError) Unwrap() error { return e.Err }

var (
	policyRegoPath = field.NewPath("spec", "policy", "rego")
	policyRefPath  = field.NewPath("spec", "policy", "ref")
	inventoryPath  = field.NewPath("spec", "inventory")
)

// resolveError names the field of an error of params.Resolve: a missing Policy or an unusable
// schema are the Policy's doing, parameters that fail the schema the Control's.
func resolveError(err error) error {
	var pe *params.Error
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Reason {
	case ismsv1.ReasonInvalidParameters:
		return &SpecError{Field: params.ParametersPath, Err: err}
	case ismsv1.ReasonPolicyNotFound:
		return &SpecError{Field: policyRefPath.Child("name"), OfPolicy: true, Err: err}
	}
	return &SpecError{Field: policyRefPath, OfPolicy: true, Err: err}
}

// maxInventoryMessage bounds the InventoryNotListed message, which names kinds from the policy.
const maxInventoryMessage = 1024

// checkInventoryListed refuses a policy that reads from data.inventory a kind the Control's
// spec.inventory does not list. data.inventory holds only the kinds Controls list there, so
// such a read finds nothing, and a check like "the namespace has a NetworkPolicy" never sees
// one (or sees one only while some other Control happens to list the kind). The message
// names the spec.inventory entries to add. Reads the source does not resolve to kinds
// (policy.InventoryReads.Dynamic) are not refused: the policy gets the listed kinds only.
func checkInventoryListed(control *ismsv1.Control, reads policy.InventoryReads) error {
	listed := GroupKinds(control.Spec.Inventory)
	missing := map[string][]string{} // group → kinds
	var read []string
	for _, k := range reads.Kinds {
		gv, err := schema.ParseGroupVersion(k.GroupVersion)
		if err != nil {
			continue // not a group version: no object is ever stored under it
		}
		gk := schema.GroupKind{Group: gv.Group, Kind: k.Kind}
		if slices.Contains(listed, gk) || slices.Contains(missing[gk.Group], gk.Kind) {
			continue
		}
		missing[gk.Group] = append(missing[gk.Group], gk.Kind)
		read = append(read, fmt.Sprintf("%s (%s)", k.Kind, k.GroupVersion))
	}
	if len(missing) == 0 {
		return nil
	}
	var entries []string
	for _, group := range slices.Sorted(maps.Keys(missing)) {
		entries = append(entries, fmt.Sprintf("{apiGroups: [%q], kinds: [%s]}", group, quoteAll(missing[group])))
	}
	msg := fmt.Sprintf("The policy reads %s from data.inventory, which holds only the kinds spec.inventory lists, "+
		"so it would find nothing there. Add to spec.inventory: %s",
		strings.Join(read, ", "), strings.Join(entries, ", "))
	return &params.Error{Reason: ismsv1.ReasonInventoryNotListed, Message: policy.Truncate(msg, maxInventoryMessage)}
}

func quoteAll(xs []string) string {
	quoted := make([]string, len(xs))
	for i, x := range xs {
		quoted[i] = strconv.Quote(x)
	}
	return strings.Join(quoted, ", ")
}
