package params

import (
	"errors"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

const registriesSchema = `{
  "type": "object",
  "required": ["allowedRegistries"],
  "properties": {
    "allowedRegistries": {"type": "array", "items": {"type": "string", "pattern": "/$"}, "maxItems": 3},
    "minReplicas": {"type": "integer", "minimum": 1},
    "mode": {"type": "string", "enum": ["warn", "deny"]}
  },
  "additionalProperties": false
}`

func TestCheckSchema(t *testing.T) {
	tests := map[string]struct {
		schema  string
		wantErr string // "" for a usable schema
	}{
		"empty allows anything":   {schema: ""},
		"null allows anything":    {schema: "null"},
		"object schema":           {schema: registriesSchema},
		"bare object":             {schema: `{"type": "object"}`},
		"yaml-shaped nested":      {schema: `{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"number"}}}}}`},
		"not an object":           {schema: `{"type": "array", "items": {"type": "string"}}`, wantErr: `must be a schema of type object, not "array"`},
		"no type":                 {schema: `{"properties": {"a": {"type": "string"}}}`, wantErr: `must be a schema of type object, not ""`},
		"unknown keyword":         {schema: `{"type": "object", "propertys": {}}`, wantErr: `unknown field "propertys"`},
		"wrong keyword type":      {schema: `{"type": "object", "required": "a"}`, wantErr: "parametersSchema"},
		"not JSON":                {schema: `{"type": `, wantErr: "parametersSchema"},
		"a JSON array, no schema": {schema: `[]`, wantErr: "parametersSchema"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := CheckSchema([]byte(tc.schema))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckSchema: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("CheckSchema = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestValidateParameters(t *testing.T) {
	tests := map[string]struct {
		schema, params string
		want           []string // substrings of the error; none for valid parameters
	}{
		"valid":                  {schema: registriesSchema, params: `{"allowedRegistries": ["registry.example.com/"], "minReplicas": 2, "mode": "deny"}`},
		"no schema, anything":    {params: `{"x": [1, {"y": true}]}`},
		"no schema, no params":   {},
		"integral float is int":  {schema: registriesSchema, params: `{"allowedRegistries": [], "minReplicas": 2.0}`},
		"missing required":       {schema: registriesSchema, params: `{}`, want: []string{"spec.parameters.allowedRegistries: Required value"}},
		"absent params are {}":   {schema: registriesSchema, params: ``, want: []string{"spec.parameters.allowedRegistries: Required value"}},
		"wrong item type":        {schema: registriesSchema, params: `{"allowedRegistries": [42]}`, want: []string{"spec.parameters.allowedRegistries[0]: Invalid value", "must be of type string"}},
		"pattern":                {schema: registriesSchema, params: `{"allowedRegistries": ["ok/", "docker.io"]}`, want: []string{"spec.parameters.allowedRegistries[1]: Invalid value", `should match '/$'`}},
		"too many items":         {schema: registriesSchema, params: `{"allowedRegistries": ["a/", "b/", "c/", "d/"]}`, want: []string{"spec.parameters.allowedRegistries: Too many"}},
		"below minimum":          {schema: registriesSchema, params: `{"allowedRegistries": [], "minReplicas": 0}`, want: []string{"spec.parameters.minReplicas: Invalid value", "greater than or equal to 1"}},
		"not an integer":         {schema: registriesSchema, params: `{"allowedRegistries": [], "minReplicas": 1.5}`, want: []string{"spec.parameters.minReplicas: Invalid value", "must be of type integer"}},
		"enum":                   {schema: registriesSchema, params: `{"allowedRegistries": [], "mode": "audit"}`, want: []string{"spec.parameters.mode: Unsupported value: \"audit\""}},
		"unknown property":       {schema: registriesSchema, params: `{"allowedRegistries": [], "registries": []}`, want: []string{`spec.parameters: Invalid value: "registries"`, "forbidden property"}},
		"two problems, both":     {schema: registriesSchema, params: `{"allowedRegistries": [1], "mode": "x"}`, want: []string{"allowedRegistries[0]", "spec.parameters.mode"}},
		"bad schema is reported": {schema: `{"type": "string"}`, params: `{}`, want: []string{"parametersSchema: must be a schema of type object"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := ValidateParameters([]byte(tc.schema), []byte(tc.params))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("ValidateParameters: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("parameters accepted, want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestResolve(t *testing.T) {
	policyObj := func(schema string) *ismsv1.Policy {
		p := &ismsv1.Policy{ObjectMeta: metav1.ObjectMeta{Name: "registries"}, Spec: ismsv1.PolicySpec{Rego: "package shared\n"}}
		if schema != "" {
			p.Spec.ParametersSchema = &apiextensionsv1.JSON{Raw: []byte(schema)}
		}
		return p
	}
	controlObj := func(ref bool, params string) *ismsv1.Control {
		c := &ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: "c"}}
		if ref {
			c.Spec.Policy.Ref = &ismsv1.PolicyReference{Name: "registries"}
		} else {
			c.Spec.Policy.Rego = "package inline\n"
		}
		if params != "" {
			c.Spec.Parameters = &apiextensionsv1.JSON{Raw: []byte(params)}
		}
		return c
	}
	tests := map[string]struct {
		control    *ismsv1.Control
		policy     *ismsv1.Policy
		wantRego   string
		wantReason string
		wantMsg    string
	}{
		"inline, no policy needed":  {control: controlObj(false, `{"anything": 1}`), wantRego: "package inline\n"},
		"inline ignores any policy": {control: controlObj(false, ""), policy: policyObj(`{"type":"string"}`), wantRego: "package inline\n"},
		"ref, valid parameters":     {control: controlObj(true, `{"allowedRegistries": ["r/"]}`), policy: policyObj(registriesSchema), wantRego: "package shared\n"},
		"ref without schema":        {control: controlObj(true, `{"x": 1}`), policy: policyObj(""), wantRego: "package shared\n"},
		"ref to a missing policy":   {control: controlObj(true, ""), wantReason: ismsv1.ReasonPolicyNotFound, wantMsg: "Policy registries (spec.policy.ref) does not exist"},
		"invalid parameters":        {control: controlObj(true, `{"allowedRegistries": [1]}`), policy: policyObj(registriesSchema), wantReason: ismsv1.ReasonInvalidParameters, wantMsg: "spec.parameters.allowedRegistries[0]: Invalid value"},
		"invalid schema":            {control: controlObj(true, `{}`), policy: policyObj(`{"type":"object","bogus":1}`), wantReason: ismsv1.ReasonInvalidSchema, wantMsg: "Policy registries: parametersSchema"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rego, err := Resolve(tc.control, tc.policy)
			if tc.wantReason == "" {
				if err != nil || rego != tc.wantRego {
					t.Fatalf("Resolve = %q, %v; want %q", rego, err, tc.wantRego)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Resolve error = %v, want an *Error", err)
			}
			if pe.Reason != tc.wantReason || !strings.Contains(pe.Message, tc.wantMsg) {
				t.Errorf("Resolve = %s: %q; want %s containing %q", pe.Reason, pe.Message, tc.wantReason, tc.wantMsg)
			}
		})
	}
}
