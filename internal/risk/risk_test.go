package risk

import (
	"reflect"
	"strings"
	"testing"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func TestLevelBands(t *testing.T) {
	// Every score the 5×5 matrix can produce, with its band.
	want := map[int32]ismsv1.RiskLevel{
		1: ismsv1.RiskLow, 2: ismsv1.RiskLow, 3: ismsv1.RiskLow, 4: ismsv1.RiskLow,
		5: ismsv1.RiskMedium, 6: ismsv1.RiskMedium, 8: ismsv1.RiskMedium, 9: ismsv1.RiskMedium,
		10: ismsv1.RiskHigh, 12: ismsv1.RiskHigh, 15: ismsv1.RiskHigh, 16: ismsv1.RiskHigh,
		20: ismsv1.RiskCritical, 25: ismsv1.RiskCritical,
	}
	seen := map[int32]bool{}
	for l := int32(1); l <= 5; l++ {
		for i := int32(1); i <= 5; i++ {
			s := Rate(l, i).Score
			seen[s] = true
			level, ok := want[s]
			if !ok {
				t.Fatalf("Rate(%d, %d).Score = %d, not a score of the matrix", l, i, s)
			}
			if got := LevelOf(s); got != level {
				t.Errorf("LevelOf(%d) (%d×%d) = %s, want %s", s, l, i, got, level)
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("the matrix produced %d distinct scores, want %d", len(seen), len(want))
	}
}

func TestInherent(t *testing.T) {
	tests := map[string]struct {
		likelihood, impact int32
		want               Rating
	}{
		"lowest":               {1, 1, Rating{1, 1, 1, ismsv1.RiskLow}},
		"highest":              {5, 5, Rating{5, 5, 25, ismsv1.RiskCritical}},
		"top of low":           {2, 2, Rating{2, 2, 4, ismsv1.RiskLow}},
		"bottom of medium":     {1, 5, Rating{1, 5, 5, ismsv1.RiskMedium}},
		"top of medium":        {3, 3, Rating{3, 3, 9, ismsv1.RiskMedium}},
		"bottom of high":       {5, 2, Rating{5, 2, 10, ismsv1.RiskHigh}},
		"top of high":          {4, 4, Rating{4, 4, 16, ismsv1.RiskHigh}},
		"bottom of critical":   {4, 5, Rating{4, 5, 20, ismsv1.RiskCritical}},
		"out of range clamped": {0, 7, Rating{1, 5, 5, ismsv1.RiskMedium}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := Inherent(tc.likelihood, tc.impact); got != tc.want {
				t.Errorf("Inherent(%d, %d) = %+v, want %+v", tc.likelihood, tc.impact, got, tc.want)
			}
		})
	}
}

func standing(name string, result ismsv1.ControlResult, lr, ir int32) ControlStanding {
	return ControlStanding{Name: name, Found: true, Result: result, LikelihoodReduction: lr, ImpactReduction: ir}
}

func TestResidual(t *testing.T) {
	missing := ControlStanding{Name: "gone", LikelihoodReduction: 2, ImpactReduction: 2}
	tests := map[string]struct {
		likelihood, impact int32
		controls           []ControlStanding
		want               Rating
		effective, failing int
		pending            int
		missing            []string
	}{
		"no controls: residual is inherent": {
			likelihood: 4, impact: 5,
			want: Rating{4, 5, 20, ismsv1.RiskCritical},
		},
		"none failing: all reductions apply": {
			likelihood: 4, impact: 5,
			controls: []ControlStanding{standing("a", ismsv1.ResultPass, 2, 0), standing("b", ismsv1.ResultPass, 1, 3)},
			want:     Rating{1, 2, 2, ismsv1.RiskLow}, effective: 2,
		},
		"one failing: its reduction is lost": {
			likelihood: 4, impact: 5,
			controls: []ControlStanding{standing("a", ismsv1.ResultFail, 2, 0), standing("b", ismsv1.ResultPass, 1, 3)},
			want:     Rating{3, 2, 6, ismsv1.RiskMedium}, effective: 1, failing: 1,
		},
		"all failing: residual is inherent": {
			likelihood: 4, impact: 5,
			controls: []ControlStanding{standing("a", ismsv1.ResultFail, 2, 0), standing("b", ismsv1.ResultFail, 1, 3)},
			want:     Rating{4, 5, 20, ismsv1.RiskCritical}, failing: 2,
		},
		"an erroring control gives no reduction and counts as failing": {
			likelihood: 4, impact: 4,
			controls: []ControlStanding{standing("a", ismsv1.ResultError, 2, 2), standing("b", ismsv1.ResultPass, 1, 0)},
			want:     Rating{3, 4, 12, ismsv1.RiskHigh}, effective: 1, failing: 1,
		},
		"a missing control gives no reduction and is reported": {
			likelihood: 4, impact: 4,
			controls: []ControlStanding{missing, standing("b", ismsv1.ResultPass, 1, 0)},
			want:     Rating{3, 4, 12, ismsv1.RiskHigh}, effective: 1, missing: []string{"gone"},
		},
		"a pending control gives no reduction yet": {
			likelihood: 3, impact: 3,
			controls: []ControlStanding{standing("a", ismsv1.ResultPending, 2, 0), standing("b", "", 0, 1)},
			want:     Rating{3, 3, 9, ismsv1.RiskMedium}, pending: 2,
		},
		"a NotApplicable control is not evidence": {
			likelihood: 3, impact: 3,
			controls: []ControlStanding{standing("a", ismsv1.ResultNotApplicable, 2, 2)},
			want:     Rating{3, 3, 9, ismsv1.RiskMedium},
		},
		"reductions add up and floor at 1": {
			likelihood: 5, impact: 5,
			controls: []ControlStanding{standing("a", ismsv1.ResultPass, 4, 4), standing("b", ismsv1.ResultPass, 4, 4)},
			want:     Rating{1, 1, 1, ismsv1.RiskLow}, effective: 2,
		},
		"a control that reduces one dimension only": {
			likelihood: 5, impact: 4,
			controls: []ControlStanding{standing("a", ismsv1.ResultPass, 0, 2)},
			want:     Rating{5, 2, 10, ismsv1.RiskHigh}, effective: 1,
		},
		"negative reductions are ignored": {
			likelihood: 3, impact: 3,
			controls: []ControlStanding{standing("a", ismsv1.ResultPass, -2, -2)},
			want:     Rating{3, 3, 9, ismsv1.RiskMedium}, effective: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := Residual(tc.likelihood, tc.impact, tc.controls)
			if a.Residual != tc.want {
				t.Errorf("residual = %+v, want %+v", a.Residual, tc.want)
			}
			if a.Inherent != Inherent(tc.likelihood, tc.impact) {
				t.Errorf("inherent = %+v, want %+v", a.Inherent, Inherent(tc.likelihood, tc.impact))
			}
			if a.Effective != tc.effective || a.Failing != tc.failing || a.Pending != tc.pending {
				t.Errorf("effective/failing/pending = %d/%d/%d, want %d/%d/%d", a.Effective, a.Failing, a.Pending, tc.effective, tc.failing, tc.pending)
			}
			if !reflect.DeepEqual(a.Missing, tc.missing) {
				t.Errorf("missing = %v, want %v", a.Missing, tc.missing)
			}
			if len(a.Controls) != len(tc.controls) {
				t.Fatalf("%d control outcomes, want %d", len(a.Controls), len(tc.controls))
			}
			for i, c := range tc.controls {
				o := a.Controls[i]
				if o.Name != c.Name || o.Effective != c.Effective() || o.Missing != !c.Found || o.Result != c.Result {
					t.Errorf("outcome %d = %+v, does not match %+v", i, o, c)
				}
			}
		})
	}
}

func TestJudge(t *testing.T) {
	tests := map[string]struct {
		controls   []ControlStanding
		appetite   int32
		known      bool
		within     bool
		wantReason string
	}{
		"within": {
			controls: []ControlStanding{standing("a", ismsv1.ResultPass, 3, 2)}, // 5×4 less 3×2 = 2×2
			appetite: 4, known: true, within: true, wantReason: ismsv1.ReasonWithinAppetite,
		},
		"above by one": {
			controls: []ControlStanding{standing("a", ismsv1.ResultPass, 3, 2)},
			appetite: 3, known: true, wantReason: ismsv1.ReasonAboveAppetite,
		},
		"above because a control fails": {
			controls: []ControlStanding{standing("a", ismsv1.ResultFail, 3, 2)},
			appetite: 6, known: true, wantReason: ismsv1.ReasonAboveAppetite,
		},
		"above, and pending controls could bring it within: not judged yet": {
			controls: []ControlStanding{standing("a", ismsv1.ResultPending, 3, 2)},
			appetite: 6, wantReason: ismsv1.ReasonEvidencePending,
		},
		"above even if the pending controls pass": {
			controls: []ControlStanding{standing("a", ismsv1.ResultPending, 1, 0)},
			appetite: 6, known: true, wantReason: ismsv1.ReasonAboveAppetite,
		},
		"above because a control is missing": {
			controls: []ControlStanding{{Name: "a", LikelihoodReduction: 3, ImpactReduction: 2}},
			appetite: 6, known: true, wantReason: ismsv1.ReasonAboveAppetite,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := Judge(Residual(5, 4, tc.controls), tc.appetite)
			if v.Known != tc.known || v.Within != tc.within || v.Reason != tc.wantReason {
				t.Errorf("Judge = %+v, want known=%v within=%v reason=%s", v, tc.known, tc.within, tc.wantReason)
			}
			if v.Message == "" {
				t.Error("no message")
			}
		})
	}
}

func TestWithinAppetite(t *testing.T) {
	tests := map[string]struct {
		score, appetite int32
		want            bool
	}{
		"below":  {4, 6, true},
		"at":     {6, 6, true},
		"above":  {8, 6, false},
		"max":    {25, 25, true},
		"min":    {1, 1, true},
		"barely": {2, 1, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := WithinAppetite(tc.score, tc.appetite); got != tc.want {
				t.Errorf("WithinAppetite(%d, %d) = %v, want %v", tc.score, tc.appetite, got, tc.want)
			}
		})
	}
}

func TestReview(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	reviewed := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	interval := 90 * 24 * time.Hour
	at := func(t time.Time) *time.Time { return &t }
	tests := map[string]struct {
		lastReviewed time.Time
		until        *time.Time
		now          time.Time
		due          time.Time
		overdue      bool
		reason       string
	}{
		"never reviewed: due an interval after creation": {
			now: created.Add(time.Hour), due: created.Add(interval), reason: ismsv1.ReasonReviewCurrent,
		},
		"never reviewed and the interval has passed": {
			now: created.Add(interval + time.Second), due: created.Add(interval), overdue: true, reason: ismsv1.ReasonReviewOverdue,
		},
		"reviewed: due an interval after the review": {
			lastReviewed: reviewed, now: reviewed.Add(interval - time.Second), due: reviewed.Add(interval), reason: ismsv1.ReasonReviewCurrent,
		},
		"overdue exactly at the due time": {
			lastReviewed: reviewed, now: reviewed.Add(interval), due: reviewed.Add(interval), overdue: true, reason: ismsv1.ReasonReviewOverdue,
		},
		"an acceptance that ends sooner brings the review forward": {
			lastReviewed: reviewed, until: at(reviewed.Add(30 * 24 * time.Hour)), now: reviewed.Add(24 * time.Hour),
			due: reviewed.Add(30 * 24 * time.Hour), reason: ismsv1.ReasonReviewCurrent,
		},
		"an expired acceptance": {
			lastReviewed: reviewed, until: at(reviewed.Add(30 * 24 * time.Hour)), now: reviewed.Add(31 * 24 * time.Hour),
			due: reviewed.Add(30 * 24 * time.Hour), overdue: true, reason: ismsv1.ReasonAcceptanceExpired,
		},
		"an acceptance that outlasts the interval does not delay the review": {
			lastReviewed: reviewed, until: at(reviewed.Add(2 * interval)), now: reviewed.Add(interval + time.Hour),
			due: reviewed.Add(interval), overdue: true, reason: ismsv1.ReasonReviewOverdue,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Review(tc.lastReviewed, created, interval, tc.until, tc.now)
			if !got.Due.Equal(tc.due) || got.Overdue != tc.overdue || got.Reason != tc.reason {
				t.Errorf("Review = %+v, want due %s overdue %v reason %s", got, tc.due, tc.overdue, tc.reason)
			}
			if got.Message == "" {
				t.Error("no message")
			}
		})
	}
}

// TestResidualWithAssets: once a Risk selects assets, only the linked Controls that evaluate
// them (or that people attest) count; a Risk without asset selectors counts every Control.
func TestResidualWithAssets(t *testing.T) {
	onAssets := ControlStanding{Name: "netpol", Found: true, Result: ismsv1.ResultPass, LikelihoodReduction: 2}
	elsewhere := ControlStanding{Name: "other-ns", Found: true, Result: ismsv1.ResultPass, ImpactReduction: 2}
	failingElsewhere := ControlStanding{Name: "other-fails", Found: true, Result: ismsv1.ResultFail}
	attested := ControlStanding{Name: "access-review", Found: true, Result: ismsv1.ResultPass, Attested: true, ImpactReduction: 1}
	missing := ControlStanding{Name: "gone", LikelihoodReduction: 1}
	tests := map[string]struct {
		controls   []ControlStanding
		selects    bool
		evaluating map[string]bool
		wantScore  int32  // residual of 4×4
		wantCounts [4]int // effective, failing, off assets, missing
		wantOff    []string
	}{
		"no asset selectors: every control counts, as before": {
			controls: []ControlStanding{onAssets, elsewhere, failingElsewhere}, selects: false,
			wantScore: 2 * 2, wantCounts: [4]int{2, 1, 0, 0},
		},
		"assets: a control on other objects does not count": {
			controls: []ControlStanding{onAssets, elsewhere}, selects: true, evaluating: map[string]bool{"netpol": true},
			wantScore: 2 * 4, wantCounts: [4]int{1, 0, 1, 0}, wantOff: []string{"other-ns"},
		},
		"assets: a failing control on other objects is not failing the risk": {
			controls: []ControlStanding{onAssets, failingElsewhere}, selects: true, evaluating: map[string]bool{"netpol": true},
			wantScore: 2 * 4, wantCounts: [4]int{1, 0, 1, 0}, wantOff: []string{"other-fails"},
		},
		"assets that no control evaluates: the inherent risk stands": {
			controls: []ControlStanding{onAssets, elsewhere}, selects: true, evaluating: map[string]bool{},
			wantScore: 16, wantCounts: [4]int{0, 0, 2, 0}, wantOff: []string{"netpol", "other-ns"},
		},
		"assets: an attested control still counts": {
			controls: []ControlStanding{attested, elsewhere}, selects: true, evaluating: map[string]bool{},
			wantScore: 4 * 3, wantCounts: [4]int{1, 0, 1, 0}, wantOff: []string{"other-ns"},
		},
		"assets: a missing control stays missing": {
			controls: []ControlStanding{missing}, selects: true, evaluating: map[string]bool{},
			wantScore: 16, wantCounts: [4]int{0, 0, 0, 1},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := Residual(4, 4, ScopeToAssets(tc.controls, tc.selects, tc.evaluating))
			if a.Residual.Score != tc.wantScore {
				t.Errorf("residual score %d, want %d", a.Residual.Score, tc.wantScore)
			}
			if got := [4]int{a.Effective, a.Failing, a.OffAssets, len(a.Missing)}; got != tc.wantCounts {
				t.Errorf("effective, failing, off assets, missing = %v, want %v", got, tc.wantCounts)
			}
			var off []string
			for _, c := range a.Controls {
				if c.OffAssets {
					off = append(off, c.Name)
					if c.Effective {
						t.Errorf("%s is off the assets and reported effective", c.Name)
					}
				}
			}
			if !reflect.DeepEqual(off, tc.wantOff) {
				t.Errorf("off assets %v, want %v", off, tc.wantOff)
			}
		})
	}
}

func TestJudgeNamesControlsOffTheAssets(t *testing.T) {
	a := Residual(4, 4, ScopeToAssets([]ControlStanding{{Name: "x", Found: true, Result: ismsv1.ResultPass, LikelihoodReduction: 3}}, true, nil))
	v := Judge(a, 4)
	if v.Within || v.Reason != ismsv1.ReasonAboveAppetite || !strings.Contains(v.Message, "1 linked control(s) evaluate none of its assets") {
		t.Errorf("verdict %+v", v)
	}
}
