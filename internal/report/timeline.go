package report

import (
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

// segment says that a timeline has a result from its start until the next segment's start.
type segment struct {
	from   time.Time
	result evidence.Result
}

// timeline is a control's (or requirement's) result over time: segments by start, no two
// neighbours alike. Before its first segment it is NotEvaluated.
type timeline []segment

// set records that the result is r from t on; t never goes backwards.
func (tl *timeline) set(t time.Time, r evidence.Result) {
	n := len(*tl)
	if n > 0 && (*tl)[n-1].result == r {
		return
	}
	if n > 0 && !(*tl)[n-1].from.Before(t) {
		// Two results at one instant: the later one stands.
		*tl = (*tl)[:n-1]
		if n > 1 && (*tl)[n-2].result == r {
			return
		}
	}
	*tl = append(*tl, segment{from: t, result: r})
}

// at returns the result in force at t.
func (tl timeline) at(t time.Time) evidence.Result {
	r := evidence.ResultNotEvaluated
	for _, s := range tl {
		if s.from.After(t) {
			break
		}
		r = s.result
	}
	return r
}

// times splits [from, to) by result.
func (tl timeline) times(from, to time.Time) Times {
	var out Times
	cur, at := evidence.ResultNotEvaluated, from
	for _, s := range tl {
		if !s.from.After(from) {
			cur = s.result
			continue
		}
		if !s.from.Before(to) {
			break
		}
		out.add(cur, s.from.Sub(at))
		cur, at = s.result, s.from
	}
	out.add(cur, to.Sub(at))
	return out
}

func (t *Times) add(r evidence.Result, d time.Duration) {
	switch r {
	case evidence.ResultPass:
		t.Passing += Duration(d)
	case evidence.ResultFail:
		t.Failing += Duration(d)
	case evidence.ResultError:
		t.Error += Duration(d)
	default:
		t.NotEvaluated += Duration(d)
	}
}

// Evaluated is the time with a result: passing, failing or in error.
func (t Times) Evaluated() time.Duration { return (t.Passing + t.Failing + t.Error).D() }

// Total is the whole span.
func (t Times) Total() time.Duration { return t.Evaluated() + t.NotEvaluated.D() }

// requirementRank orders results for a requirement: the worst of its controls stands.
var requirementRank = map[evidence.Result]int{
	evidence.ResultPass: 0, evidence.ResultNotEvaluated: 1, evidence.ResultError: 2, evidence.ResultFail: 3,
}

// worst is a requirement's result from its controls': any failing control fails it, else
// any in error, else any not evaluated; it passes only when all pass.
func worst(rs []evidence.Result) evidence.Result {
	out := evidence.ResultPass
	for _, r := range rs {
		if requirementRank[r] > requirementRank[out] {
			out = r
		}
	}
	return out
}

// anyEvaluated is NotEvaluated only when every control is: the gaps of a scope.
func anyEvaluated(rs []evidence.Result) evidence.Result {
	for _, r := range rs {
		if r != evidence.ResultNotEvaluated {
			return evidence.ResultPass
		}
	}
	return evidence.ResultNotEvaluated
}

// combine merges timelines into one, with reduce deciding each instant from their results.
// No timelines at all reduce to NotEvaluated throughout.
func combine(tls []timeline, reduce func([]evidence.Result) evidence.Result) timeline {
	if len(tls) == 0 {
		return nil
	}
	next := make([]int, len(tls))
	cur := make([]evidence.Result, len(tls))
	for i := range cur {
		cur[i] = evidence.ResultNotEvaluated
	}
	var out timeline
	for {
		t, ok := earliest(tls, next)
		if !ok {
			return out
		}
		for i, tl := range tls {
			for next[i] < len(tl) && tl[next[i]].from.Equal(t) {
				cur[i] = tl[next[i]].result
				next[i]++
			}
		}
		out.set(t, reduce(cur))
	}
}

// earliest is the first start not yet consumed among the timelines.
func earliest(tls []timeline, next []int) (time.Time, bool) {
	var t time.Time
	found := false
	for i, tl := range tls {
		if next[i] < len(tl) && (!found || tl[next[i]].from.Before(t)) {
			t, found = tl[next[i]].from, true
		}
	}
	return t, found
}
