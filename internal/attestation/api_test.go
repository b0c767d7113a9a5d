package attestation

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func TestParseDuration(t *testing.T) {
	cases := map[ismsv1.AttestationDuration]struct {
		want time.Duration
		bad  bool
	}{
		"":      {want: 0},
		"90d":   {want: 90 * day},
		"0d":    {want: 0},
		"2160h": {want: 90 * day},
		"3s":    {want: 3 * time.Second},
		"1h30m": {want: 90 * time.Minute},
		"1.5d":  {bad: true},
		"d":     {bad: true},
		"12w":   {bad: true},
	}
	for in, tc := range cases {
		got, err := ParseDuration(in)
		switch {
		case tc.bad && err == nil:
			t.Errorf("ParseDuration(%q) = %s, want an error", in, got)
		case !tc.bad && (err != nil || got != tc.want):
			t.Errorf("ParseDuration(%q) = %s, %v, want %s", in, got, err, tc.want)
		}
	}
}

func TestScheduleOf(t *testing.T) {
	s, err := ScheduleOf(&ismsv1.ControlAttestationSchedule{Every: "90d", Grace: "14d", RenewalPercent: 50})
	if err != nil || s.Every != 90*day || s.Grace != 14*day || s.RenewalShare != 0.5 {
		t.Fatalf("ScheduleOf = %+v, %v", s, err)
	}
	// No renewalPercent: Evaluate's default share applies.
	s, _ = ScheduleOf(&ismsv1.ControlAttestationSchedule{Every: "10d"})
	if st := Evaluate(s, []Record{approved("q1", t0)}, t0); !st.RenewAt.Equal(t0.Add(8 * day)) {
		t.Fatalf("renewAt = %s, want 80%% of the period", st.RenewAt)
	}
	if _, err := ScheduleOf(&ismsv1.ControlAttestationSchedule{Every: "0d"}); err == nil {
		t.Fatal("a zero period was accepted")
	}
}

func TestRecordOf(t *testing.T) {
	at := metav1.NewTime(t0)
	a := &ismsv1.Attestation{ObjectMeta: metav1.ObjectMeta{Name: "q1", CreationTimestamp: metav1.NewTime(t0.Add(-day))},
		Spec: ismsv1.AttestationSpec{SubmittedBy: "alice", Decision: &ismsv1.AttestationDecision{Outcome: ismsv1.AttestationApproved, DecidedBy: "bob", DecidedAt: &at}}}
	if got, want := RecordOf(a), approved("q1", t0); got != want {
		t.Fatalf("RecordOf = %+v, want %+v", got, want)
	}
	a.Spec.Decision = nil
	if got := RecordOf(a); got.Decision != Undecided || got.SubmittedAt != t0.Add(-day) {
		t.Fatalf("undecided RecordOf = %+v", got)
	}
}
