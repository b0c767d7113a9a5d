package controllers

import (
	"sync"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// countsPatchInterval is how often a Control's status may be written when only its counts
// (and the times and messages that go with them) change. A change of result, condition status
// or reason, generation or policy is written at once. Under churn at 50 controls, a status
// write per control per changed object doubled the API writes of every drift, and the counts
// of a busy control are as useful a few seconds late.
const countsPatchInterval = 5 * time.Second

// statusPacer remembers when each Control's status was last written.
type statusPacer struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// wait reports how long the write of control's status must wait: zero to write it now.
func (p *statusPacer) wait(name string, old, updated *ismsv1.ControlStatus, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	last, ok := p.last[name]
	if !ok || significantChange(old, updated) {
		return 0
	}
	if wait := countsPatchInterval - now.Sub(last); wait > 0 {
		return wait
	}
	return 0
}

// wrote records a status write.
func (p *statusPacer) wrote(name string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[string]time.Time{}
	}
	p.last[name] = now
}

func (p *statusPacer) forget(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.last, name)
}

// significantChange reports a change a user must see at once: anything but the counts, the
// times of evaluation and the condition messages.
func significantChange(old, updated *ismsv1.ControlStatus) bool {
	if old.Result != updated.Result || old.ObservedGeneration != updated.ObservedGeneration ||
		old.PolicyDigest != updated.PolicyDigest || len(old.Conditions) != len(updated.Conditions) {
		return true
	}
	if (old.FailingSubjects == 0) != (updated.FailingSubjects == 0) || (old.OpenFindings == 0) != (updated.OpenFindings == 0) {
		return true
	}
	for _, c := range updated.Conditions {
		prev := findCondition(old.Conditions, c.Type)
		if prev == nil || prev.Status != c.Status || prev.Reason != c.Reason {
			return true
		}
	}
	return false
}
