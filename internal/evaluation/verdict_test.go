package evaluation

import (
	"strings"
	"testing"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func TestJudge(t *testing.T) {
	tests := map[string]struct {
		sum         Summary
		want        ismsv1.ControlResult
		wantMessage string
	}{
		"not swept yet is pending": {
			sum: Summary{Known: true, Evaluated: 3, Failing: 1}, want: ismsv1.ResultPending,
		},
		"nothing matched is not applicable": {
			sum: Summary{Swept: true}, want: ismsv1.ResultNotApplicable,
		},
		"all pass": {
			sum: Summary{Swept: true, Evaluated: 4}, want: ismsv1.ResultPass, wantMessage: "All 4 subjects pass.",
		},
		"failures fail": {
			sum:  Summary{Swept: true, Evaluated: 4, Failing: 2, FailingNamespaces: []string{"a", "b"}},
			want: ismsv1.ResultFail, wantMessage: "2 of 4 subjects fail, in 2 namespace(s).",
		},
		"failures outrank errors, which are still told": {
			sum:  Summary{Swept: true, Evaluated: 4, Failing: 1, Errored: 1, FirstError: "Deployment a/x: deadline", FailingNamespaces: []string{"a"}},
			want: ismsv1.ResultFail, wantMessage: "first: Deployment a/x: deadline",
		},
		"errors alone are an error": {
			sum:  Summary{Swept: true, Evaluated: 4, Errored: 1, FirstError: "Deployment a/x: deadline"},
			want: ismsv1.ResultError, wantMessage: "1 of 4 subjects could not be evaluated",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := Judge(tc.sum)
			if v.Result != tc.want {
				t.Errorf("result = %s, want %s", v.Result, tc.want)
			}
			if !strings.Contains(v.Message, tc.wantMessage) {
				t.Errorf("message %q does not contain %q", v.Message, tc.wantMessage)
			}
		})
	}
}
