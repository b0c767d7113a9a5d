package exception

import (
	"time"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// maxDuration is ismsv1.MaxExceptionDuration, the bound the CRD's CEL rule puts on
// expiresAt - approvedAt.
var maxDuration = func() time.Duration {
	d, err := time.ParseDuration(ismsv1.MaxExceptionDuration)
	if err != nil {
		panic(err)
	}
	return d
}()

// Validate checks an exception's spec as the API server does when it is written: the CRD's
// required fields, lengths and list sizes, and its CEL rules (see api/v1alpha1). It does not
// check that expiresAt lies in the future, which the operator's webhook does at write time:
// an exception read from files may have expired since, and then it exempts nothing.
func Validate(ex *ismsv1.ControlException) field.ErrorList {
	spec := field.NewPath("spec")
	s := &ex.Spec
	var errs field.ErrorList
	errs = append(errs, validateSet(spec.Child("controls"), s.Controls, true, 32, 253)...)
	errs = append(errs, validateSubjects(spec.Child("subjects"), &s.Subjects)...)
	errs = append(errs, validateString(spec.Child("justification"), s.Justification, true, 2048)...)
	errs = append(errs, validateString(spec.Child("approvedBy"), s.ApprovedBy, true, 253)...)
	errs = append(errs, validateString(spec.Child("risk"), s.Risk, false, 253)...)
	if s.ApprovedAt.IsZero() {
		errs = append(errs, field.Required(spec.Child("approvedAt"), ""))
	}
	if s.ExpiresAt.IsZero() {
		errs = append(errs, field.Required(spec.Child("expiresAt"), ""))
	}
	switch {
	case s.ApprovedAt.IsZero() || s.ExpiresAt.IsZero():
	case !s.ExpiresAt.After(s.ApprovedAt.Time):
		errs = append(errs, field.Invalid(spec, s.ExpiresAt.UTC().Format(time.RFC3339), "expiresAt must be after approvedAt"))
	case s.ExpiresAt.Sub(s.ApprovedAt.Time) > maxDuration:
		errs = append(errs, field.Invalid(spec, s.ExpiresAt.UTC().Format(time.RFC3339), "expiresAt must be at most 365 days after approvedAt"))
	}
	return errs
}

func validateSubjects(path *field.Path, s *ismsv1.ExceptionSubjects) field.ErrorList {
	var errs field.ErrorList
	if len(s.Namespaces) == 0 && s.LabelSelector == nil && len(s.Objects) == 0 {
		errs = append(errs, field.Invalid(path, "", "at least one of namespaces, labelSelector or objects must be set"))
	}
	errs = append(errs, validateSet(path.Child("namespaces"), s.Namespaces, false, 64, 63)...)
	if ls := s.LabelSelector; ls != nil {
		for i, req := range ls.MatchExpressions {
			p := path.Child("labelSelector", "matchExpressions").Index(i)
			if req.Key == "" {
				errs = append(errs, field.Required(p.Child("key"), ""))
			}
			if req.Operator == "" {
				errs = append(errs, field.Required(p.Child("operator"), ""))
			}
		}
	}
	if len(s.Objects) > 64 {
		errs = append(errs, field.TooMany(path.Child("objects"), len(s.Objects), 64))
	}
	for i, o := range s.Objects {
		p := path.Child("objects").Index(i)
		errs = append(errs, validateString(p.Child("apiVersion"), o.APIVersion, false, 317)...)
		errs = append(errs, validateString(p.Child("kind"), o.Kind, true, 63)...)
		errs = append(errs, validateString(p.Child("namespace"), o.Namespace, false, 63)...)
		errs = append(errs, validateString(p.Child("name"), o.Name, true, 253)...)
	}
	return errs
}

// validateSet checks a list of strings with listType=set: that it is not empty when required,
// its size, each item's length, and that no item is repeated.
func validateSet(path *field.Path, items []string, required bool, maxItems, maxLength int) field.ErrorList {
	var errs field.ErrorList
	switch {
	case len(items) == 0 && required:
		errs = append(errs, field.Required(path, ""))
	case len(items) > maxItems:
		errs = append(errs, field.TooMany(path, len(items), maxItems))
	}
	seen := sets.New[string]()
	for i, item := range items {
		errs = append(errs, validateString(path.Index(i), item, false, maxLength)...)
		if seen.Has(item) {
			errs = append(errs, field.Duplicate(path.Index(i), item))
		}
		seen.Insert(item)
	}
	return errs
}

// validateString checks that a required string is set (minLength 1) and its length in
// characters, as OpenAPI maxLength counts them.
func validateString(path *field.Path, s string, required bool, maxLength int) field.ErrorList {
	switch {
	case s == "" && required:
		return field.ErrorList{field.Required(path, "")}
	case len([]rune(s)) > maxLength:
		return field.ErrorList{field.TooLong(path, "", maxLength)}
	}
	return nil
}
