package evaluation

import (
	"strings"
	"testing"
	"time"

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

func TestComplianceOf(t *testing.T) {
	for result, want := range map[ismsv1.ControlResult]ismsv1.ComplianceState{
		ismsv1.ResultPass: ismsv1.Compliant, ismsv1.ResultNotApplicable: ismsv1.Compliant,
		ismsv1.ResultFail: ismsv1.NonCompliant, ismsv1.ResultError: ismsv1.NonCompliant,
		ismsv1.ResultPending: ismsv1.CompliancePending, "": ismsv1.CompliancePending,
	} {
		if got := ComplianceOf(result); got != want {
			t.Errorf("ComplianceOf(%q) = %s, want %s", result, got, want)
		}
	}
}

func TestRecordCompliance(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var h []ismsv1.ComplianceChange
	h = RecordCompliance(h, ismsv1.Compliant, ismsv1.ResultPass, "All 3 subjects pass.", now)
	h = RecordCompliance(h, ismsv1.Compliant, ismsv1.ResultNotApplicable, "still compliant", now.Add(time.Minute))
	if len(h) != 1 || h[0].Result != ismsv1.ResultPass {
		t.Fatalf("an unchanged state added an entry: %+v", h)
	}
	for i := range 15 {
		state := ismsv1.NonCompliant
		if i%2 == 1 {
			state = ismsv1.Compliant
		}
		h = RecordCompliance(h, state, ismsv1.ResultFail, strings.Repeat("x", 1000), now.Add(time.Duration(i+2)*time.Minute))
	}
	if len(h) != ismsv1.MaxComplianceHistory {
		t.Fatalf("history has %d entries, want %d", len(h), ismsv1.MaxComplianceHistory)
	}
	if !h[0].Time.After(h[1].Time.Time) || h[0].Compliant == h[1].Compliant {
		t.Fatalf("newest first, alternating: %+v", h[:2])
	}
	if len(h[0].Message) > 256 {
		t.Fatalf("message of %d bytes, want at most 256", len(h[0].Message))
	}
}
