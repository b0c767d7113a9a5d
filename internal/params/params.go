// Package params checks the parameters of a Control against the parametersSchema of the Policy
// it references, with the API server's own OpenAPI validator (the one that validates custom
// resources), and resolves what a Control's spec.policy names. The operator (controllers) and
// the offline evaluator (internal/offline, `kubectl isms eval`) both go through Resolve, so that
// a Control gets the same verdict on parameters in a cluster and in CI.
package params

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// ParametersPath is where parameters live in a Control; validation messages start with it.
var ParametersPath = field.NewPath("spec", "parameters")

// maxMessageLen bounds the message of an Error, which ends up in a condition.
const maxMessageLen = 4096

// Error says why a Control's spec.policy cannot be used until the Control or its Policy
// changes. Reason is the reason of the Control's PolicyReady condition: PolicyNotFound,
// InvalidParameters or InvalidSchema, or InventoryNotListed (from evaluation.Define).
type Error struct {
	Reason  string
	Message string
}

func (e *Error) Error() string { return e.Message }

// CheckSchema reports whether schema (JSON) is usable as a parametersSchema: an OpenAPI v3
// schema, as in a CustomResourceDefinition, that decodes strictly (no unknown keywords), is of
// type object and that the API server's validator accepts. An empty schema is usable: it allows
// any parameters.
func CheckSchema(schema []byte) error {
	_, err := validator(schema)
	return err
}

// ValidateParameters validates parameters (a JSON object; empty means {}) against schema, as
// the API server validates a custom resource. Each problem is reported with its field path
// under spec.parameters, e.g.
//
//	spec.parameters.registries[0]: Invalid value: "integer": spec.parameters.registries[0] in body must be of type string: "integer"
//
// An empty schema allows any parameters. The error says whether the schema or the parameters
// are at fault: see Resolve.
func ValidateParameters(schema, parameters []byte) error {
	v, err := validator(schema)
	if err != nil || v == nil {
		return err
	}
	errs := validate(v, parameters)
	if len(errs) == 0 {
		return nil
	}
	return &invalidParameters{errs}
}

type invalidParameters struct{ errs []string }

func (e *invalidParameters) Error() string { return truncate(strings.Join(e.errs, "; ")) }

type invalidSchema struct{ msg string }

func (e *invalidSchema) Error() string { return truncate("parametersSchema: " + e.msg) }

func validate(v validation.SchemaValidator, parameters []byte) []string {
	var obj any = map[string]any{}
	if len(strings.TrimSpace(string(parameters))) > 0 {
		// Numbers as the API server decodes custom resources: int64 when integral.
		if err := utiljson.Unmarshal(parameters, &obj); err != nil {
			return []string{fmt.Sprintf("%s: Invalid value: not JSON: %v", ParametersPath, err)}
		}
	}
	fieldErrs := validation.ValidateCustomResource(ParametersPath, obj, v)
	out := make([]string, 0, len(fieldErrs))
	for _, e := range fieldErrs {
		out = append(out, e.Error())
	}
	sort.Strings(out)
	return out
}

// validators caches the validator of each schema by its digest: a Control is resolved on every
// reconcile, and building a validator costs more than using it.
var validators = struct {
	sync.Mutex
	m map[[sha256.Size]byte]validation.SchemaValidator
}{m: map[[sha256.Size]byte]validation.SchemaValidator{}}

const maxCachedValidators = 256

// validator returns the validator of schema, nil for an empty schema.
func validator(schema []byte) (validation.SchemaValidator, error) {
	if len(strings.TrimSpace(string(schema))) == 0 || strings.TrimSpace(string(schema)) == "null" {
		return nil, nil
	}
	key := sha256.Sum256(schema)
	validators.Lock()
	v, ok := validators.m[key]
	validators.Unlock()
	if ok {
		return v, nil
	}
	var props apiextensionsv1.JSONSchemaProps
	if err := yaml.UnmarshalStrict(schema, &props); err != nil {
		return nil, &invalidSchema{err.Error()}
	}
	if props.Type != "object" {
		return nil, &invalidSchema{fmt.Sprintf("must be a schema of type object, not %q", props.Type)}
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(&props, &internal, nil); err != nil {
		return nil, &invalidSchema{err.Error()}
	}
	v, _, err := validation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, &invalidSchema{err.Error()}
	}
	validators.Lock()
	if len(validators.m) >= maxCachedValidators {
		clear(validators.m)
	}
	validators.m[key] = v
	validators.Unlock()
	return v, nil
}

// Resolve returns the Rego a Control applies: its inline spec.policy.rego, or the rego of the
// Policy its spec.policy.ref names, given as p (nil when there is no such Policy). For a
// reference it checks the Policy's parametersSchema and validates the Control's spec.parameters
// against it. An *Error says why the Control cannot be evaluated: PolicyNotFound,
// InvalidSchema or InvalidParameters.
func Resolve(c *ismsv1.Control, p *ismsv1.Policy) (string, error) {
	ref := c.Spec.Policy.Ref
	if ref == nil {
		return c.Spec.Policy.Rego, nil
	}
	if p == nil {
		return "", &Error{Reason: ismsv1.ReasonPolicyNotFound, Message: fmt.Sprintf("Policy %s (spec.policy.ref) does not exist; the control is evaluated once it is created.", ref.Name)}
	}
	var parameters []byte
	if c.Spec.Parameters != nil {
		parameters = c.Spec.Parameters.Raw
	}
	if err := ValidateParameters(SchemaJSON(p), parameters); err != nil {
		if _, bad := err.(*invalidSchema); bad {
			return "", &Error{Reason: ismsv1.ReasonInvalidSchema, Message: fmt.Sprintf("Policy %s: %v", p.Name, err)}
		}
		return "", &Error{Reason: ismsv1.ReasonInvalidParameters, Message: fmt.Sprintf("spec.parameters do not match the parametersSchema of Policy %s: %v", p.Name, err)}
	}
	return p.Spec.Rego, nil
}

// SchemaJSON returns a Policy's parametersSchema as JSON, nil when unset.
func SchemaJSON(p *ismsv1.Policy) []byte {
	if p.Spec.ParametersSchema == nil {
		return nil
	}
	return p.Spec.ParametersSchema.Raw
}

func truncate(s string) string {
	if len(s) <= maxMessageLen {
		return s
	}
	return strings.ToValidUTF8(s[:maxMessageLen-3], "") + "..."
}
