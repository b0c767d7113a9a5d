package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// LeafVersion is the version of the leaf format written by this package.
const LeafVersion = 1

// Bounds on what one leaf may hold: a leaf is a record of state, not a report.
const (
	MaxLeafBytes   = 4096 // encoded size of one leaf
	MaxNameLen     = 253  // a Kubernetes object name
	MaxSubjectLen  = 512  // a subject key (apiVersion/kind/namespace/name or a uid)
	MaxMessageLen  = 256  // an error message or reason, as status messages are cut
	MaxDigestLen   = 128  // "sha256:<hex>"
	MaxStateLen    = 32   // a result, subject state or phase name
	maxVersionText = 64
)

// Kind says what a leaf records.
type Kind string

// The leaf kinds. Control and Heartbeat leaves carry a full State of one control; the others
// carry one change each.
const (
	// KindControl: a control's result, counts, policy digest, generation or error changed,
	// or it was first evaluated since the operator started (a baseline).
	KindControl Kind = "control"
	// KindHeartbeat: the control is still evaluated and its state is unchanged.
	KindHeartbeat Kind = "heartbeat"
	// KindSubject: one subject of a control changed state (started failing, passed again...).
	KindSubject Kind = "subject"
	// KindFinding: a Finding changed state.
	KindFinding Kind = "finding"
	// KindException: a ControlException changed phase.
	KindException Kind = "exception"
	// KindOperatorStarted: the operator started; states recorded before it are not carried
	// past it.
	KindOperatorStarted Kind = "operator-started"
	// KindOperatorStopped: the operator stopped cleanly.
	KindOperatorStopped Kind = "operator-stopped"
	// KindAttestation: a step of an Attestation of an attested control: submitted, approved,
	// rejected, withdrawn, or expired, with its artifacts' digests.
	KindAttestation Kind = "attestation"
	// KindSoA: an approver's decision on a version of a StatementOfApplicability, with the
	// digest of the content decided. Like the operator markers it belongs to no control: the
	// latest Approved leaf of a statement at an instant is the version in force then.
	KindSoA Kind = "soa"
)

// Result is a control's overall result.
type Result string

// The control results.
const (
	ResultPass         Result = "Pass"
	ResultFail         Result = "Fail"
	ResultError        Result = "Error"
	ResultNotEvaluated Result = "NotEvaluated"
)

// SubjectState is where one subject of a control stands. Passing subjects are not recorded
// one by one: a subject absent from a control's state is passing (or gone).
type SubjectState string

// The subject states. SubjectUnknown is the "from" of a subject first recorded after an
// operator start: what it was during the outage is not known.
const (
	SubjectUnknown  SubjectState = "Unknown"
	SubjectPassing  SubjectState = "Passing"
	SubjectFailing  SubjectState = "Failing"
	SubjectExcepted SubjectState = "Excepted"
	SubjectErrored  SubjectState = "Errored"
)

// Leaf is one record of the ledger. Exactly one payload is set, the one of its Kind. Fields
// are declared in the order of their JSON names so that encoding/json writes sorted keys.
type Leaf struct {
	Attestation *AttestationChange `json:"attestation,omitempty"`
	Control     string             `json:"control,omitempty"`
	Exception   *ExceptionChange   `json:"exception,omitempty"`
	Finding     *FindingChange     `json:"finding,omitempty"`
	Kind        Kind               `json:"kind"`
	Operator    *OperatorEvent     `json:"operator,omitempty"`
	SoA         *SoADecision       `json:"soa,omitempty"`
	State       *State             `json:"state,omitempty"`
	Subject     *SubjectTransition `json:"subject,omitempty"`
	Time        time.Time          `json:"time"`
	V           int                `json:"v"`
}

// Counts are a control's non-passing subjects by state.
type Counts struct {
	Errored  int `json:"errored,omitempty"`
	Excepted int `json:"excepted,omitempty"`
	Failing  int `json:"failing,omitempty"`
}

// State is a control's whole recorded state (KindControl and KindHeartbeat leaves).
type State struct {
	Counts Counts `json:"counts"`
	// Digest is the policy digest that produced the result ("sha256:<hex>").
	Digest     string `json:"digest,omitempty"`
	Generation int64  `json:"generation,omitempty"`
	// HeartbeatSeconds is the heartbeat interval in force: the state is carried forward at
	// most two intervals past this leaf unless another leaf confirms it.
	HeartbeatSeconds int64  `json:"heartbeatSeconds"`
	Message          string `json:"message,omitempty"`
	Result           Result `json:"result"`
}

// SubjectTransition is one subject's change (KindSubject leaves), with the control's counts
// after the evaluation that saw it.
type SubjectTransition struct {
	Counts  Counts       `json:"counts"`
	From    SubjectState `json:"from"`
	ID      string       `json:"id"`
	Message string       `json:"message,omitempty"`
	To      SubjectState `json:"to"`
}

// FindingChange is a Finding's state change (KindFinding leaves).
type FindingChange struct {
	From      string `json:"from,omitempty"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	// Open says whether the Finding counts as open in its new state.
	Open bool   `json:"open,omitempty"`
	To   string `json:"to"`
}

// ExceptionChange is a ControlException's phase change (KindException leaves).
type ExceptionChange struct {
	From      string `json:"from,omitempty"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	To        string `json:"to"`
}

// The steps of an Attestation (AttestationChange.Step).
const (
	StepSubmitted = "Submitted"
	StepApproved  = "Approved"
	StepRejected  = "Rejected"
	StepWithdrawn = "Withdrawn"
	// StepExpired: the approved attestation in force expired (its period and grace are over),
	// and its control fails.
	StepExpired = "Expired"
)

// MaxLeafArtifacts bounds the artifacts one attestation leaf lists (an Attestation holds at
// most 16), and MaxArtifactNameLen their names, so that the leaf fits in MaxLeafBytes.
const (
	MaxLeafArtifacts   = 16
	MaxArtifactNameLen = 64
	// MaxUserLen bounds submittedBy and decidedBy: a user name as the API server has it.
	MaxUserLen = 256
)

// AttestationChange is one step of an Attestation (KindAttestation leaves): who submitted
// it, who decided it, the period it covers (RFC 3339, UTC, to the second) and the digests of
// its evidence artifacts, so that a period report can list the evidence of each attested
// requirement and anyone can check a file against it.
type AttestationChange struct {
	Artifacts   []ArtifactDigest `json:"artifacts,omitempty"`
	DecidedBy   string           `json:"decidedBy,omitempty"`
	Name        string           `json:"name"`
	PeriodFrom  string           `json:"periodFrom,omitempty"`
	PeriodTo    string           `json:"periodTo,omitempty"`
	Step        string           `json:"step"`
	SubmittedBy string           `json:"submittedBy,omitempty"`
}

// ArtifactDigest is one evidence file of an attestation, by name and content digest.
type ArtifactDigest struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size,omitempty"`
}

// The decisions on a version of a StatementOfApplicability (SoADecision.Decision).
const (
	SoAApproved = "Approved"
	SoARejected = "Rejected"
)

// MaxSoAVersionLen bounds a statement's version (the API allows 32 characters).
const MaxSoAVersionLen = 32

// SoADecision is an approver's decision on one version of a StatementOfApplicability (KindSoA
// leaves): who last edited the version and who decided it, when (RFC 3339, UTC, to the second)
// and the sha256 of the content decided, so that the statement in force on a date can be
// shown and checked against the object's content.
type SoADecision struct {
	DecidedAt string `json:"decidedAt"`
	DecidedBy string `json:"decidedBy"`
	Decision  string `json:"decision"`
	Digest    string `json:"digest"`
	EditedBy  string `json:"editedBy,omitempty"`
	Framework string `json:"framework"`
	Name      string `json:"name"`
	Version   string `json:"version"`
}

// OperatorEvent describes an operator start or clean stop.
type OperatorEvent struct {
	HeartbeatSeconds int64  `json:"heartbeatSeconds,omitempty"`
	Version          string `json:"version,omitempty"`
}

// ErrNonCanonical is returned by DecodeLeaf for bytes that decode but are not the canonical
// encoding of what they decode to (reordered keys, whitespace, escapes, defaults spelled out).
var ErrNonCanonical = errors.New("leaf is not canonically encoded")

// EncodeLeaf returns the canonical encoding of a valid leaf: compact JSON, keys sorted, no
// HTML escaping, times in UTC. The same leaf always encodes to the same bytes.
func EncodeLeaf(l Leaf) ([]byte, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	b, err := marshalCompact(l)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxLeafBytes {
		return nil, fmt.Errorf("leaf is %d bytes, more than %d", len(b), MaxLeafBytes)
	}
	return b, nil
}

func marshalCompact(l Leaf) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return nil, fmt.Errorf("encoding leaf: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// DecodeLeaf parses a leaf and rejects anything but its canonical encoding, so that one
// record has exactly one byte form and one leaf hash.
func DecodeLeaf(b []byte) (Leaf, error) {
	var l Leaf
	if len(b) > MaxLeafBytes {
		return l, fmt.Errorf("leaf is %d bytes, more than %d", len(b), MaxLeafBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return l, fmt.Errorf("decoding leaf: %w", err)
	}
	if dec.More() {
		return l, fmt.Errorf("decoding leaf: trailing data")
	}
	if err := l.Validate(); err != nil {
		return l, err
	}
	again, err := marshalCompact(l)
	if err != nil {
		return l, err
	}
	if !bytes.Equal(again, b) {
		return l, ErrNonCanonical
	}
	return l, nil
}
