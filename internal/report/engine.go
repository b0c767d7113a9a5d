package report

import (
	"hash/fnv"
	"strings"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

// Bounds on what the report lists, so that its size does not grow with the cluster.
const (
	// MaxCitations is how many ledger entries one claim cites.
	MaxCitations = 16
	// MaxFindingSubjects is how many subjects a Finding lists (SubjectCount is exact).
	MaxFindingSubjects = 20
	// MaxFindings is how many Findings the report holds; more are counted in the KPIs only.
	MaxFindings = 5000
)

// engine folds the ledger's entries, in index order, into what the report needs: per control
// a timeline of results, per Finding and exception its life. It keeps no per-subject state
// beyond the subjects it lists and a hash per failing subject for the distinct count.
type engine struct {
	in         Input
	period     Period
	controls   map[string]*controlTrack
	findings   map[string]*findingTrack
	exceptions map[string]*exceptionTrack
	markers    []marker
	weeks      []weekTrack
	week       int // the week of the latest entry
	crossed    bool
	entries    uint64
	lastIndex  uint64
	started    bool
}

type controlTrack struct {
	ctl         Control
	tl          timeline
	covered     bool
	coverEnd    time.Time
	result      evidence.Result
	heartbeat   int64
	digests     []string
	transitions int
	cites       citations
	subjects    map[string]*subjectBucket // by namespace
}

// subjectBucket is the failing subjects of one control in one namespace.
type subjectBucket struct {
	seen   map[uint64]struct{}
	listed []string
}

type findingTrack struct {
	key, control, namespace, name string
	firstSeen, openedAt, ackAt    time.Time
	resolvedAt                    time.Time
	ttr                           time.Duration
	open, inPeriod, late          bool
	reopened                      int
	cites                         citations
}

type exceptionTrack struct {
	namespace, name string
	controls        map[string]bool
	activeFrom      time.Time
	expiredAt       time.Time
	active          bool
	inPeriod        bool
	cites           citations
}

// marker is an operator start or stop.
type marker struct {
	at      time.Time
	started bool
	cite    Citation
}

type weekTrack struct {
	from, to          time.Time
	opened, closed    int
	ack, remediate    []time.Duration
	overdue           int
	exOpened, expired int
}

// citations keeps the first MaxCitations-1 citations and the latest one.
type citations struct {
	list []Citation
	n    int
}

func (c *citations) add(e evidence.Entry) {
	cite := Citation{Index: e.Index, LeafHash: e.LeafHash}
	c.n++
	if len(c.list) < MaxCitations {
		c.list = append(c.list, cite)
		return
	}
	c.list[MaxCitations-1] = cite
}

func newEngine(in Input) *engine {
	e := &engine{in: in, period: in.Period, controls: map[string]*controlTrack{},
		findings: map[string]*findingTrack{}, exceptions: map[string]*exceptionTrack{}}
	for _, c := range in.Controls {
		e.controls[c.Name] = &controlTrack{ctl: c, result: evidence.ResultNotEvaluated, subjects: map[string]*subjectBucket{}}
	}
	for from := in.Period.From; from.Before(in.Period.To); from = from.AddDate(0, 0, 7) {
		e.weeks = append(e.weeks, weekTrack{from: from, to: minTime(from.AddDate(0, 0, 7), in.Period.To)})
	}
	return e
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// inPeriod reports whether t is in [From, To).
func (e *engine) inPeriod(t time.Time) bool {
	return !t.Before(e.period.From) && t.Before(e.period.To)
}

// feed folds one entry; entries at or after the period's end are ignored.
func (e *engine) feed(en evidence.Entry) {
	t := en.Leaf.Time
	if !t.Before(e.period.To) {
		return
	}
	if !t.Before(e.period.From) {
		e.cross()
		e.rollWeeks(t)
		e.entries++
	}
	e.lastIndex, e.started = en.Index, true
	switch en.Leaf.Kind {
	case evidence.KindControl, evidence.KindHeartbeat:
		e.onState(en)
	case evidence.KindOperatorStarted, evidence.KindOperatorStopped:
		e.onMarker(en)
	case evidence.KindSubject:
		e.onSubject(en)
	case evidence.KindFinding:
		e.onFinding(en)
	case evidence.KindException:
		e.onException(en)
	}
}

// cross drops, once, what ended before the period: only what was open or active when it
// began, or happens in it, is reported.
func (e *engine) cross() {
	if e.crossed {
		return
	}
	e.crossed = true
	for k, f := range e.findings {
		if !f.open {
			delete(e.findings, k)
			continue
		}
		f.inPeriod = true
	}
	for k, x := range e.exceptions {
		if !x.active {
			delete(e.exceptions, k)
			continue
		}
		x.inPeriod = true
	}
	for _, c := range e.controls {
		c.transitions = 0
	}
}

// rollWeeks closes the weeks that ended at or before t, counting their overdue Findings.
func (e *engine) rollWeeks(t time.Time) {
	for e.week < len(e.weeks) && !t.Before(e.weeks[e.week].to) {
		e.weeks[e.week].overdue = e.overdueAt(e.weeks[e.week].to)
		e.week++
	}
}

func (e *engine) overdueAt(t time.Time) int {
	n := 0
	for _, f := range e.findings {
		if due, ok := e.dueAt(f); f.open && ok && t.After(due) {
			n++
		}
	}
	return n
}

// weekOf returns the week of an instant in the period.
func (e *engine) weekOf(t time.Time) *weekTrack {
	if !e.inPeriod(t) || len(e.weeks) == 0 {
		return nil
	}
	i := min(int(t.Sub(e.period.From)/(7*24*time.Hour)), len(e.weeks)-1)
	return &e.weeks[i]
}

// advance ends a control's coverage when t is past it: a state is carried at most two
// heartbeat intervals past its leaf.
func (c *controlTrack) advance(t time.Time) {
	if c.covered && t.After(c.coverEnd) {
		c.tl.set(c.coverEnd, evidence.ResultNotEvaluated)
		c.covered, c.result = false, evidence.ResultNotEvaluated
	}
}

func (e *engine) onState(en evidence.Entry) {
	c, ok := e.controls[en.Leaf.Control]
	if !ok {
		return
	}
	t, s := en.Leaf.Time, en.Leaf.State
	c.advance(t)
	if s.Result != c.result || en.Leaf.Kind == evidence.KindControl || c.cites.n == 0 {
		c.cites.add(en)
	}
	if s.Result != c.result && e.inPeriod(t) {
		c.transitions++
	}
	c.result, c.heartbeat = s.Result, s.HeartbeatSeconds
	c.covered = s.Result != evidence.ResultNotEvaluated
	c.coverEnd = t.Add(2 * time.Duration(s.HeartbeatSeconds) * time.Second)
	c.tl.set(t, s.Result)
	if s.Digest != "" && (len(c.digests) == 0 || c.digests[len(c.digests)-1] != s.Digest) && len(c.digests) < MaxCitations {
		c.digests = append(c.digests, s.Digest)
	}
}

// onMarker ends every control's state: nothing recorded before an operator start or stop is
// carried past it.
func (e *engine) onMarker(en evidence.Entry) {
	t := en.Leaf.Time
	for _, c := range e.controls {
		c.advance(t)
		if c.covered {
			c.tl.set(t, evidence.ResultNotEvaluated)
			c.covered, c.result = false, evidence.ResultNotEvaluated
		}
	}
	if e.inPeriod(t) && len(e.markers) < MaxFindings {
		e.markers = append(e.markers, marker{at: t, started: en.Leaf.Kind == evidence.KindOperatorStarted,
			cite: Citation{Index: en.Index, LeafHash: en.LeafHash}})
	}
}

func (e *engine) onSubject(en evidence.Entry) {
	c, ok := e.controls[en.Leaf.Control]
	s := en.Leaf.Subject
	if !ok || s.To != evidence.SubjectFailing || !e.inPeriod(en.Leaf.Time) {
		return
	}
	ns := subjectNamespace(s.ID)
	b := c.subjects[ns]
	if b == nil {
		b = &subjectBucket{seen: map[uint64]struct{}{}}
		c.subjects[ns] = b
	}
	h := fnv.New64a()
	h.Write([]byte(s.ID))
	b.seen[h.Sum64()] = struct{}{}
	if len(b.listed) < MaxFindingSubjects && !contains(b.listed, s.ID) {
		b.listed = append(b.listed, s.ID)
	}
}

// subjectNamespace is the namespace of a subject key apiVersion/kind/namespace/name (the
// apiVersion may hold a slash); "" for a cluster-scoped subject or another key.
func subjectNamespace(id string) string {
	parts := strings.Split(id, "/")
	if len(parts) < 4 {
		return ""
	}
	return parts[len(parts)-2]
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
