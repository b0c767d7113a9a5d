package controllers

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// The API server checks a ControlException's shape and its 365-day bound (CEL); what CEL
// cannot check, because it has no clock, is that expiresAt lies in the future. This webhook
// does, when an exception is created and whenever its expiresAt changes, so that nobody writes
// an exception that has already expired or backdates one.
//
// +kubebuilder:webhook:path=/validate-isms-dev-v1alpha1-controlexception,mutating=false,failurePolicy=fail,sideEffects=None,groups=isms.dev,resources=controlexceptions,verbs=create;update,versions=v1alpha1,name=vcontrolexception.isms.dev,admissionReviewVersions=v1

// ExceptionValidator validates ControlExceptions against the clock.
type ExceptionValidator struct {
	Now func() time.Time
}

var _ admission.Validator[*ismsv1.ControlException] = &ExceptionValidator{}

// SetupExceptionWebhookWithManager registers the validating webhook of ControlExceptions.
func SetupExceptionWebhookWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &ismsv1.ControlException{}).
		WithValidator(&ExceptionValidator{Now: time.Now}).
		Complete()
}

// ValidateCreate requires expiresAt in the future.
func (v *ExceptionValidator) ValidateCreate(_ context.Context, ex *ismsv1.ControlException) (admission.Warnings, error) {
	return nil, v.inFuture(ex)
}

// ValidateUpdate requires expiresAt in the future when it changes; other edits of an exception
// (even an expired one) pass.
func (v *ExceptionValidator) ValidateUpdate(_ context.Context, old, ex *ismsv1.ControlException) (admission.Warnings, error) {
	if old.Spec.ExpiresAt.Equal(&ex.Spec.ExpiresAt) {
		return nil, nil
	}
	return nil, v.inFuture(ex)
}

// ValidateDelete allows every deletion.
func (v *ExceptionValidator) ValidateDelete(context.Context, *ismsv1.ControlException) (admission.Warnings, error) {
	return nil, nil
}

func (v *ExceptionValidator) inFuture(ex *ismsv1.ControlException) error {
	now := v.Now()
	if ex.Spec.ExpiresAt.After(now) {
		return nil
	}
	return apierrors.NewInvalid(ismsv1.GroupVersion.WithKind("ControlException").GroupKind(), ex.Name, field.ErrorList{
		field.Invalid(field.NewPath("spec", "expiresAt"), ex.Spec.ExpiresAt.UTC().Format(time.RFC3339),
			fmt.Sprintf("must be in the future (now %s)", now.UTC().Format(time.RFC3339))),
	})
}
