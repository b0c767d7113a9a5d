package finding

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// FuzzDecide decides from arbitrary previous statuses (what anyone who may edit a Finding's
// status could leave there) and arbitrary evidence: it never panics, the state is one of the
// three, and what it stores stays within its bounds.
func FuzzDecide(f *testing.F) {
	f.Add(`{}`, 3, 2, "Deployment", "msg", int64(0), false)
	f.Add(`{"state":"Open","firstSeen":"2026-01-01T00:00:00Z","reopenCount":2}`, 0, 0, "", "", int64(3600), true)
	f.Add(`{"state":"Resolved","resolvedAt":"2026-01-01T00:00:00Z","history":[{"state":"Open"}]}`, 60, 1, "Pod", strings.Repeat("x", 300), int64(-5), false)
	f.Add(`{"state":"Acknowledged","dueAt":"2020-01-01T00:00:00Z","subjects":[{"name":"a"}]}`, 1, 70, "Namespace", "é", int64(1<<40), true)
	f.Fuzz(func(t *testing.T, prevJSON string, failing, excepted int, kind, message string, offset int64, acknowledged bool) {
		var prev ismsv1.FindingStatus
		if json.Unmarshal([]byte(prevJSON), &prev) != nil {
			return
		}
		switch prev.State {
		case ismsv1.FindingOpen, ismsv1.FindingAcknowledged, ismsv1.FindingResolved, "":
		default:
			return // the CRD's enum refuses it
		}
		failing, excepted = min(max(failing, 0), 500), min(max(excepted, 0), 500)
		ev := Evidence{Severity: ismsv1.SeverityHigh, PolicyDigest: "sha256:x",
			Failing: subjects(failing, kind, message), Excepted: subjects(excepted, kind, message)}
		now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(offset) * time.Second)
		ev.ObservedAt = now
		if acknowledged {
			ev.Acknowledgement = &ismsv1.FindingAcknowledgement{By: "owner", Note: message}
		}
		d := Decide(prev, ev, DefaultWorkflow(), now)
		st := d.Status
		switch st.State {
		case ismsv1.FindingOpen, ismsv1.FindingAcknowledged, ismsv1.FindingResolved, "":
		default:
			t.Fatalf("state %q", st.State)
		}
		if len(st.Subjects) > ismsv1.MaxFindingSubjects || len(st.History) > max(ismsv1.MaxFindingHistory, len(prev.History)) {
			t.Fatalf("%d subjects, %d history entries stored", len(st.Subjects), len(st.History))
		}
		for _, s := range st.Subjects {
			for _, m := range s.Messages {
				if len(m) > ismsv1.MaxMessageLength {
					t.Fatalf("a message of %d bytes stored", len(m))
				}
			}
		}
		if failing > 0 && !st.State.IsOpen() {
			t.Fatalf("%d failing subjects but state %q", failing, st.State)
		}
	})
}

func subjects(n int, kind, message string) []Subject {
	out := make([]Subject, n)
	for i := range out {
		out[i] = Subject{APIVersion: "v1", Kind: kind, Name: strings.Repeat("n", i%40) + string(rune('a'+i%26)), UID: string(rune('a' + i%26)), Messages: []string{message}}
	}
	return out
}
