// Package risk is the scoring model of the risk register: a 5×5 matrix of likelihood and impact,
// the level bands of its scores, the residual risk left by the Controls that are effective now,
// the appetite verdict and when a review falls due. It is pure: no API server, no clock of its
// own (the caller passes now), so every rule is covered by table tests. docs/risk.md describes
// the model for its users.
package risk

import (
	"fmt"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// The scale of both likelihood and impact.
const (
	MinRating = 1
	MaxRating = 5
)

// LevelOf bands a score of the 5×5 matrix:
//
//	 1..4  Low       (e.g. 1×4, 2×2)
//	 5..9  Medium    (e.g. 1×5, 2×3, 3×3)
//	10..16 High      (e.g. 2×5, 3×4, 4×4)
//	20..25 Critical  (4×5, 5×5)
//
// The products of two ratings 1..5 are 1-6, 8-10, 12, 15, 16, 20 and 25; no score falls
// between 16 and 20. The bands are the common ISO/IEC 27005 style 5×5 banding: Critical is kept
// for a rating of 4 or 5 on both axes with at least one at 5, so that a risk is Critical only
// when it is both likely and severe.
func LevelOf(score int32) ismsv1.RiskLevel {
	switch {
	case score <= 4:
		return ismsv1.RiskLow
	case score <= 9:
		return ismsv1.RiskMedium
	case score <= 16:
		return ismsv1.RiskHigh
	default:
		return ismsv1.RiskCritical
	}
}

// Levels lists the levels from lowest to highest.
var Levels = []ismsv1.RiskLevel{ismsv1.RiskLow, ismsv1.RiskMedium, ismsv1.RiskHigh, ismsv1.RiskCritical}

// Rating is a point of the matrix with its score and level.
type Rating struct {
	Likelihood int32
	Impact     int32
	Score      int32
	Level      ismsv1.RiskLevel
}

// Rate scores a likelihood and an impact (each clamped to 1..5).
func Rate(likelihood, impact int32) Rating {
	l, i := clamp(likelihood), clamp(impact)
	s := l * i
	return Rating{Likelihood: l, Impact: i, Score: s, Level: LevelOf(s)}
}

// Inherent is the risk before treatment: the spec's likelihood and impact.
func Inherent(likelihood, impact int32) Rating {
	return Rate(likelihood, impact)
}

// ControlStanding is a Control linked to a risk as the caller found it in the cluster.
type ControlStanding struct {
	// Name of the Control object.
	Name string
	// Found is false when no Control of that name exists.
	Found bool
	// Result is the Control's status.result ("" before its first reconcile).
	Result ismsv1.ControlResult
	// LikelihoodReduction and ImpactReduction are what the control takes off when effective.
	LikelihoodReduction int32
	ImpactReduction     int32
	// Attested is true for a Control people attest (spec.attestation): it evaluates no
	// cluster object, so a Risk's assets do not take it out of scope.
	Attested bool
	// OffAssets is true when the Risk selects assets and the Control evaluates none of them
	// (ScopeToAssets): it does not count.
	OffAssets bool
}

// Effective says whether a control reduces the risk now. Only a passing control does: a
// failing or erroring one gives no reduction, nor does one that has not been evaluated
// (Pending) or that found nothing to evaluate (NotApplicable). NotApplicable is deliberately
// not credited: a control that evaluated nothing is no evidence that the risk is treated (its
// targets may simply miss the assets at risk), and crediting it would understate the risk.
func (c ControlStanding) Effective() bool {
	return c.Found && c.Result == ismsv1.ResultPass
}

// Failing is true for a control that exists and fails or errs.
func (c ControlStanding) Failing() bool {
	return c.Found && (c.Result == ismsv1.ResultFail || c.Result == ismsv1.ResultError)
}

// Pending is true for a control whose result is not known yet.
func (c ControlStanding) Pending() bool {
	return c.Found && (c.Result == "" || c.Result == ismsv1.ResultPending)
}

// Assessment is the residual risk with what it rests on.
type Assessment struct {
	Inherent Rating
	Residual Rating
	// Effective, Failing and Pending count the linked controls by standing; Missing names
	// those that do not exist; OffAssets counts those that evaluate none of the Risk's assets.
	// A NotApplicable control is in none of the counts.
	Effective int
	Failing   int
	Pending   int
	OffAssets int
	Missing   []string
	// Controls is each linked control's standing, in the order given.
	Controls []ControlOutcome
	// BestCase is what the residual would be if the pending controls all turned out
	// effective: the best the evidence still outstanding could make it.
	BestCase Rating
}

// ControlOutcome is one linked control in an assessment.
type ControlOutcome struct {
	Name      string
	Result    ismsv1.ControlResult
	Effective bool
	Missing   bool
	OffAssets bool
}

// Residual scores the risk left once the effective controls' reductions are taken off the
// inherent likelihood and impact. Reductions add up per dimension, and each dimension stays at
// least 1: a control cannot make a risk impossible or harmless, only rarer or smaller.
func Residual(likelihood, impact int32, controls []ControlStanding) Assessment {
	a := Assessment{Inherent: Inherent(likelihood, impact)}
	var lr, ir, pendingLR, pendingIR int32
	for _, c := range controls {
		out := ControlOutcome{Name: c.Name, Result: c.Result, Effective: c.Effective() && !c.OffAssets, Missing: !c.Found, OffAssets: c.OffAssets}
		a.Controls = append(a.Controls, out)
		switch {
		case !c.Found:
			a.Missing = append(a.Missing, c.Name)
		case c.OffAssets:
			a.OffAssets++
		case c.Effective():
			a.Effective++
			lr += max(0, c.LikelihoodReduction)
			ir += max(0, c.ImpactReduction)
		case c.Failing():
			a.Failing++
		case c.Pending():
			a.Pending++
			pendingLR += max(0, c.LikelihoodReduction)
			pendingIR += max(0, c.ImpactReduction)
		}
	}
	a.Residual = Rate(a.Inherent.Likelihood-lr, a.Inherent.Impact-ir)
	a.BestCase = Rate(a.Inherent.Likelihood-lr-pendingLR, a.Inherent.Impact-ir-pendingIR)
	return a
}

// ScopeToAssets marks the linked Controls that do not count for a Risk that selects assets:
// the evaluated Controls whose targets match none of them (evaluating names those that match
// at least one). A Risk that selects no assets (selects false) keeps every Control, as does
// an attested Control, which evaluates no object; a missing Control stays missing.
func ScopeToAssets(controls []ControlStanding, selects bool, evaluating map[string]bool) []ControlStanding {
	out := make([]ControlStanding, len(controls))
	for i, c := range controls {
		c.OffAssets = selects && c.Found && !c.Attested && !evaluating[c.Name]
		out[i] = c
	}
	return out
}

// WithinAppetite says whether a residual score is acceptable: at most the appetite.
func WithinAppetite(score, appetite int32) bool {
	return score <= appetite
}

// Verdict is the appetite verdict of an assessment, for the WithinAppetite condition.
type Verdict struct {
	// Known is false when the risk is above its appetite only for want of evidence: controls
	// that are still Pending could bring it within. It is then neither in nor out.
	Known   bool
	Within  bool
	Reason  string
	Message string
}

// Judge gives the appetite verdict. A risk above its appetite whose pending controls could
// still bring it within is not judged yet, so that a Risk applied together with its Controls
// does not report (and announce) a breach that is only the controls' first evaluation.
func Judge(a Assessment, appetite int32) Verdict {
	s := a.Residual
	switch {
	case WithinAppetite(s.Score, appetite):
		return Verdict{Known: true, Within: true, Reason: ismsv1.ReasonWithinAppetite,
			Message: fmt.Sprintf("Residual score %d (%s) is within the appetite of %d.", s.Score, s.Level, appetite)}
	case a.Pending > 0 && WithinAppetite(a.BestCase.Score, appetite):
		return Verdict{Reason: ismsv1.ReasonEvidencePending,
			Message: fmt.Sprintf("Residual score %d (%s) is above the appetite of %d until %d pending control(s) are evaluated.", s.Score, s.Level, appetite, a.Pending)}
	default:
		msg := fmt.Sprintf("Residual score %d (%s) is above the appetite of %d", s.Score, s.Level, appetite)
		if a.Failing > 0 || len(a.Missing) > 0 {
			msg += fmt.Sprintf(" (%d failing, %d missing control(s))", a.Failing, len(a.Missing))
		}
		if a.OffAssets > 0 {
			msg += fmt.Sprintf("; %d linked control(s) evaluate none of its assets and do not count", a.OffAssets)
		}
		return Verdict{Known: true, Reason: ismsv1.ReasonAboveAppetite, Message: msg + "."}
	}
}

// ReviewState is where a risk stands in its review cycle.
type ReviewState struct {
	// Due is when the next review is due.
	Due time.Time
	// Overdue is true once now has reached Due.
	Overdue bool
	Reason  string
	Message string
}

// Review works out when the next review is due: interval after the latest review, or after
// created if the risk was never reviewed (identifying and assessing a risk is its first
// review). An acceptance ends on its until date: if that comes sooner, the review is due then,
// and once it has passed the reason is AcceptanceExpired.
func Review(lastReviewed, created time.Time, interval time.Duration, acceptanceUntil *time.Time, now time.Time) ReviewState {
	base, what := lastReviewed, "Reviewed"
	if base.IsZero() {
		base, what = created, "Created"
	}
	due := base.Add(interval)
	if acceptanceUntil != nil && acceptanceUntil.Before(due) {
		due = *acceptanceUntil
		if !now.Before(due) {
			return ReviewState{Due: due, Overdue: true, Reason: ismsv1.ReasonAcceptanceExpired,
				Message: fmt.Sprintf("The acceptance expired on %s; renew it or change the treatment.", due.UTC().Format(time.RFC3339))}
		}
	}
	if !now.Before(due) {
		return ReviewState{Due: due, Overdue: true, Reason: ismsv1.ReasonReviewOverdue,
			Message: fmt.Sprintf("%s %s; the review was due on %s. Record the next one in spec.review.", what, base.UTC().Format(time.RFC3339), due.UTC().Format(time.RFC3339))}
	}
	return ReviewState{Due: due, Reason: ismsv1.ReasonReviewCurrent,
		Message: fmt.Sprintf("%s %s; the next review is due on %s.", what, base.UTC().Format(time.RFC3339), due.UTC().Format(time.RFC3339))}
}

func clamp(v int32) int32 {
	return min(MaxRating, max(MinRating, v))
}
