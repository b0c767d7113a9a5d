package controllers

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/memstore"
)

// recorderFixture is a recorder whose writer is never started: what it queued is in the
// writer's stats, and a small queue makes it drop.
type recorderFixture struct {
	rec   *evidenceRecorder
	clock time.Time
}

func newRecorderFixture(t *testing.T, queue int) *recorderFixture {
	t.Helper()
	keys, err := evidence.LoadOrCreateKeys(t.TempDir(), "test")
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := evidence.Open(context.Background(), memstore.New(), keys, evidence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := &recorderFixture{clock: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.rec = newEvidenceRecorder(time.Hour, func() time.Time { return f.clock })
	f.rec.writer.Store(evidence.NewWriter(ledger, evidence.WriterOptions{QueueSize: queue}))
	return f
}

// queued is how many leaves were queued, besides the writer's start marker.
func (f *recorderFixture) queued() int { return int(f.rec.writer.Load().Stats().Enqueued) - 1 }

func failingState(subjects ...string) evidence.ControlState {
	s := evidence.ControlState{Control: "c", Result: evidence.ResultPass, Digest: "sha256:1", Generation: 1,
		Subjects: map[string]evidence.SubjectState{}}
	for _, k := range subjects {
		s.Subjects[k] = evidence.SubjectFailing
	}
	if len(subjects) > 0 {
		s.Result, s.Counts.Failing = evidence.ResultFail, len(subjects)
	}
	return s
}

func TestRecorderQueuesChangesHeartbeatsAndBaselines(t *testing.T) {
	f := newRecorderFixture(t, 100)
	synced := func([]schema.GroupKind) bool { return true }
	steps := []struct {
		name string
		do   func()
		want int // leaves queued by the step
	}{
		{"baseline: a control leaf and the failing subject from Unknown", func() { f.rec.record(failingState("a"), nil, false) }, 2},
		{"the same state again: nothing", func() { f.rec.record(failingState("a"), nil, false) }, 0},
		{"heartbeat not due yet", func() { f.clock = f.clock.Add(30 * time.Minute); f.rec.heartbeats(synced) }, 0},
		{"heartbeat due", func() { f.clock = f.clock.Add(31 * time.Minute); f.rec.heartbeats(synced) }, 1},
		{"watches not synced: no heartbeat", func() {
			f.clock = f.clock.Add(2 * time.Hour)
			f.rec.heartbeats(func([]schema.GroupKind) bool { return false })
		}, 0},
		{"a subject passes: its leaf and a control leaf for the result", func() { f.rec.record(failingState(), nil, false) }, 2},
		{"cannot be evaluated: one Error leaf, no subject leaves", func() {
			f.rec.record(evidence.ControlState{Control: "c", Result: evidence.ResultError, Message: "CompileError: x"}, nil, true)
		}, 1},
		{"evaluated again: a baseline, the failing subject from Unknown", func() { f.rec.record(failingState("b"), nil, false) }, 2},
		{"deleted: one NotEvaluated leaf", func() { f.rec.forget("c") }, 1},
		{"deleted again: nothing", func() { f.rec.forget("c") }, 0},
	}
	for _, s := range steps {
		before := f.queued()
		s.do()
		if got := f.queued() - before; got != s.want {
			t.Errorf("%s: %d leaves queued, want %d", s.name, got, s.want)
		}
	}
}

func TestRecorderKeepsTheOldStateWhenTheQueueIsFull(t *testing.T) {
	f := newRecorderFixture(t, 2) // the start marker takes one place
	if f.rec.record(failingState("a"), nil, false) {
		t.Fatal("two leaves fit in a queue with one free place")
	}
	if _, _, ok := f.rec.recordedDefinition("c"); ok {
		t.Fatal("a dropped baseline was kept as recorded")
	}
	f.rec.writer.Store(newRecorderFixture(t, 100).rec.writer.Load())
	if !f.rec.record(failingState("a"), nil, false) || f.queued() != 2 {
		t.Fatalf("the retry queued %d leaves, want the baseline's 2", f.queued())
	}
}
