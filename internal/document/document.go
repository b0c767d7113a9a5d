// Package document decides where an ISMS document (a policy, a plan, a procedure) stands in its
// review cycle. A document's review is an attestation of the attested control that requires it
// (e.g. A.5.1 for the information security policy), with the document among its artifacts: the
// document is approved while that control's attestation in force includes its current content
// (by sha256), and its review falls due, runs over and raises a Finding exactly when the
// control's attestation does. The schedule is the control's; nothing here keeps a second one.
//
// It is a pure core: plain inputs, a clock passed in, no Kubernetes client.
package document

import (
	"time"

	"github.com/isms-operator/isms-operator/internal/attestation"
)

// Document is what the decision needs of a Document: its name (the artifact name that
// `kubectl isms attest --document` gives it), its version label and its content's digest.
type Document struct {
	Name    string
	Version string
	SHA256  string
}

// Artifact is one evidence file of an attestation, by name and digest.
type Artifact struct {
	Name   string
	SHA256 string
}

// Attestation is an attestation of the document's control, with its artifacts.
type Attestation struct {
	attestation.Record
	Artifacts []Artifact
}

// Approval is the latest approved attestation of the control that reviewed the document.
type Approval struct {
	// Attestation names it.
	Attestation string
	// SHA256 is the digest of the document's content as that attestation approved it.
	SHA256 string
	// Version is the document's version label at that content; "" when it is not known (the
	// content changed before the operator saw the approved version's label).
	Version string
	// By and At are the attestation's decider and decision time, as the API server stamped them.
	By string
	At time.Time
}

// Phase is where a document stands in its review cycle.
type Phase string

const (
	// Current: the control's attestation in force approved this content.
	Current Phase = "Current"
	// ReviewDue: as Current, and the control's renewal is due: review the document now.
	ReviewDue Phase = "ReviewDue"
	// Overdue: the review date has passed. The control fails, and opens a Finding, once its
	// grace is over too.
	Overdue Phase = "Overdue"
	// NotApproved: no approved attestation of the control includes the document, or the one in
	// force left it out.
	NotApproved Phase = "NotApproved"
	// VersionChanged: the document's content (sha256) is not the one its latest review approved.
	VersionChanged Phase = "VersionChanged"
)

// Input is what a document's standing depends on.
type Input struct {
	Document Document
	// Schedule is the control's spec.attestation.
	Schedule attestation.Schedule
	// Attestations are the control's, in any order.
	Attestations []Attestation
	// Previous is the approval the document's status recorded last, if any: it remembers the
	// version label an approved digest had, once the content has moved on.
	Previous *Approval
}

// State is a document's standing at a moment.
type State struct {
	Phase Phase
	// Approval is the latest approved review of the document (nil when there is none); it may
	// be an older attestation than the control's attestation in force.
	Approval *Approval
	// Control is the standing of the document's control (attestation.Evaluate).
	Control attestation.State
	// NextReview is when the review falls due and FailsAt when the control fails and opens a
	// Finding unless a new review is approved: the attestation in force's DueAt and FailsAt,
	// set while it includes the document.
	NextReview, FailsAt time.Time
	// Next is when the standing may change with time alone (zero: never).
	Next time.Time
}

// InForce says whether the document's latest review is the control's attestation in force.
func (s State) InForce() bool {
	return s.Approval != nil && s.Control.Current != nil && s.Control.Current.Name == s.Approval.Attestation
}

// Evaluate returns where the document stands at now.
func Evaluate(in Input, now time.Time) State {
	records := make([]attestation.Record, len(in.Attestations))
	for i := range in.Attestations {
		records[i] = in.Attestations[i].Record
	}
	st := State{Control: attestation.Evaluate(in.Schedule, records, now)}
	st.Approval = latestReview(in, now)
	if !st.InForce() {
		st.Phase = NotApproved
		return st
	}
	st.NextReview, st.FailsAt, st.Next = st.Control.DueAt, st.Control.FailsAt, st.Control.Next
	switch {
	case st.Approval.SHA256 != in.Document.SHA256:
		st.Phase = VersionChanged
	case st.Control.Standing == attestation.Current:
		st.Phase = Current
	case st.Control.Standing == attestation.RenewalDue:
		st.Phase = ReviewDue
	default: // InGrace or Expired
		st.Phase = Overdue
	}
	return st
}

// latestReview is the approved attestation with the latest decision not after now that has
// the document among its artifacts: by digest, or by name for a review of another content.
func latestReview(in Input, now time.Time) *Approval {
	var latest *Attestation
	var digest string
	for i := range in.Attestations {
		a := &in.Attestations[i]
		if a.Decision != attestation.Approved || a.DecidedAt.After(now) {
			continue
		}
		sum, ok := artifactOf(in.Document, a.Artifacts)
		if !ok {
			continue
		}
		if latest == nil || a.DecidedAt.After(latest.DecidedAt) ||
			(a.DecidedAt.Equal(latest.DecidedAt) && a.Name > latest.Name) {
			latest, digest = a, sum
		}
	}
	if latest == nil {
		return nil
	}
	out := &Approval{Attestation: latest.Name, SHA256: digest, By: latest.DecidedBy, At: latest.DecidedAt}
	switch p := in.Previous; {
	case digest == in.Document.SHA256:
		out.Version = in.Document.Version
	case p != nil && p.Attestation == out.Attestation && p.SHA256 == digest:
		out.Version = p.Version
	}
	return out
}

// artifactOf returns the digest of the artifact that is the document: the one with its
// current digest, or else the one named after it.
func artifactOf(d Document, artifacts []Artifact) (string, bool) {
	named := ""
	for _, a := range artifacts {
		if a.SHA256 == d.SHA256 {
			return a.SHA256, true
		}
		if a.Name == d.Name && named == "" {
			named = a.SHA256
		}
	}
	return named, named != ""
}
