package exception

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func TestValidateWriteAndUpdate(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	ex := func(approved, expires time.Duration, controls ...string) *ismsv1.ControlException {
		return &ismsv1.ControlException{Spec: ismsv1.ControlExceptionSpec{
			Controls:   controls,
			ApprovedAt: metav1.NewTime(now.Add(approved)),
			ExpiresAt:  metav1.NewTime(now.Add(expires)),
		}}
	}
	day := 24 * time.Hour
	tests := map[string]struct {
		old, new *ismsv1.ControlException
		want     string // "" for valid
	}{
		"create, approved now":                        {new: ex(0, 30*day, "a")},
		"create, approved within the clock skew":      {new: ex(MaxClockSkew, 30*day, "a")},
		"create, approved next month":                 {new: ex(30*day, 300*day, "a"), want: "spec.approvedAt: Invalid value"},
		"create, already expired":                     {new: ex(-60*day, -day, "a"), want: "spec.expiresAt: Invalid value"},
		"update of labels only, expired":              {old: ex(-60*day, -day, "a"), new: ex(-60*day, -day, "a")},
		"update that widens an expired one":           {old: ex(-60*day, -day, "a"), new: ex(-60*day, -day, "a", "b"), want: "spec.expiresAt"},
		"update that moves approval into the future":  {old: ex(0, 30*day, "a"), new: ex(10*day, 30*day, "a"), want: "spec.approvedAt"},
		"update that extends an active one, approved": {old: ex(-day, 30*day, "a"), new: ex(0, 60*day, "a")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			errs := ValidateWrite(tc.new, now)
			if tc.old != nil {
				errs = ValidateUpdate(tc.old, tc.new, now)
			}
			err := errs.ToAggregate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("err = %v, want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}
