package attestation

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// ParseDuration reads an AttestationDuration: whole days ("90d") or Go's units ("2160h",
// "3s"). The empty string is zero.
func ParseDuration(s ismsv1.AttestationDuration) (time.Duration, error) {
	str := string(s)
	if str == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(str, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100000 {
			return 0, fmt.Errorf("duration %q: want a whole number of days, like 90d", str)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(str)
	if err != nil {
		return 0, fmt.Errorf("duration %q: %w", str, err)
	}
	return d, nil
}

// ScheduleOf is the schedule a Control's spec.attestation asks for.
func ScheduleOf(spec *ismsv1.ControlAttestationSchedule) (Schedule, error) {
	every, err := ParseDuration(spec.Every)
	if err != nil {
		return Schedule{}, err
	}
	if every <= 0 {
		return Schedule{}, fmt.Errorf("every must be positive")
	}
	grace, err := ParseDuration(spec.Grace)
	if err != nil {
		return Schedule{}, err
	}
	return Schedule{Every: every, Grace: grace, RenewalShare: float64(spec.RenewalPercent) / 100}, nil
}

// ApproversOf are the approvers a Control's spec.attestation names.
func ApproversOf(spec *ismsv1.ControlAttestationSchedule) Approvers {
	return Approvers{Users: spec.Approvers.Users, Groups: spec.Approvers.Groups}
}

// RecordOf is an Attestation as the decisions need it; it was submitted when it was created.
func RecordOf(a *ismsv1.Attestation) Record {
	r := Record{Name: a.Name, SubmittedBy: a.Spec.SubmittedBy, SubmittedAt: a.CreationTimestamp.Time}
	if d := a.Spec.Decision; d != nil {
		r.Decision, r.DecidedBy = Decision(d.Outcome), d.DecidedBy
		if d.DecidedAt != nil {
			r.DecidedAt = d.DecidedAt.Time
		}
	}
	return r
}

// RecordsOf are the records of attestations.
func RecordsOf(items []ismsv1.Attestation) []Record {
	out := make([]Record, len(items))
	for i := range items {
		out[i] = RecordOf(&items[i])
	}
	return out
}
