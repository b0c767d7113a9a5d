package evaluation

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// Verdict is a Control's result with the reason and message its Compliant condition shows.
type Verdict struct {
	Result  ismsv1.ControlResult
	Reason  string
	Message string
}

// Judge turns a control's standing into its result. A definite failure outranks subjects that
// could not be evaluated: the control fails either way, and the failure is what needs fixing.
func Judge(sum Summary) Verdict {
	v := judgeResults(sum)
	if sum.Swept && sum.EventsDeferred {
		v.Message += " Changes are evaluated by the next sweep only: the control's evaluations spent its event budget."
	}
	return v
}

func judgeResults(sum Summary) Verdict {
	switch {
	case !sum.Swept:
		return Verdict{ismsv1.ResultPending, ismsv1.ReasonNotEvaluated, "The control has not been evaluated yet."}
	case sum.Failing > 0:
		msg := fmt.Sprintf("%d of %d subjects fail, in %d namespace(s).", sum.Failing, sum.Evaluated, len(sum.FailingNamespaces))
		if sum.Errored > 0 {
			msg += fmt.Sprintf(" %d could not be evaluated; first: %s", sum.Errored, sum.FirstError)
		}
		return Verdict{ismsv1.ResultFail, ismsv1.ReasonSubjectsFailing, msg}
	case sum.Errored > 0 && sum.SweepBudgetSpent:
		return Verdict{ismsv1.ResultError, ismsv1.ReasonSweepBudgetExceeded,
			fmt.Sprintf("The latest sweep spent the control's budget of %s of evaluation before it reached every subject: %d of %d subjects could not be evaluated and the next sweep tries them again; make the policy cheaper or narrow the targets. First: %s",
				sum.SweepBudget, sum.Errored, sum.Evaluated, sum.FirstError)}
	case sum.Errored > 0:
		return Verdict{ismsv1.ResultError, ismsv1.ReasonEvaluationError,
			fmt.Sprintf("%d of %d subjects could not be evaluated; first: %s", sum.Errored, sum.Evaluated, sum.FirstError)}
	case sum.Evaluated == 0:
		return Verdict{ismsv1.ResultNotApplicable, ismsv1.ReasonNoSubjects, "No object matches the control's targets."}
	default:
		return Verdict{ismsv1.ResultPass, ismsv1.ReasonAllSubjectsPass, fmt.Sprintf("All %d subjects pass.", sum.Evaluated)}
	}
}

// ComplianceOf is a result as compliance aggregators (Open Cluster Management) read it: a
// control that cannot be evaluated is not compliant, one with nothing to evaluate is.
func ComplianceOf(r ismsv1.ControlResult) ismsv1.ComplianceState {
	switch r {
	case ismsv1.ResultPass, ismsv1.ResultNotApplicable:
		return ismsv1.Compliant
	case ismsv1.ResultFail, ismsv1.ResultError:
		return ismsv1.NonCompliant
	}
	return ismsv1.CompliancePending
}

// maxHistoryMessage bounds a history entry's message (the CRD's maxLength).
const maxHistoryMessage = 256

// RecordCompliance returns history with a change to state prepended, newest first and at most
// MaxComplianceHistory long, or history as it is when its newest entry already says state.
func RecordCompliance(history []ismsv1.ComplianceChange, state ismsv1.ComplianceState, result ismsv1.ControlResult, message string, now time.Time) []ismsv1.ComplianceChange {
	if len(history) > 0 && history[0].Compliant == state {
		return history
	}
	change := ismsv1.ComplianceChange{Time: metav1.NewTime(now), Compliant: state, Result: result, Message: policy.Truncate(message, maxHistoryMessage)}
	out := append([]ismsv1.ComplianceChange{change}, history...)
	return out[:min(len(out), ismsv1.MaxComplianceHistory)]
}
