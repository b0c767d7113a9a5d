package evaluation

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"

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
// InvalidSchema); a *policy.CompileError what is wrong with the Rego or the parameters.
func Define(ctx context.Context, engine *policy.Engine, control *ismsv1.Control, referenced *ismsv1.Policy) (ControlDefinition, error) {
	rego, err := params.Resolve(control, referenced)
	if err != nil {
		return ControlDefinition{}, err
	}
	p, err := engine.Compile(ctx, rego)
	if err != nil {
		var ce *policy.CompileError
		if ref := control.Spec.Policy.Ref; ref != nil && errors.As(err, &ce) {
			return ControlDefinition{}, &policy.CompileError{Message: fmt.Sprintf("Policy %s: %s", ref.Name, ce.Message)}
		}
		return ControlDefinition{}, err
	}
	var parameters ast.Value
	if control.Spec.Parameters != nil && len(control.Spec.Parameters.Raw) > 0 {
		if parameters, err = ast.ValueFromReader(bytes.NewReader(control.Spec.Parameters.Raw)); err != nil {
			return ControlDefinition{}, &policy.CompileError{Message: "spec.parameters: " + err.Error()}
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
