package attestation

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func approved(name string, at time.Time) Record {
	return Record{Name: name, SubmittedBy: "alice", SubmittedAt: at.Add(-day), Decision: Approved, DecidedBy: "bob", DecidedAt: at}
}

func TestEvaluate(t *testing.T) {
	quarterly := Schedule{Every: 90 * day, Grace: 14 * day}
	cases := map[string]struct {
		records  []Record
		now      time.Time
		standing Standing
		current  string
		next     time.Time
		awaiting []string
	}{
		"nothing submitted": {now: t0, standing: NeverAttested},
		"submitted, not decided yet": {
			records:  []Record{{Name: "q1", SubmittedBy: "alice", SubmittedAt: t0}},
			now:      t0.Add(day),
			standing: NeverAttested, awaiting: []string{"q1"},
		},
		"rejected and withdrawn ones do not count": {
			records: []Record{
				{Name: "a", SubmittedAt: t0, Decision: Rejected, DecidedBy: "bob", DecidedAt: t0.Add(day)},
				{Name: "b", SubmittedAt: t0, Decision: Withdrawn, DecidedBy: "alice", DecidedAt: t0.Add(day)},
			},
			now: t0.Add(2 * day), standing: NeverAttested,
		},
		"current right after approval": {
			records: []Record{approved("q1", t0)}, now: t0,
			standing: Current, current: "q1", next: t0.Add(72 * day),
		},
		"renewal announced at 80% of the period": {
			records: []Record{approved("q1", t0)}, now: t0.Add(72 * day),
			standing: RenewalDue, current: "q1", next: t0.Add(90 * day),
		},
		"in grace after the period": {
			records: []Record{approved("q1", t0)}, now: t0.Add(90 * day),
			standing: InGrace, current: "q1", next: t0.Add(104 * day),
		},
		"expired after the grace": {
			records: []Record{approved("q1", t0)}, now: t0.Add(104 * day),
			standing: Expired, current: "q1",
		},
		"a newer approval supersedes": {
			records: []Record{approved("q1", t0), approved("q2", t0.Add(80*day))},
			now:     t0.Add(100 * day), standing: Current, current: "q2", next: t0.Add(152 * day),
		},
		"order of the records does not matter": {
			records: []Record{approved("q2", t0.Add(80*day)), approved("q1", t0)},
			now:     t0.Add(100 * day), standing: Current, current: "q2", next: t0.Add(152 * day),
		},
		"an approval stamped in the future is not in force yet": {
			records: []Record{approved("q1", t0), approved("skewed", t0.Add(30*day))},
			now:     t0.Add(10 * day), standing: Current, current: "q1", next: t0.Add(72 * day),
		},
		"awaiting are listed oldest first, next to the current one": {
			records: []Record{
				approved("q1", t0),
				{Name: "late", SubmittedAt: t0.Add(3 * day)},
				{Name: "early", SubmittedAt: t0.Add(2 * day)},
			},
			now: t0.Add(4 * day), standing: Current, current: "q1", next: t0.Add(72 * day),
			awaiting: []string{"early", "late"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st := Evaluate(quarterly, tc.records, tc.now)
			if st.Standing != tc.standing {
				t.Errorf("standing = %s, want %s", st.Standing, tc.standing)
			}
			current := ""
			if st.Current != nil {
				current = st.Current.Name
			}
			if current != tc.current {
				t.Errorf("current = %q, want %q", current, tc.current)
			}
			if !st.Next.Equal(tc.next) {
				t.Errorf("next = %s, want %s", st.Next, tc.next)
			}
			if !slices.Equal(st.Awaiting, tc.awaiting) {
				t.Errorf("awaiting = %v, want %v", st.Awaiting, tc.awaiting)
			}
		})
	}
}

func TestPasses(t *testing.T) {
	for s, want := range map[Standing]bool{NeverAttested: false, Current: true, RenewalDue: true, InGrace: true, Expired: false} {
		if s.Passes() != want {
			t.Errorf("%s.Passes() = %v", s, !want)
		}
	}
}

func TestCheckDecider(t *testing.T) {
	approvers := Approvers{Users: []string{"bob"}, Groups: []string{"isms-approvers"}}
	cases := map[string]struct {
		user    User
		refused string
	}{
		"a named approver":       {user: User{Name: "bob"}},
		"a member of the group":  {user: User{Name: "carol", Groups: []string{"dev", "isms-approvers"}}},
		"not an approver":        {user: User{Name: "dave", Groups: []string{"dev"}}, refused: "not among"},
		"the submitter herself":  {user: User{Name: "alice", Groups: []string{"isms-approvers"}}, refused: "may not decide"},
		"no user on the request": {user: User{}, refused: "no user"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := CheckDecider(approvers, "alice", tc.user)
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("err = %v, want one saying %q", err, tc.refused)
			}
		})
	}
	// The submitter is refused even when named as an approver.
	if err := CheckDecider(Approvers{Users: []string{"alice"}}, "alice", User{Name: "alice"}); err == nil {
		t.Fatal("self-approval by a named approver was allowed")
	}
}

func TestCheckChange(t *testing.T) {
	pending := Record{Name: "q1", SubmittedBy: "alice", SubmittedAt: t0}
	done := approved("q1", t0)
	cases := map[string]struct {
		old, new Record
		user     User
		refused  string
	}{
		"an undecided one may be decided":           {old: pending, new: done, user: User{Name: "bob"}},
		"the submitter withdraws":                   {old: pending, new: withDecision(pending, Withdrawn), user: User{Name: "alice"}},
		"nobody else withdraws":                     {old: pending, new: withDecision(pending, Withdrawn), user: User{Name: "bob"}, refused: "only its submitter"},
		"an approved one is final":                  {old: done, new: withDecision(done, Rejected), user: User{Name: "bob"}, refused: "final"},
		"its approver cannot be changed":            {old: done, new: Record{Name: "q1", Decision: Approved, DecidedBy: "mallory", DecidedAt: t0}, user: User{Name: "bob"}, refused: "final"},
		"an unrelated edit of a decided one passes": {old: done, new: done, user: User{Name: "bob"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := CheckChange(tc.old, tc.new, tc.user)
			switch {
			case tc.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), tc.refused)):
				t.Fatalf("err = %v, want one saying %q", err, tc.refused)
			}
		})
	}
}

func withDecision(r Record, d Decision) Record {
	r.Decision = d
	return r
}
