package evidence

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Validate checks that a leaf is well formed: a known kind with exactly its payload, a UTC
// time, and every string within its bound.
func (l Leaf) Validate() error {
	if l.V != LeafVersion {
		return fmt.Errorf("leaf version %d, want %d", l.V, LeafVersion)
	}
	if l.Time.IsZero() || l.Time.Location() != time.UTC {
		return errors.New("leaf time must be set and in UTC")
	}
	if err := checkLen("control", l.Control, MaxNameLen); err != nil {
		return err
	}
	if err := l.checkPayload(); err != nil {
		return fmt.Errorf("%s leaf: %w", l.Kind, err)
	}
	return nil
}

// checkPayload checks that the payload of the leaf's kind is the only one set, and valid.
func (l Leaf) checkPayload() error {
	set := 0
	for _, p := range []bool{l.Attestation != nil, l.Exception != nil, l.Finding != nil, l.Operator != nil, l.SoA != nil, l.State != nil, l.Subject != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("%d payloads set, want exactly one", set)
	}
	needControl := true
	var err error
	switch l.Kind {
	case KindControl, KindHeartbeat:
		err = requireSet(l.State != nil, "state", l.State.validate)
	case KindSubject:
		err = requireSet(l.Subject != nil, "subject", l.Subject.validate)
	case KindFinding:
		err = requireSet(l.Finding != nil, "finding", l.Finding.validate)
	case KindException:
		err = requireSet(l.Exception != nil, "exception", l.Exception.validate)
	case KindAttestation:
		err = requireSet(l.Attestation != nil, "attestation", l.Attestation.validate)
	case KindSoA:
		needControl = false
		err = requireSet(l.SoA != nil, "soa", l.SoA.validate)
	case KindOperatorStarted, KindOperatorStopped:
		needControl = false
		err = requireSet(l.Operator != nil, "operator", l.Operator.validate)
	default:
		return errors.New("unknown kind")
	}
	if err == nil && needControl != (l.Control != "") {
		err = fmt.Errorf("control set is %v, want %v", l.Control != "", needControl)
	}
	return err
}

// requireSet runs validate only when the payload is present, so a nil receiver is never used.
func requireSet(present bool, name string, validate func() error) error {
	if !present {
		return fmt.Errorf("%s payload missing", name)
	}
	return validate()
}

func (s *State) validate() error {
	switch s.Result {
	case ResultPass, ResultFail, ResultError, ResultNotEvaluated:
	default:
		return fmt.Errorf("unknown result %q", truncate(string(s.Result), MaxStateLen))
	}
	if s.HeartbeatSeconds <= 0 {
		return errors.New("heartbeatSeconds must be positive")
	}
	if s.Generation < 0 {
		return errors.New("generation must not be negative")
	}
	return firstErr(s.Counts.validate(), checkLen("digest", s.Digest, MaxDigestLen),
		checkLen("message", s.Message, MaxMessageLen))
}

func (c Counts) validate() error {
	if c.Errored < 0 || c.Excepted < 0 || c.Failing < 0 {
		return errors.New("counts must not be negative")
	}
	return nil
}

func (s *SubjectTransition) validate() error {
	if s.From == s.To {
		return fmt.Errorf("transition from %q to itself", s.From)
	}
	if err := checkSubjectState("from", s.From, true); err != nil {
		return err
	}
	if err := checkSubjectState("to", s.To, false); err != nil {
		return err
	}
	return firstErr(s.Counts.validate(), checkRequired("id", s.ID, MaxSubjectLen),
		checkLen("message", s.Message, MaxMessageLen))
}

func checkSubjectState(field string, s SubjectState, fromSide bool) error {
	switch s {
	case SubjectPassing, SubjectFailing, SubjectExcepted, SubjectErrored:
		return nil
	case SubjectUnknown:
		if fromSide {
			return nil
		}
	}
	return fmt.Errorf("%s: bad subject state %q", field, truncate(string(s), MaxStateLen))
}

func (f *FindingChange) validate() error {
	return firstErr(checkRequired("name", f.Name, MaxNameLen), checkLen("namespace", f.Namespace, MaxNameLen),
		checkLen("from", f.From, MaxStateLen), checkRequired("to", f.To, MaxStateLen))
}

func (e *ExceptionChange) validate() error {
	return firstErr(checkRequired("name", e.Name, MaxNameLen), checkLen("namespace", e.Namespace, MaxNameLen),
		checkLen("from", e.From, MaxStateLen), checkRequired("to", e.To, MaxStateLen))
}

func (a *AttestationChange) validate() error {
	switch a.Step {
	case StepSubmitted, StepApproved, StepRejected, StepWithdrawn, StepExpired:
	default:
		return fmt.Errorf("unknown step %q", truncate(a.Step, MaxStateLen))
	}
	if len(a.Artifacts) > MaxLeafArtifacts {
		return fmt.Errorf("%d artifacts, more than %d", len(a.Artifacts), MaxLeafArtifacts)
	}
	for _, art := range a.Artifacts {
		if err := art.validate(); err != nil {
			return err
		}
	}
	return firstErr(checkRequired("name", a.Name, MaxNameLen), checkLen("submittedBy", a.SubmittedBy, MaxUserLen),
		checkLen("decidedBy", a.DecidedBy, MaxUserLen), checkPeriodTime("periodFrom", a.PeriodFrom),
		checkPeriodTime("periodTo", a.PeriodTo))
}

func (d *SoADecision) validate() error {
	if d.Decision != SoAApproved && d.Decision != SoARejected {
		return fmt.Errorf("unknown decision %q", truncate(d.Decision, MaxStateLen))
	}
	if hex, ok := strings.CutPrefix(d.Digest, "sha256:"); !ok || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		return fmt.Errorf("digest must be sha256: and 64 lower-case hex digits, got %q", truncate(d.Digest, MaxDigestLen))
	}
	if d.DecidedAt == "" {
		return errors.New("decidedAt must be set")
	}
	return firstErr(checkRequired("name", d.Name, MaxNameLen), checkRequired("version", d.Version, MaxSoAVersionLen),
		checkRequired("framework", d.Framework, MaxNameLen), checkRequired("decidedBy", d.DecidedBy, MaxUserLen),
		checkLen("editedBy", d.EditedBy, MaxUserLen), checkPeriodTime("decidedAt", d.DecidedAt))
}

func (d ArtifactDigest) validate() error {
	if len(d.SHA256) != 64 || strings.Trim(d.SHA256, "0123456789abcdef") != "" {
		return fmt.Errorf("artifact %q: sha256 must be 64 lower-case hex digits", truncate(d.Name, MaxArtifactNameLen))
	}
	if d.Size < 0 {
		return errors.New("artifact size must not be negative")
	}
	return checkRequired("artifact name", d.Name, MaxArtifactNameLen)
}

// checkPeriodTime accepts "" or a UTC time in RFC 3339 to the second, the one form a
// period's time is written in.
func checkPeriodTime(field, s string) error {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.UTC().Format(time.RFC3339) != s {
		return fmt.Errorf("%s: want a UTC time like 2026-01-02T15:04:05Z, got %q", field, truncate(s, maxVersionText))
	}
	return nil
}

func (o *OperatorEvent) validate() error {
	if o.HeartbeatSeconds < 0 {
		return errors.New("heartbeatSeconds must not be negative")
	}
	return checkLen("version", o.Version, maxVersionText)
}

func checkRequired(field, s string, max int) error {
	if s == "" {
		return fmt.Errorf("%s must be set", field)
	}
	return checkLen(field, s, max)
}

func checkLen(field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%s is %d bytes, more than %d", field, len(s), max)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// truncate cuts s to at most n bytes, for echoing hostile input in errors.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
