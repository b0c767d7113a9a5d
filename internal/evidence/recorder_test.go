package evidence

import (
	"testing"
	"time"
)

func kindsOf(leaves []Leaf) []string {
	var out []string
	for _, l := range leaves {
		s := string(l.Kind)
		if l.Subject != nil {
			s += ":" + l.Subject.ID + ":" + string(l.Subject.From) + "->" + string(l.Subject.To)
		}
		out = append(out, s)
	}
	return out
}

type decideCase struct {
	prev *Recorded
	next ControlState
	now  time.Time
	want []string
}

func decideCases() map[string]decideCase {
	base := ControlState{Control: "c1", Result: ResultFail, Digest: "sha256:aa", Generation: 1,
		Counts: Counts{Failing: 1}, Subjects: map[string]SubjectState{"a": SubjectFailing}}
	with := func(f func(*ControlState)) ControlState {
		s := base
		s.Subjects = map[string]SubjectState{}
		for k, v := range base.Subjects {
			s.Subjects[k] = v
		}
		f(&s)
		return s
	}
	prev := &Recorded{State: base, At: t0}
	return map[string]decideCase{
		"baseline after a start":             {nil, base, t0, []string{"subject:a:Unknown->Failing", "control"}},
		"nothing changed, heartbeat not due": {prev, base, t0.Add(59 * time.Minute), nil},
		"nothing changed, heartbeat due":     {prev, base, t0.Add(time.Hour), []string{"heartbeat"}},
		"subject started failing": {prev, with(func(s *ControlState) { s.Subjects["b"] = SubjectFailing; s.Counts.Failing = 2 }),
			t0.Add(time.Minute), []string{"subject:b:Passing->Failing"}},
		"subject passed again, result changes": {prev, with(func(s *ControlState) {
			delete(s.Subjects, "a")
			s.Counts, s.Result = Counts{}, ResultPass
		}), t0.Add(time.Minute), []string{"subject:a:Failing->Passing", "control"}},
		"subject excepted": {prev, with(func(s *ControlState) { s.Subjects["a"] = SubjectExcepted; s.Counts = Counts{Excepted: 1} }),
			t0.Add(time.Minute), []string{"subject:a:Failing->Excepted"}},
		"new digest":             {prev, with(func(s *ControlState) { s.Digest = "sha256:bb" }), t0.Add(time.Minute), []string{"control"}},
		"new generation":         {prev, with(func(s *ControlState) { s.Generation = 2 }), t0.Add(time.Minute), []string{"control"}},
		"counts without subject": {prev, with(func(s *ControlState) { s.Counts.Failing = 7 }), t0.Add(time.Minute), []string{"control"}},
		"evaluation error": {prev, with(func(s *ControlState) { s.Result, s.Message = ResultError, "rego: boom" }),
			t0.Add(time.Minute), []string{"control"}},
	}
}

func TestDecide(t *testing.T) {
	for name, tc := range decideCases() {
		t.Run(name, func(t *testing.T) {
			leaves, rec := Decide(tc.prev, tc.next, tc.now, time.Hour)
			got := kindsOf(leaves)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
			for _, l := range leaves {
				if _, err := EncodeLeaf(l); err != nil {
					t.Fatalf("invalid leaf %+v: %v", l, err)
				}
			}
			wantAt := t0
			if tc.prev == nil {
				wantAt = time.Time{}
			}
			for _, l := range leaves {
				if l.State != nil {
					wantAt = tc.now
				}
			}
			if !rec.At.Equal(wantAt) {
				t.Fatalf("recorded at %v, want %v", rec.At, wantAt)
			}
		})
	}
}

// A full sweep that changes nothing writes one heartbeat per interval, not one per sweep.
func TestDecideSweepsWriteHeartbeatsOnlyWhenDue(t *testing.T) {
	state := ControlState{Control: "c1", Result: ResultPass, Digest: "sha256:aa"}
	leaves, rec := Decide(nil, state, t0, time.Hour)
	total := len(leaves)
	for now := t0.Add(10 * time.Minute); !now.After(t0.Add(24 * time.Hour)); now = now.Add(10 * time.Minute) {
		leaves, rec = Decide(&rec, state, now, time.Hour)
		total += len(leaves)
	}
	if total != 1+24 {
		t.Fatalf("a day of unchanged 10-minute sweeps wrote %d leaves, want 25 (a baseline and 24 heartbeats)", total)
	}
}
