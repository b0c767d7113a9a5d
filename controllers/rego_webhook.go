package controllers

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/frameworks"
	"github.com/isms-operator/isms-operator/internal/params"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// Rego checked at apply: these webhooks make the decision the Control reconciler makes
// (evaluation.Define, with the reconciler's own engine) and the Policy reconciler makes
// (Engine.Compile, params.CheckSchema) when a Control or Policy is created or its spec
// changes, so that a policy that would turn Error is refused by kubectl apply or the Argo CD
// sync instead. What depends on another object is warned about, not refused, because GitOps
// applies objects in any order: a Control whose Policy does not exist yet (or does not
// compile, or reads kinds the Control does not list), and a Policy whose new schema or Rego
// no longer suits the Controls that reference it. The reconcilers report all of it as
// status, as before. failurePolicy is Ignore: see docs/security.md, "Admission".
//
// +kubebuilder:webhook:path=/validate-isms-dev-v1alpha1-control,mutating=false,failurePolicy=ignore,sideEffects=None,groups=isms.dev,resources=controls,verbs=create;update,versions=v1alpha1,name=vcontrol.isms.dev,admissionReviewVersions=v1,timeoutSeconds=10
// +kubebuilder:webhook:path=/validate-isms-dev-v1alpha1-policy,mutating=false,failurePolicy=ignore,sideEffects=None,groups=isms.dev,resources=policies,verbs=create;update,versions=v1alpha1,name=vpolicy.isms.dev,admissionReviewVersions=v1,timeoutSeconds=10

// ControlValidator refuses Controls whose policy the reconciler could not evaluate.
type ControlValidator struct {
	// Reader is the manager's cached client: it reads the referenced Policy.
	Reader   client.Reader
	Engine   *policy.Engine
	compiler *boundedCompiler
}

// PolicyValidator refuses Policies that do not compile or whose schema is unusable, and
// warns about the Controls they no longer suit.
type PolicyValidator struct {
	// Reader is the manager's cached client: it lists the Controls that reference the Policy.
	Reader   client.Reader
	Engine   *policy.Engine
	compiler *boundedCompiler
}

var (
	_ admission.Validator[*ismsv1.Control] = &ControlValidator{}
	_ admission.Validator[*ismsv1.Policy]  = &PolicyValidator{}
)

// SetupRegoWebhooksWithManager registers the validating webhooks of Controls and Policies,
// compiling with engine (the Control reconciler's, so that what is admitted is compiled
// already when it is reconciled). Their refusals are counted in m.
func SetupRegoWebhooksWithManager(mgr ctrl.Manager, engine *policy.Engine, m *Metrics) error {
	compiler := newBoundedCompiler(webhookCompileTimeout, webhookCompileSlots)
	controls := &ControlValidator{Reader: mgr.GetClient(), Engine: engine, compiler: compiler}
	if err := ctrl.NewWebhookManagedBy(mgr, &ismsv1.Control{}).
		WithValidator(countRejections[*ismsv1.Control](controls, "Control", m)).
		Complete(); err != nil {
		return err
	}
	policies := &PolicyValidator{Reader: mgr.GetClient(), Engine: engine, compiler: compiler}
	return ctrl.NewWebhookManagedBy(mgr, &ismsv1.Policy{}).
		WithValidator(countRejections[*ismsv1.Policy](policies, "Policy", m)).
		Complete()
}

// ValidateCreate checks the Control's policy as the reconciler will, and warns about framework
// requirement ids the catalogs do not know (a typo would drop the Control from coverage).
func (v *ControlValidator) ValidateCreate(ctx context.Context, c *ismsv1.Control) (admission.Warnings, error) {
	return withFrameworkWarnings(c, v.validate)(ctx)
}

// ValidateUpdate checks a changed spec; an edit of metadata alone (labels, finalizers) passes,
// so that a Control that landed broken can still be labelled or deleted.
func (v *ControlValidator) ValidateUpdate(ctx context.Context, old, c *ismsv1.Control) (admission.Warnings, error) {
	if equality.Semantic.DeepEqual(old.Spec, c.Spec) {
		return nil, nil
	}
	return withFrameworkWarnings(c, v.validate)(ctx)
}

// withFrameworkWarnings adds frameworks.AdmissionWarnings (bounded) to what validate answers.
func withFrameworkWarnings(c *ismsv1.Control, validate func(context.Context, *ismsv1.Control) (admission.Warnings, error)) func(context.Context) (admission.Warnings, error) {
	return func(ctx context.Context) (admission.Warnings, error) {
		warnings, err := validate(ctx, c)
		return append(warnings, frameworks.AdmissionWarnings(c.Spec.Frameworks)...), err
	}
}

// ValidateDelete allows every deletion.
func (v *ControlValidator) ValidateDelete(context.Context, *ismsv1.Control) (admission.Warnings, error) {
	return nil, nil
}

func (v *ControlValidator) validate(ctx context.Context, c *ismsv1.Control) (admission.Warnings, error) {
	if c.IsAttested() {
		return nil, nil // no Rego: the CRD's rules check the schedule
	}
	referenced, err := referencedPolicy(ctx, v.Reader, c)
	if err != nil {
		// The reconciler reads the same cache and will say what it finds.
		return admission.Warnings{warning("spec.policy.ref: the Policy could not be read to check this Control: %v", err)}, nil
	}
	err = v.compiler.run(ctx, func(ctx context.Context) error {
		_, err := evaluation.Define(ctx, v.Engine, c, referenced)
		return err
	})
	var se *evaluation.SpecError
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &se) && se.OfPolicy:
		return admission.Warnings{warning("%s: %s", se.Field, se.Error())}, nil
	case errors.As(err, &se):
		return nil, apierrors.NewInvalid(controlKind, c.Name, field.ErrorList{field.Invalid(se.Field, field.OmitValueType{}, se.Error())})
	case c.Spec.Policy.Ref == nil && errors.Is(err, errUncheckable):
		return nil, apierrors.NewInvalid(controlKind, c.Name, field.ErrorList{field.Invalid(policyRegoField, field.OmitValueType{}, err.Error())})
	}
	return unchecked(err), nil
}

// ValidateCreate checks the Policy as the Policy reconciler will, and warns about the
// Controls that already reference it.
func (v *PolicyValidator) ValidateCreate(ctx context.Context, p *ismsv1.Policy) (admission.Warnings, error) {
	return v.validate(ctx, p)
}

// ValidateUpdate checks a changed spec; an edit of metadata alone passes.
func (v *PolicyValidator) ValidateUpdate(ctx context.Context, old, p *ismsv1.Policy) (admission.Warnings, error) {
	if equality.Semantic.DeepEqual(old.Spec, p.Spec) {
		return nil, nil
	}
	return v.validate(ctx, p)
}

// ValidateDelete allows every deletion: the Controls that reference the Policy wait for it.
func (v *PolicyValidator) ValidateDelete(context.Context, *ismsv1.Policy) (admission.Warnings, error) {
	return nil, nil
}

func (v *PolicyValidator) validate(ctx context.Context, p *ismsv1.Policy) (admission.Warnings, error) {
	var errs field.ErrorList
	err := v.compiler.run(ctx, func(ctx context.Context) error {
		_, err := v.Engine.Compile(ctx, p.Spec.Rego)
		return err
	})
	var ce *policy.CompileError
	switch {
	case errors.As(err, &ce):
		errs = append(errs, field.Invalid(policyRegoSpecField, field.OmitValueType{}, ce.Message))
	case errors.Is(err, errUncheckable):
		errs = append(errs, field.Invalid(policyRegoSpecField, field.OmitValueType{}, err.Error()))
	case err != nil:
		return unchecked(err), nil
	}
	if err := params.CheckSchema(params.SchemaJSON(p)); err != nil {
		errs = append(errs, field.Invalid(parametersSchemaField, field.OmitValueType{}, err.Error()))
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(policyKind, p.Name, errs)
	}
	return v.controlWarnings(ctx, p), nil
}
