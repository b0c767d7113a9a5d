package v1alpha1_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// The generated Risk CRD validated offline, with the API server's own OpenAPI and CEL
// validators: the rules of the risk register hold without a control plane. The integration
// test TestRiskValidationRejectsInvalidRisks checks the same against a real kube-apiserver.
func TestRiskCRDValidation(t *testing.T) {
	validate := riskValidator(t)
	valid := func() map[string]any {
		return map[string]any{
			"apiVersion": "isms.dev/v1alpha1",
			"kind":       "Risk",
			"metadata":   map[string]any{"name": "r"},
			"spec": map[string]any{
				"title": "t", "owner": "o", "threat": "x",
				"likelihood": int64(4), "impact": int64(4), "appetite": int64(6),
				"treatment": "mitigate",
				"controls":  []any{map[string]any{"name": "c", "likelihoodReduction": int64(2)}},
			},
		}
	}
	acceptance := map[string]any{"acceptedBy": "ciso", "justification": "retired next quarter", "until": "2026-06-30T00:00:00Z"}
	tests := map[string]struct {
		spec    map[string]any // merged into the valid spec
		wantErr string         // "" for a valid Risk
	}{
		"valid":                            {},
		"accept without acceptance":        {spec: map[string]any{"treatment": "accept"}, wantErr: "acceptance is required when treatment is accept"},
		"accept with acceptance":           {spec: map[string]any{"treatment": "accept", "acceptance": acceptance}},
		"acceptance without justification": {spec: map[string]any{"treatment": "accept", "acceptance": map[string]any{"acceptedBy": "ciso", "until": "2026-06-30T00:00:00Z"}}, wantErr: "justification"},
		"likelihood 6":                     {spec: map[string]any{"likelihood": int64(6)}, wantErr: "spec.likelihood"},
		"likelihood 0":                     {spec: map[string]any{"likelihood": int64(0)}, wantErr: "spec.likelihood"},
		"impact 6":                         {spec: map[string]any{"impact": int64(6)}, wantErr: "spec.impact"},
		"appetite 26":                      {spec: map[string]any{"appetite": int64(26)}, wantErr: "spec.appetite"},
		"unknown treatment":                {spec: map[string]any{"treatment": "ignore"}, wantErr: "spec.treatment"},
		"reduction 5":                      {spec: map[string]any{"controls": []any{map[string]any{"name": "c", "impactReduction": int64(5)}}}, wantErr: "impactReduction"},
		"review interval too short":        {spec: map[string]any{"reviewInterval": "30m"}, wantErr: "reviewInterval must be between 1h and 8784h"},
		"review interval a year":           {spec: map[string]any{"reviewInterval": "8760h"}},
		"review interval not a duration":   {spec: map[string]any{"reviewInterval": "90d"}, wantErr: "spec.reviewInterval"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			obj := valid()
			for k, v := range tc.spec {
				obj["spec"].(map[string]any)[k] = v
			}
			errs := validate(obj)
			if tc.wantErr == "" {
				if len(errs) > 0 {
					t.Fatalf("valid Risk rejected: %v", errs)
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("Risk accepted, want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(errs.ToAggregate().Error(), tc.wantErr) {
				t.Errorf("errors = %v, want one containing %q", errs, tc.wantErr)
			}
		})
	}
}

// riskValidator loads config/crd/bases/isms.dev_risks.yaml and returns a function that
// validates an object as the API server does on create (schema, then CEL rules).
func riskValidator(t *testing.T) func(map[string]any) field.ErrorList {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "isms.dev_risks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(data, &crd); err != nil {
		t.Fatal(err)
	}
	var internal apiextensions.CustomResourceValidation
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(crd.Spec.Versions[0].Schema, &internal, nil); err != nil {
		t.Fatal(err)
	}
	ss, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		t.Fatal(err)
	}
	schemaValidator, _, err := validation.NewSchemaValidator(internal.OpenAPIV3Schema)
	if err != nil {
		t.Fatal(err)
	}
	celValidator := cel.NewValidator(ss, true, celconfig.PerCallLimit)
	return func(obj map[string]any) field.ErrorList {
		obj = runtime.DeepCopyJSON(obj)
		errs := validation.ValidateCustomResource(nil, obj, schemaValidator)
		celErrs, _ := celValidator.Validate(context.Background(), nil, ss, obj, nil, celconfig.RuntimeCELCostBudget)
		return append(errs, celErrs...)
	}
}
