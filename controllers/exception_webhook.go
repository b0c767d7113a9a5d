package controllers

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/exception"
)

// The API server checks a ControlException's shape and its 365-day bound (CEL); what CEL
// cannot check, because it has no clock, this webhook does when an exception is created and
// whenever its spec changes: expiresAt in the future, approvedAt not (see
// exception.ValidateWrite). The rules are decided in internal/exception, which kubectl isms
// eval uses too.
//
// +kubebuilder:webhook:path=/validate-isms-dev-v1alpha1-controlexception,mutating=false,failurePolicy=fail,sideEffects=None,groups=isms.dev,resources=controlexceptions,verbs=create;update,versions=v1alpha1,name=vcontrolexception.isms.dev,admissionReviewVersions=v1

// ExceptionValidator validates ControlExceptions against the clock.
type ExceptionValidator struct {
	Now func() time.Time
}

var _ admission.Validator[*ismsv1.ControlException] = &ExceptionValidator{}

// SetupExceptionWebhookWithManager registers the validating webhook of ControlExceptions.
// Its refusals are counted in m.
func SetupExceptionWebhookWithManager(mgr ctrl.Manager, m *Metrics) error {
	return ctrl.NewWebhookManagedBy(mgr, &ismsv1.ControlException{}).
		WithValidator(countRejections[*ismsv1.ControlException](&ExceptionValidator{Now: time.Now}, "ControlException", m)).
		Complete()
}

// ValidateCreate applies exception.ValidateWrite.
func (v *ExceptionValidator) ValidateCreate(_ context.Context, ex *ismsv1.ControlException) (admission.Warnings, error) {
	return nil, invalid(ex, exception.ValidateWrite(ex, v.Now()))
}

// ValidateUpdate applies exception.ValidateUpdate: a spec change is a new approval; other
// edits of an exception (even an expired one) pass.
func (v *ExceptionValidator) ValidateUpdate(_ context.Context, old, ex *ismsv1.ControlException) (admission.Warnings, error) {
	return nil, invalid(ex, exception.ValidateUpdate(old, ex, v.Now()))
}

// ValidateDelete allows every deletion.
func (v *ExceptionValidator) ValidateDelete(context.Context, *ismsv1.ControlException) (admission.Warnings, error) {
	return nil, nil
}

func invalid(ex *ismsv1.ControlException, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(ismsv1.GroupVersion.WithKind("ControlException").GroupKind(), ex.Name, errs)
}
