package report

import (
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

// The Finding state a leaf names when an owner acknowledged it (ismsv1.FindingAcknowledged).
const findingAcknowledged = "Acknowledged"

// The exception phases (ismsv1.ExceptionActive, ismsv1.ExceptionExpired).
const (
	exceptionActive  = "Active"
	exceptionExpired = "Expired"
)

func (e *engine) onFinding(en evidence.Entry) {
	fc := en.Leaf.Finding
	if _, ok := e.controls[en.Leaf.Control]; !ok {
		return
	}
	key := en.Leaf.Control + "/" + fc.Namespace + "/" + fc.Name
	f := e.findings[key]
	if f == nil {
		if !fc.Open || len(e.findings) >= MaxFindings {
			return
		}
		f = &findingTrack{key: key, control: en.Leaf.Control, namespace: fc.Namespace, name: fc.Name}
		e.findings[key] = f
	}
	t := en.Leaf.Time
	f.cites.add(en)
	switch {
	case fc.Open && !f.open:
		e.findingOpened(f, t)
	case fc.Open && fc.To == findingAcknowledged && f.ackAt.IsZero():
		f.ackAt = t
		if w := e.weekOf(t); w != nil {
			w.ack = append(w.ack, t.Sub(f.openedAt))
		}
	case !fc.Open && f.open:
		e.findingResolved(f, t)
	}
}

func (e *engine) findingOpened(f *findingTrack, t time.Time) {
	if !f.resolvedAt.IsZero() && e.inPeriod(t) {
		f.reopened++
	}
	f.open, f.openedAt, f.ackAt, f.resolvedAt, f.ttr = true, t, time.Time{}, time.Time{}, 0
	if f.firstSeen.IsZero() {
		f.firstSeen = t
	}
	if e.inPeriod(t) {
		f.inPeriod = true
	}
	if w := e.weekOf(t); w != nil {
		w.opened++
	}
}

func (e *engine) findingResolved(f *findingTrack, t time.Time) {
	f.open, f.resolvedAt, f.ttr = false, t, t.Sub(f.openedAt)
	if due, ok := e.dueAt(f); ok && t.After(due) && e.inPeriod(t) {
		f.late = true
	}
	if w := e.weekOf(t); w != nil {
		w.closed++
		w.remediate = append(w.remediate, f.ttr)
	}
}

// dueAt is when a Finding opened at openedAt is due, if its severity has a due period.
func (e *engine) dueAt(f *findingTrack) (time.Time, bool) {
	c := e.controls[f.control]
	d, ok := e.in.DuePeriods[c.ctl.Severity]
	if !ok || d <= 0 {
		return time.Time{}, false
	}
	return f.openedAt.Add(d), true
}

// onException follows an exception's phase for the controls in scope; an exception leaf is
// written once per control it names, so one of a Control outside the framework is skipped
// as its Findings are.
func (e *engine) onException(en evidence.Entry) {
	xc := en.Leaf.Exception
	if _, ok := e.controls[en.Leaf.Control]; !ok {
		return
	}
	key := xc.Namespace + "/" + xc.Name
	x := e.exceptions[key]
	if x == nil {
		if xc.To != exceptionActive || len(e.exceptions) >= MaxFindings {
			return
		}
		x = &exceptionTrack{namespace: xc.Namespace, name: xc.Name, controls: map[string]bool{}}
		e.exceptions[key] = x
	}
	t := en.Leaf.Time
	x.controls[en.Leaf.Control] = true
	x.cites.add(en)
	switch {
	case xc.To == exceptionActive && !x.active:
		x.active, x.activeFrom, x.expiredAt = true, t, time.Time{}
		x.inPeriod = x.inPeriod || e.inPeriod(t)
		if w := e.weekOf(t); w != nil {
			w.exOpened++
		}
	case xc.To == exceptionExpired && x.active:
		x.active, x.expiredAt = false, t
		if w := e.weekOf(t); w != nil {
			w.expired++
		}
	}
}
