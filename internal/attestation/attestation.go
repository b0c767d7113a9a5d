// Package attestation decides the standing of an attested control: one whose evidence is a
// person's statement on a schedule, approved by another person, instead of a policy evaluated
// against cluster objects (policies for information security, screening, physical security,
// tested backups: most of ISO 27001 Annex A outside the technological theme).
//
// It is a pure core: plain inputs, a clock passed in, no Kubernetes client. The operator's
// reconciler and admission webhook, and the CLI, all decide through it.
package attestation

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Schedule is what an attested control asks for: an approved attestation every Every, with
// Grace after that before the control fails.
type Schedule struct {
	Every time.Duration
	Grace time.Duration
	// RenewalShare is the share of Every after approval at which renewal is announced
	// (UpcomingRenewal); 0 means DefaultRenewalShare.
	RenewalShare float64
}

// DefaultRenewalShare announces renewal at 80% of the period.
const DefaultRenewalShare = 0.8

// Decision is what the approver did with an attestation.
type Decision string

const (
	// Undecided: submitted, awaiting an approver.
	Undecided Decision = ""
	Approved  Decision = "Approved"
	Rejected  Decision = "Rejected"
	// Withdrawn: the submitter took it back before a decision.
	Withdrawn Decision = "Withdrawn"
)

// Record is an attestation as the decisions need it.
type Record struct {
	Name        string
	SubmittedBy string
	SubmittedAt time.Time
	Decision    Decision
	DecidedBy   string
	DecidedAt   time.Time
}

// Standing is where an attested control stands at a moment.
type Standing string

const (
	// NeverAttested: no approved attestation yet; the control is Pending.
	NeverAttested Standing = "NeverAttested"
	// Current: an approved attestation is within its period.
	Current Standing = "Current"
	// RenewalDue: within its period, past the renewal share: renew now.
	RenewalDue Standing = "RenewalDue"
	// InGrace: the period is over, the grace is not; the control still passes.
	InGrace Standing = "InGrace"
	// Expired: period and grace are over; the control fails.
	Expired Standing = "Expired"
)

// State is an attested control's standing at now, and what makes it change.
type State struct {
	Standing Standing
	// Current is the latest approved attestation (nil when there is none). Older approved
	// ones are superseded by it.
	Current *Record
	// RenewAt, DueAt and FailsAt are, for Current, when renewal is announced, when its period
	// ends and when its grace ends.
	RenewAt, DueAt, FailsAt time.Time
	// Awaiting are the attestations submitted and not yet decided, oldest first.
	Awaiting []string
	// Next is when the standing changes next with time alone (zero: never).
	Next time.Time
}

// Evaluate returns the standing of a control with schedule s, given its attestations, at now.
func Evaluate(s Schedule, records []Record, now time.Time) State {
	st := State{Standing: NeverAttested, Awaiting: awaiting(records)}
	st.Current = latestApproved(records, now)
	if st.Current == nil {
		return st
	}
	from := st.Current.DecidedAt
	share := s.RenewalShare
	if share <= 0 || share >= 1 {
		share = DefaultRenewalShare
	}
	st.RenewAt = from.Add(time.Duration(float64(s.Every) * share))
	st.DueAt = from.Add(s.Every)
	st.FailsAt = st.DueAt.Add(s.Grace)
	switch {
	case now.Before(st.RenewAt):
		st.Standing, st.Next = Current, st.RenewAt
	case now.Before(st.DueAt):
		st.Standing, st.Next = RenewalDue, st.DueAt
	case now.Before(st.FailsAt):
		st.Standing, st.Next = InGrace, st.FailsAt
	default:
		st.Standing = Expired
	}
	return st
}

// Passes says whether a standing counts as the control passing.
func (s Standing) Passes() bool {
	return s == Current || s == RenewalDue || s == InGrace
}

// latestApproved is the approved attestation with the latest decision not after now (an
// approval stamped in the future, by a skewed clock, is not in force yet).
func latestApproved(records []Record, now time.Time) *Record {
	var latest *Record
	for i := range records {
		r := &records[i]
		if r.Decision != Approved || r.DecidedAt.After(now) {
			continue
		}
		if latest == nil || r.DecidedAt.After(latest.DecidedAt) ||
			(r.DecidedAt.Equal(latest.DecidedAt) && r.Name > latest.Name) {
			latest = r
		}
	}
	return latest
}

func awaiting(records []Record) []string {
	var out []Record
	for _, r := range records {
		if r.Decision == Undecided {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Record) int {
		if c := a.SubmittedAt.Compare(b.SubmittedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	names := make([]string, len(out))
	for i, r := range out {
		names[i] = r.Name
	}
	return names
}

// Approvers are who may decide a control's attestations: users by name, or members of groups,
// as the API server authenticates them.
type Approvers struct {
	Users  []string
	Groups []string
}

// User is the identity of an admission request, from the API server.
type User struct {
	Name   string
	Groups []string
}

// CheckDecider says why user may not decide an attestation submitted by submitter, or nil.
// Nobody decides their own attestation, whatever their groups.
func CheckDecider(a Approvers, submitter string, user User) error {
	if user.Name == "" {
		return fmt.Errorf("the request carries no user name")
	}
	if user.Name == submitter {
		return fmt.Errorf("%s submitted this attestation and may not decide it: another approver must", user.Name)
	}
	if slices.Contains(a.Users, user.Name) {
		return nil
	}
	for _, g := range user.Groups {
		if slices.Contains(a.Groups, g) {
			return nil
		}
	}
	return fmt.Errorf("%s is not among the control's approvers (spec.attestation.approvers)", user.Name)
}

// CheckChange says why an update from old to new is refused, or nil: a decided attestation
// is final (an approved one can only be superseded by a new attestation), and only the
// submitter withdraws.
func CheckChange(old, new Record, user User) error {
	if old.Decision != Undecided {
		if new.Decision != old.Decision || new.DecidedBy != old.DecidedBy || !new.DecidedAt.Equal(old.DecidedAt) {
			return fmt.Errorf("the attestation was %s by %s and is final: submit a new one to supersede it", lower(old.Decision), old.DecidedBy)
		}
		return nil
	}
	if new.Decision == Withdrawn && user.Name != old.SubmittedBy {
		return fmt.Errorf("only its submitter (%s) may withdraw an attestation", old.SubmittedBy)
	}
	return nil
}

func lower(d Decision) string {
	switch d {
	case Approved:
		return "approved"
	case Rejected:
		return "rejected"
	case Withdrawn:
		return "withdrawn"
	}
	return "undecided"
}
