package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/attestation"
)

// Who submitted and who decided an Attestation comes from the API server, which authenticated
// the request, never from the object: the mutating webhook stamps submittedBy on create and
// decidedBy and decidedAt on the update that sets the decision (attestation.Stamp); the
// validating webhook then refuses a decision by the submitter or by someone the Control does
// not name as an approver, and any change of a decided attestation (attestation.CheckWrite).
// The CRD's CEL rules refuse edits of a decided attestation too, should the webhook be off.
//
// +kubebuilder:webhook:path=/mutate-isms-dev-v1alpha1-attestation,mutating=true,failurePolicy=fail,sideEffects=None,groups=isms.dev,resources=attestations,verbs=create;update,versions=v1alpha1,name=mattestation.isms.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-isms-dev-v1alpha1-attestation,mutating=false,failurePolicy=fail,sideEffects=None,groups=isms.dev,resources=attestations,verbs=create;update,versions=v1alpha1,name=vattestation.isms.dev,admissionReviewVersions=v1

// AttestationAdmission stamps and validates Attestations.
type AttestationAdmission struct {
	// Controls reads the attested Control, from the API server: a Control created moments
	// before its first attestation may not be in the cache yet.
	Controls client.Reader
	Now      func() time.Time
}

var (
	_ admission.Defaulter[*ismsv1.Attestation] = &AttestationAdmission{}
	_ admission.Validator[*ismsv1.Attestation] = &AttestationAdmission{}
)

// SetupAttestationWebhookWithManager registers the mutating and validating webhooks of
// Attestations; the validator's refusals are counted in m.
func SetupAttestationWebhookWithManager(mgr ctrl.Manager, m *Metrics) error {
	a := &AttestationAdmission{Controls: mgr.GetAPIReader(), Now: time.Now}
	return ctrl.NewWebhookManagedBy(mgr, &ismsv1.Attestation{}).
		WithDefaulter(a).
		WithValidator(countRejections[*ismsv1.Attestation](a, "Attestation", m)).
		Complete()
}

// Default stamps the identities of the request (attestation.Stamp).
func (v *AttestationAdmission) Default(ctx context.Context, a *ismsv1.Attestation) error {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return err
	}
	old, err := storedObject[ismsv1.Attestation](req, "attestation")
	if err != nil {
		return err
	}
	attestation.Stamp(old, a, requestUser(req), v.Now())
	return nil
}

// ValidateCreate accepts an undecided attestation of an attested Control.
func (v *AttestationAdmission) ValidateCreate(ctx context.Context, a *ismsv1.Attestation) (admission.Warnings, error) {
	return nil, v.validate(ctx, nil, a)
}

// ValidateUpdate accepts a decision by an approver other than the submitter, a withdrawal by
// the submitter, and edits of an undecided attestation.
func (v *AttestationAdmission) ValidateUpdate(ctx context.Context, old, a *ismsv1.Attestation) (admission.Warnings, error) {
	return nil, v.validate(ctx, old, a)
}

// ValidateDelete allows deletions: the evidence ledger keeps what was decided.
func (v *AttestationAdmission) ValidateDelete(context.Context, *ismsv1.Attestation) (admission.Warnings, error) {
	return nil, nil
}

func (v *AttestationAdmission) validate(ctx context.Context, old, a *ismsv1.Attestation) error {
	req, err := admission.RequestFromContext(ctx)
	if err != nil {
		return err
	}
	var control ismsv1.Control
	attested := false
	switch err := v.Controls.Get(ctx, client.ObjectKey{Name: a.Spec.Control}, &control); {
	case err == nil:
		attested = control.IsAttested()
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("reading control %s: %w", a.Spec.Control, err)
	}
	var approvers attestation.Approvers
	if attested {
		approvers = attestation.ApproversOf(control.Spec.Attestation)
	}
	if err := attestation.CheckWrite(old, a, requestUser(req), approvers, attested); err != nil {
		return apierrors.NewInvalid(ismsv1.GroupVersion.WithKind("Attestation").GroupKind(), a.Name,
			field.ErrorList{field.Forbidden(field.NewPath("spec"), err.Error())})
	}
	return nil
}

// requestUser is who the API server authenticated the request as.
func requestUser(req admission.Request) attestation.User {
	return attestation.User{Name: req.UserInfo.Username, Groups: req.UserInfo.Groups}
}

// storedObject decodes the object an update or delete request replaces (nil on create): the
// stamps compare it with the new one. what names the kind in the error.
func storedObject[T any](req admission.Request, what string) (*T, error) {
	if len(req.OldObject.Raw) == 0 {
		return nil, nil
	}
	old := new(T)
	if err := json.Unmarshal(req.OldObject.Raw, old); err != nil {
		return nil, fmt.Errorf("decoding the stored %s: %w", what, err)
	}
	return old, nil
}
