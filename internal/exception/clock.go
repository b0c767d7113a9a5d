package exception

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// MaxClockSkew is how far in the future approvedAt may lie when an exception is written:
// the approver's clock and the API server's may differ a little, not by days.
const MaxClockSkew = 5 * time.Minute

// ValidateWrite checks what CEL cannot, because it has no clock, when an exception is created
// or its spec changes: expiresAt must lie in the future (nobody writes an exception that has
// already expired, or backdates one), and approvedAt may not lie in the future beyond
// MaxClockSkew (an approval dated next month would pass the 365-day rule and be active from
// today, exempting subjects for longer than the rule allows).
func ValidateWrite(ex *ismsv1.ControlException, now time.Time) field.ErrorList {
	errs := ValidateApproval(ex, now)
	if !ex.Spec.ExpiresAt.After(now) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "expiresAt"), ex.Spec.ExpiresAt.UTC().Format(time.RFC3339),
			fmt.Sprintf("must be in the future (now %s)", now.UTC().Format(time.RFC3339))))
	}
	return errs
}

// ValidateApproval checks that approvedAt does not lie in the future beyond MaxClockSkew. It
// is also what kubectl isms eval checks of an exception read from files, where one that has
// expired since it was written is valid and exempts nothing.
func ValidateApproval(ex *ismsv1.ControlException, now time.Time) field.ErrorList {
	if !ex.Spec.ApprovedAt.After(now.Add(MaxClockSkew)) {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("spec", "approvedAt"), ex.Spec.ApprovedAt.UTC().Format(time.RFC3339),
		fmt.Sprintf("must not be in the future (now %s, allowing %s of clock skew)", now.UTC().Format(time.RFC3339), MaxClockSkew))}
}

// ValidateUpdate checks an update: one that changes the spec is a new approval and must meet
// ValidateWrite; one that leaves the spec alone (labels, annotations, finalizers, even of an
// expired exception) passes.
func ValidateUpdate(old, ex *ismsv1.ControlException, now time.Time) field.ErrorList {
	if equality.Semantic.DeepEqual(old.Spec, ex.Spec) {
		return nil
	}
	return ValidateWrite(ex, now)
}
