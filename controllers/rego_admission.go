package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evaluation"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// The webhooks answer within their timeoutSeconds (10) whatever they are sent: the CRDs bound
// the Rego to 64 KiB before the webhook sees it, Engine.Compile refuses the shapes that cost
// the compiler out of proportion (see internal/policy, complexity.go), and what is left runs
// under webhookCompileTimeout, on at most webhookCompileSlots goroutines at once.
const (
	webhookCompileTimeout = 5 * time.Second
	webhookCompileSlots   = 2
	// maxWarnings bounds the warnings of one answer, maxWarningLen each of them: the API
	// server cuts each warning to 256 characters once they add up to more than 4 KiB.
	maxWarnings   = 8
	maxWarningLen = 480
)

var (
	controlKind = ismsv1.GroupVersion.WithKind("Control").GroupKind()
	policyKind  = ismsv1.GroupVersion.WithKind("Policy").GroupKind()

	policyRegoField       = field.NewPath("spec", "policy", "rego")
	policyRegoSpecField   = field.NewPath("spec", "rego")
	parametersSchemaField = field.NewPath("spec", "parametersSchema")
)

// errUncheckable: checking the spec did not finish (too slow, or it panicked): the spec is
// refused, as the reconciler could not use it either.
var errUncheckable = errors.New("the policy could not be checked")

// errCompilerBusy: every compile slot stayed taken until the deadline.
var errCompilerBusy = errors.New("the operator is busy compiling other policies")

// boundedCompiler runs the webhooks' checks with a deadline, a few at a time. A check that
// outlives its deadline keeps its slot until it ends, so that abandoned compiles cannot pile
// up; it runs detached from the request, and its result lands in the engine's cache, so a
// retry of the same Rego is answered at once.
type boundedCompiler struct {
	timeout time.Duration
	slots   chan struct{}
}

func newBoundedCompiler(timeout time.Duration, slots int) *boundedCompiler {
	return &boundedCompiler{timeout: timeout, slots: make(chan struct{}, slots)}
}

// run runs check, and turns a panic in it into an error wrapping errUncheckable.
func (b *boundedCompiler) run(ctx context.Context, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return errCompilerBusy
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-b.slots }()
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("%w: checking it panicked: %v", errUncheckable, r)
			}
		}()
		done <- check(context.WithoutCancel(ctx))
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: it did not compile within %s (the reconciler would be as slow); simplify it", errUncheckable, b.timeout)
	}
}

// controlWarnings checks the Controls that reference p against it, as the reconciler will
// once p is stored, and warns about each that it will turn Error.
func (v *PolicyValidator) controlWarnings(ctx context.Context, p *ismsv1.Policy) admission.Warnings {
	var controls ismsv1.ControlList
	if err := v.Reader.List(ctx, &controls, client.MatchingFields{controlPolicyIndex: p.Name}); err != nil {
		return unchecked(fmt.Errorf("listing the Controls that reference the Policy: %w", err))
	}
	var warnings admission.Warnings
	broken := 0
	for i := range controls.Items {
		c := &controls.Items[i]
		var se *evaluation.SpecError
		if _, err := evaluation.Define(ctx, v.Engine, c, p); !errors.As(err, &se) {
			continue
		}
		if broken++; len(warnings) < maxWarnings-1 {
			warnings = append(warnings, warning("Control %s will be Error (%s): %s", c.Name, se.Field, se.Error()))
		}
	}
	if broken > len(warnings) {
		warnings = append(warnings, fmt.Sprintf("%d more Controls that reference this Policy will be Error: see their PolicyReady condition", broken-len(warnings)))
	}
	return warnings
}

// unchecked admits what could not be checked for reasons not its own (a busy operator, a
// cache read that failed), saying so: the reconciler reports the same checks as status.
func unchecked(err error) admission.Warnings {
	return admission.Warnings{warning("Not checked at admission (%v); the operator reports the result in status", err)}
}

func warning(format string, args ...any) string {
	return policy.Truncate(fmt.Sprintf(format, args...), maxWarningLen)
}
