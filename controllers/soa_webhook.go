package controllers

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/frameworks"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/soa"
)

// Who edited a StatementOfApplicability and who decided a version comes from the API server,
// as for Attestations: the mutating webhook stamps spec.editedBy on every request that changes
// the content and spec.approval's decidedBy, decidedAt and digest on the request that makes a
// decision (soa.Stamp); the validating webhook refuses a decision by the last editor, by
// someone the statement does not name as an approver, or together with an edit
// (soa.CheckWrite), and warns of entries naming ids the catalog lacks.
//
// +kubebuilder:webhook:path=/mutate-isms-dev-v1alpha1-statementofapplicability,mutating=true,failurePolicy=fail,sideEffects=None,groups=isms.dev,resources=statementofapplicabilities,verbs=create;update,versions=v1alpha1,name=mstatementofapplicability.isms.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-isms-dev-v1alpha1-statementofapplicability,mutating=false,failurePolicy=fail,sideEffects=None,groups=isms.dev,resources=statementofapplicabilities,verbs=create;update,versions=v1alpha1,name=vstatementofapplicability.isms.dev,admissionReviewVersions=v1

// SoAAdmission stamps and validates StatementsOfApplicability.
type SoAAdmission struct {
	Now func() time.Time
}

var (
	_ admission.Defaulter[*ismsv1.StatementOfApplicability] = &SoAAdmission{}
	_ admission.Validator[*ismsv1.StatementOfApplicability] = &SoAAdmission{}
)

// SetupSoAWebhookWithManager registers the mutating and validating webhooks of
// StatementsOfApplicability.
func SetupSoAWebhookWithManager(mgr ctrl.Manager, m *Metrics) error {
	a := &SoAAdmission{Now: time.Now}
	return ctrl.NewWebhookManagedBy(mgr, &ismsv1.StatementOfApplicability{}).
		WithDefaulter(a).
		WithValidator(countRejections[*ismsv1.StatementOfApplicability](a, "StatementOfApplicability", m)).
		Complete()
}

// Default stamps the identities of the request (soa.Stamp).
func (v *SoAAdmission) Default(ctx context.Context, s *ismsv1.StatementOfApplicability) error {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return err
	}
	old, err := storedObject[ismsv1.StatementOfApplicability](req, "statement of applicability")
	if err != nil {
		return err
	}
	soa.Stamp(old, s, requestUser(req), v.Now())
	return nil
}

// ValidateCreate accepts an undecided statement.
func (v *SoAAdmission) ValidateCreate(ctx context.Context, s *ismsv1.StatementOfApplicability) (admission.Warnings, error) {
	return v.validate(ctx, nil, s)
}

// ValidateUpdate accepts edits, and decisions by an approver other than the last editor.
func (v *SoAAdmission) ValidateUpdate(ctx context.Context, old, s *ismsv1.StatementOfApplicability) (admission.Warnings, error) {
	return v.validate(ctx, old, s)
}

// ValidateDelete allows deletions: the evidence ledger keeps every approved version.
func (v *SoAAdmission) ValidateDelete(context.Context, *ismsv1.StatementOfApplicability) (admission.Warnings, error) {
	return nil, nil
}

func (v *SoAAdmission) validate(ctx context.Context, old, s *ismsv1.StatementOfApplicability) (admission.Warnings, error) {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return nil, err
	}
	if err := soa.CheckWrite(old, s, requestUser(req)); err != nil {
		return nil, apierrors.NewInvalid(ismsv1.GroupVersion.WithKind("StatementOfApplicability").GroupKind(), s.Name,
			field.ErrorList{field.Forbidden(field.NewPath("spec", "approval"), err.Error())})
	}
	return soaWarnings(s), nil
}

// soaWarnings are the entries naming ids the catalog lacks, bounded as the Control's are.
func soaWarnings(s *ismsv1.StatementOfApplicability) admission.Warnings {
	cat, ok := frameworks.Default().Lookup(s.Spec.Framework)
	if !ok {
		return nil
	}
	var out admission.Warnings
	for i, p := range frameworks.CheckRequirements(cat, soa.EntriesPath, soa.RequirementIDs(s.Spec.Entries)) {
		if i == maxSoAWarnings {
			out = append(out, "more entries name requirements the catalog lacks: see status.unknownRequirements")
			break
		}
		out = append(out, policy.Truncate(p.String(), 256))
	}
	return out
}

const maxSoAWarnings = 8
