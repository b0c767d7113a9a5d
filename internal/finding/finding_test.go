package finding

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

var (
	t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
	t2 = t0.Add(2 * time.Hour)
)

func mt(t time.Time) *metav1.Time {
	m := metav1.NewTime(t)
	return &m
}

func deployment(ns, name string, msgs ...string) Subject {
	return Subject{APIVersion: "apps/v1", Kind: "Deployment", Name: name, UID: "uid-" + name, Messages: msgs}
}

func failingSubject(ns, name string, msgs ...string) ismsv1.FailingSubject {
	return ismsv1.FailingSubject{APIVersion: "apps/v1", Kind: "Deployment", Name: name, UID: "uid-" + name, Messages: msgs}
}

func manySubjects(n int) []Subject {
	out := make([]Subject, n)
	for i := range out {
		out[i] = deployment("ns", fmt.Sprintf("app-%03d", i), "privileged")
	}
	return out
}

func TestDecideStateTransitions(t *testing.T) {
	openStatus := ismsv1.FindingStatus{
		State:        ismsv1.FindingOpen,
		ReopenCount:  2,
		FirstSeen:    mt(t0),
		LastSeen:     mt(t0),
		SubjectCount: 1,
		Subjects:     []ismsv1.FailingSubject{failingSubject("ns", "old", "container \"a\" is privileged")},
		PolicyDigest: "sha256:old",
		Message:      "1 subject(s) fail; first: Deployment old: container \"a\" is privileged",
	}
	resolvedStatus := ismsv1.FindingStatus{
		State:        ismsv1.FindingResolved,
		ReopenCount:  2,
		FirstSeen:    mt(t0),
		LastSeen:     mt(t0),
		ResolvedAt:   mt(t1),
		PolicyDigest: "sha256:old",
		Message:      "Every subject that failed passes again or is gone.",
	}

	tests := map[string]struct {
		prev   ismsv1.FindingStatus
		ev     Evidence
		now    time.Time
		want   ismsv1.FindingStatus
		wantTr Transition
	}{
		"no finding and no failures stays empty": {
			ev:     Evidence{ObservedAt: t1, PolicyDigest: "sha256:new"},
			now:    t1,
			want:   ismsv1.FindingStatus{},
			wantTr: NoTransition,
		},
		"no finding and failures opens, times cut to seconds": {
			ev: Evidence{
				Failing:      []Subject{deployment("ns", "web", "container \"a\" is privileged"), deployment("ns", "worker")},
				ObservedAt:   t1.Add(750 * time.Millisecond),
				PolicyDigest: "sha256:new",
			},
			now: t2,
			want: ismsv1.FindingStatus{
				State:        ismsv1.FindingOpen,
				FirstSeen:    mt(t1),
				LastSeen:     mt(t1),
				SubjectCount: 2,
				Subjects: []ismsv1.FailingSubject{
					failingSubject("ns", "web", "container \"a\" is privileged"),
					failingSubject("ns", "worker"),
				},
				PolicyDigest: "sha256:new",
				Message:      "2 subject(s) fail; first: Deployment web: container \"a\" is privileged",
			},
			wantTr: Opened,
		},
		"open and no failures resolves": {
			prev: openStatus,
			ev:   Evidence{ObservedAt: t1, PolicyDigest: "sha256:new"},
			now:  t2.Add(400 * time.Millisecond),
			want: ismsv1.FindingStatus{
				State:        ismsv1.FindingResolved,
				ReopenCount:  2,
				FirstSeen:    mt(t0),
				LastSeen:     mt(t0),
				ResolvedAt:   mt(t2),
				PolicyDigest: "sha256:old",
				Message:      "Every subject that failed passes again or is gone.",
			},
			wantTr: Resolved,
		},
		"resolved and failures reopens": {
			prev: resolvedStatus,
			ev: Evidence{
				Failing:      []Subject{deployment("ns", "web", "m1", "m2")},
				ObservedAt:   t2,
				PolicyDigest: "sha256:new",
			},
			now: t2,
			want: ismsv1.FindingStatus{
				State:        ismsv1.FindingOpen,
				ReopenCount:  3,
				FirstSeen:    mt(t0),
				LastSeen:     mt(t2),
				SubjectCount: 1,
				Subjects:     []ismsv1.FailingSubject{failingSubject("ns", "web", "m1", "m2")},
				PolicyDigest: "sha256:new",
				Message:      "1 subject(s) fail; first: Deployment web: m1",
			},
			wantTr: Reopened,
		},
		"open and failures advances lastSeen and replaces subjects": {
			prev: openStatus,
			ev: Evidence{
				Failing:      []Subject{deployment("ns", "a", "m"), deployment("ns", "b", "n")},
				ObservedAt:   t1,
				PolicyDigest: "sha256:old",
			},
			now: t1,
			want: ismsv1.FindingStatus{
				State:        ismsv1.FindingOpen,
				ReopenCount:  2,
				FirstSeen:    mt(t0),
				LastSeen:     mt(t1),
				SubjectCount: 2,
				Subjects:     []ismsv1.FailingSubject{failingSubject("ns", "a", "m"), failingSubject("ns", "b", "n")},
				PolicyDigest: "sha256:old",
				Message:      "2 subject(s) fail; first: Deployment a: m",
			},
			wantTr: NoTransition,
		},
		"open and failures observed earlier keeps lastSeen": {
			prev: func() ismsv1.FindingStatus {
				s := *openStatus.DeepCopy()
				s.LastSeen = mt(t2)
				return s
			}(),
			ev: Evidence{
				Failing:      []Subject{deployment("ns", "old", "container \"a\" is privileged")},
				ObservedAt:   t1,
				PolicyDigest: "sha256:old",
			},
			now: t2,
			want: func() ismsv1.FindingStatus {
				s := *openStatus.DeepCopy()
				s.LastSeen = mt(t2)
				return s
			}(),
			wantTr: NoTransition,
		},
		"the same failure seen again within a minute does not move lastSeen": {
			prev: openStatus,
			ev: Evidence{
				Failing:      []Subject{deployment("ns", "old", "container \"a\" is privileged")},
				ObservedAt:   t0.Add(LastSeenResolution - time.Second),
				PolicyDigest: "sha256:old",
			},
			now:    t0.Add(LastSeenResolution),
			want:   openStatus,
			wantTr: NoTransition,
		},
		"the same failure seen again after a minute moves lastSeen": {
			prev: openStatus,
			ev: Evidence{
				Failing:      []Subject{deployment("ns", "old", "container \"a\" is privileged")},
				ObservedAt:   t0.Add(LastSeenResolution),
				PolicyDigest: "sha256:old",
			},
			now: t0.Add(LastSeenResolution),
			want: func() ismsv1.FindingStatus {
				s := *openStatus.DeepCopy()
				s.LastSeen = mt(t0.Add(LastSeenResolution))
				return s
			}(),
			wantTr: NoTransition,
		},
		"resolved and no failures stays unchanged": {
			prev:   resolvedStatus,
			ev:     Evidence{ObservedAt: t2, PolicyDigest: "sha256:new"},
			now:    t2,
			want:   resolvedStatus,
			wantTr: NoTransition,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, tr := next(tc.prev, tc.ev, tc.now)
			if tr != tc.wantTr {
				t.Errorf("transition = %q, want %q", tr, tc.wantTr)
			}
			// The workflow's fields are covered by TestDecide.
			if got := evidenceOnly(got); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("status =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

// evidenceOnly clears what the workflow adds to a status (due date, history, remediation).
func evidenceOnly(s ismsv1.FindingStatus) ismsv1.FindingStatus {
	s.Conditions, s.OpenedAt, s.DueAt, s.History = nil, nil, nil, nil
	s.Remediations, s.LastTimeToRemediate, s.ResolvedAcknowledgement = 0, nil, nil
	return s
}

func TestDecideBoundsWhatItStores(t *testing.T) {
	long := strings.Repeat("x", 1000)
	eight := []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"}
	tests := map[string]struct {
		failing      []Subject
		wantCount    int32
		wantSubjects int
		wantMessages []string // of the first subject
		wantLast     string   // name of the last subject kept
	}{
		"few small subjects are all kept": {
			failing:      manySubjects(5),
			wantCount:    5,
			wantSubjects: 5,
			wantMessages: []string{"privileged"},
			wantLast:     "app-004",
		},
		"a subject with 8 messages keeps the first 5": {
			failing:      []Subject{deployment("ns", "web", eight...)},
			wantCount:    1,
			wantSubjects: 1,
			wantMessages: []string{"m1", "m2", "m3", "m4", "m5"},
			wantLast:     "web",
		},
		"a 1000-byte message is cut to 256 bytes": {
			failing:      []Subject{deployment("ns", "web", long)},
			wantCount:    1,
			wantSubjects: 1,
			wantMessages: []string{strings.Repeat("x", ismsv1.MaxMessageLength-3) + "..."},
			wantLast:     "web",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, tr := next(ismsv1.FindingStatus{}, Evidence{Failing: tc.failing, ObservedAt: t0}, t0)
			if tr != Opened {
				t.Errorf("transition = %q, want Opened", tr)
			}
			if got.SubjectCount != tc.wantCount {
				t.Errorf("subjectCount = %d, want %d", got.SubjectCount, tc.wantCount)
			}
			if len(got.Subjects) != tc.wantSubjects {
				t.Fatalf("len(subjects) = %d, want %d", len(got.Subjects), tc.wantSubjects)
			}
			if last := got.Subjects[len(got.Subjects)-1].Name; last != tc.wantLast {
				t.Errorf("last subject kept = %q, want %q", last, tc.wantLast)
			}
			if !reflect.DeepEqual(got.Subjects[0].Messages, tc.wantMessages) {
				t.Errorf("messages = %q, want %q", got.Subjects[0].Messages, tc.wantMessages)
			}
			for _, s := range got.Subjects {
				for _, m := range s.Messages {
					if len(m) > ismsv1.MaxMessageLength {
						t.Errorf("message of %s is %d bytes, more than %d", s.Name, len(m), ismsv1.MaxMessageLength)
					}
				}
			}
			if len(got.Message) > 1024 {
				t.Errorf("summary message is %d bytes, more than 1024", len(got.Message))
			}
		})
	}
}

func TestDecideDoesNotMutatePrev(t *testing.T) {
	tests := map[string]struct {
		failing []Subject
	}{
		"reopened with new subjects": {failing: []Subject{deployment("ns", "new", "n1")}},
		"resolved":                   {},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			prev := ismsv1.FindingStatus{
				State:        ismsv1.FindingOpen,
				FirstSeen:    mt(t0),
				LastSeen:     mt(t0),
				SubjectCount: 2,
				Subjects: []ismsv1.FailingSubject{
					failingSubject("ns", "a", "m1", "m2"),
					failingSubject("ns", "b", "m3"),
				},
				PolicyDigest: "sha256:old",
				Message:      "2 subject(s) fail",
			}
			before := *prev.DeepCopy()
			next, _ := next(prev, Evidence{Failing: tc.failing, ObservedAt: t2, PolicyDigest: "sha256:new"}, t2)
			if !reflect.DeepEqual(prev, before) {
				t.Errorf("prev changed:\n%+v\nwas\n%+v", prev, before)
			}
			if next.LastSeen == prev.LastSeen || next.FirstSeen == prev.FirstSeen {
				t.Error("next shares time pointers with prev")
			}
			if len(next.Subjects) > 0 && len(prev.Subjects) > 0 && &next.Subjects[0] == &prev.Subjects[0] {
				t.Error("next shares its subjects array with prev")
			}
		})
	}
}

func TestDecideKeepsListedSubjectsWithinTheirBudget(t *testing.T) {
	for _, n := range []int{40, 120, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			failing := manySubjects(n)
			for i := range failing {
				failing[i].UID = fmt.Sprintf("3f1c2d8e-9b7a-4c1e-8f00-%012d", i) // real UIDs are 36 bytes
				failing[i].Messages = []string{fmt.Sprintf("container %q (image %q) runs privileged", "app", "registry.example.com/shop/app:1.2.3")}
			}
			got, _ := next(ismsv1.FindingStatus{}, Evidence{Failing: failing, ObservedAt: t0}, t0)
			if got.SubjectCount != int32(n) {
				t.Errorf("subjectCount = %d, want the exact %d", got.SubjectCount, n)
			}
			listed := jsonSize(t, got.Subjects)
			if listed > ismsv1.MaxFindingSubjectsBytes {
				t.Errorf("listed subjects take %d bytes, over the %d budget", listed, ismsv1.MaxFindingSubjectsBytes)
			}
			if k := len(got.Subjects); k < n && k < ismsv1.MaxFindingSubjects {
				f := failing[k]
				nextSubject := ismsv1.FailingSubject{APIVersion: f.APIVersion, Kind: f.Kind, Name: f.Name, UID: f.UID, Messages: f.Messages}
				if next := listed + 1 + jsonSize(t, nextSubject); next <= ismsv1.MaxFindingSubjectsBytes-64 {
					t.Errorf("stopped at %d subjects (%d bytes) although %d would take only %d", k, listed, k+1, next)
				}
			}
			for i, s := range got.Subjects {
				if s.Name != failing[i].Name {
					t.Fatalf("subject %d is %s, want %s: the list must be the first subjects in order", i, s.Name, failing[i].Name)
				}
			}
			status, _ := json.Marshal(got)
			if len(status) > 3500 {
				t.Errorf("the whole status is %d bytes; with metadata and spec a Finding must stay under 4 KiB", len(status))
			}
		})
	}
}

func jsonSize(t *testing.T, v any) int {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return len(data)
}

// next is Decide under the default Workflow, reduced to the state transition the table tests
// of the original state machine check.
func next(prev ismsv1.FindingStatus, ev Evidence, now time.Time) (ismsv1.FindingStatus, Transition) {
	d := Decide(prev, ev, DefaultWorkflow(), now)
	tr := NoTransition
	if len(d.Transitions) > 0 {
		switch d.Transitions[0] {
		case Opened, Reopened, Resolved:
			tr = d.Transitions[0]
		}
	}
	return d.Status, tr
}
