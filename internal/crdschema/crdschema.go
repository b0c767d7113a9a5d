// Package crdschema validates isms.dev objects as the API server does before it stores them:
// defaults, the OpenAPI schema (types, enums, bounds, patterns) and the CEL rules of the
// project's own CustomResourceDefinitions, through the apiextensions libraries the API server
// runs. kubectl isms uses it so that a Control the cluster would refuse (an interval of 0s,
// a thousand kinds) is an input error there too, not evaluated.
package crdschema

import (
	"context"
	"fmt"
	"io/fs"
	"path"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"sigs.k8s.io/yaml"
)

// Validator validates objects of the kinds its CRDs define, by group, version and kind.
type Validator struct {
	kinds map[schema.GroupVersionKind]*kindSchema
}

type kindSchema struct {
	structural *structuralschema.Structural
	openAPI    validation.SchemaValidator
	cel        *cel.Validator
}

// Load reads every *.yaml CustomResourceDefinition in dir of fsys.
func Load(fsys fs.FS, dir string) (*Validator, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	v := &Validator{kinds: map[schema.GroupVersionKind]*kindSchema{}}
	for _, f := range files {
		raw, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		if err := v.add(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return v, nil
}

// add compiles the schema of every served version of one CRD.
func (v *Validator) add(raw []byte) error {
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(raw, &crd); err != nil {
		return err
	}
	for _, ver := range crd.Spec.Versions {
		if !ver.Served || ver.Schema == nil || ver.Schema.OpenAPIV3Schema == nil {
			continue
		}
		ks, err := compile(ver.Schema.OpenAPIV3Schema)
		if err != nil {
			return fmt.Errorf("version %s: %w", ver.Name, err)
		}
		v.kinds[schema.GroupVersionKind{Group: crd.Spec.Group, Version: ver.Name, Kind: crd.Spec.Names.Kind}] = ks
	}
	return nil
}

func compile(props *apiextensionsv1.JSONSchemaProps) (*kindSchema, error) {
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(props, &internal, nil); err != nil {
		return nil, err
	}
	structural, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, err
	}
	openAPI, _, err := validation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, err
	}
	return &kindSchema{structural: structural, openAPI: openAPI, cel: cel.NewValidator(structural, true, celconfig.PerCallLimit)}, nil
}

// Knows reports whether gvk is one of the CRDs' kinds.
func (v *Validator) Knows(gvk schema.GroupVersionKind) bool { return v.kinds[gvk] != nil }

// Validate checks obj (an object's JSON content, as unstructured holds it) the way the API
// server checks a create with strict field validation (kubectl's default): a field the schema
// does not declare is an error, then it applies the schema's defaults to obj and checks its
// name, the OpenAPI schema and the CEL rules. Errors name the field.
func (v *Validator) Validate(ctx context.Context, gvk schema.GroupVersionKind, obj map[string]any) field.ErrorList {
	ks := v.kinds[gvk]
	if ks == nil {
		return field.ErrorList{field.NotSupported[string](field.NewPath("kind"), gvk.Kind, nil)}
	}
	if errs := unknownFields(obj, ks.structural); len(errs) > 0 {
		return errs
	}
	defaulting.Default(obj, ks.structural)
	errs := validateName(obj)
	errs = append(errs, validation.ValidateCustomResource(nil, obj, ks.openAPI)...)
	if len(errs) > 0 {
		return errs // CEL rules assume the schema's types
	}
	celErrs, _ := ks.cel.Validate(ctx, nil, ks.structural, obj, nil, celconfig.RuntimeCELCostBudget)
	return append(errs, celErrs...)
}

// unknownFields lists the fields the schema would prune, on a copy of obj.
func unknownFields(obj map[string]any, s *structuralschema.Structural) field.ErrorList {
	copied := runtime.DeepCopyJSON(obj)
	var errs field.ErrorList
	for _, p := range pruning.PruneWithOptions(copied, s, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		errs = append(errs, field.Forbidden(field.NewPath(p), "unknown field: the schema does not declare it"))
	}
	return errs
}

// validateName checks metadata.name as the API server does for a custom resource.
func validateName(obj map[string]any) field.ErrorList {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	path := field.NewPath("metadata", "name")
	if name == "" {
		return field.ErrorList{field.Required(path, "")}
	}
	var errs field.ErrorList
	for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(name, false) {
		errs = append(errs, field.Invalid(path, name, msg))
	}
	return errs
}
