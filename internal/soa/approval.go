package soa

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/attestation"
)

// content is what a version of a statement says, and what an approval is of: everything in
// the spec but the approval and the stamp of who edited it. Fields in a fixed order, so that
// encoding/json writes the same bytes for the same content.
type content struct {
	Framework string                      `json:"framework"`
	Scope     string                      `json:"scope"`
	Version   string                      `json:"version"`
	Approvers ismsv1.AttestationApprovers `json:"approvers"`
	Entries   []ismsv1.SoAEntry           `json:"entries"`
}

// Digest is the sha256 of a statement's content, "sha256:<hex>". The entries are hashed in
// their order in the spec: reordering them is an edit.
func Digest(spec *ismsv1.StatementOfApplicabilitySpec) string {
	c := content{Framework: spec.Framework, Scope: spec.Scope, Version: spec.Version, Approvers: spec.Approvers, Entries: spec.Entries}
	if c.Framework == "" {
		c.Framework = ismsv1.DefaultSoAFramework
	}
	b, err := json.Marshal(c)
	if err != nil { // plain strings, bools and slices: cannot happen
		panic(fmt.Sprintf("encoding a statement's content: %v", err))
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// decisionChanged reports whether the approver's part of the approval differs: its version,
// decision or comment, or its presence.
func decisionChanged(old, next *ismsv1.SoAApproval) bool {
	if old == nil || next == nil {
		return (old == nil) != (next == nil)
	}
	return old.Version != next.Version || old.Decision != next.Decision || old.Comment != next.Comment
}

// Stamp writes into s who edited and who decided, from the request's user and the clock, as
// the mutating admission webhook does. editedBy is the user of the latest request that changed
// the content (on create, the creator); a request that sets or changes the decision gets
// decidedBy, decidedAt and the digest of the content decided. Otherwise both are kept from
// old. Whatever the client wrote there is replaced, so that no one speaks for someone else.
func Stamp(old, s *ismsv1.StatementOfApplicability, user attestation.User, now time.Time) {
	var oldApproval *ismsv1.SoAApproval
	switch {
	case old == nil || Digest(&old.Spec) != Digest(&s.Spec):
		s.Spec.EditedBy = user.Name
	default:
		s.Spec.EditedBy = old.Spec.EditedBy
	}
	if old != nil {
		oldApproval = old.Spec.Approval
	}
	a := s.Spec.Approval
	switch {
	case a == nil:
	case decisionChanged(oldApproval, a):
		at := metav1.NewTime(now)
		a.DecidedBy, a.DecidedAt, a.Digest = user.Name, &at, Digest(&s.Spec)
	default:
		a.DecidedBy, a.DecidedAt, a.Digest = oldApproval.DecidedBy, oldApproval.DecidedAt.DeepCopy(), oldApproval.Digest
	}
}

// CheckWrite says why user may not write s (created when old is nil, else updated from old),
// or nil. A statement is created undecided. A decision (setting, changing or removing
// spec.approval) comes from one of the statement's approvers who did not last edit it, in a
// request that changes nothing else, and is of spec.version: approvers approve what they read.
func CheckWrite(old, s *ismsv1.StatementOfApplicability, user attestation.User) error {
	if old == nil {
		if s.Spec.Approval != nil {
			return fmt.Errorf("a statement is created without spec.approval: an approver decides a version with an update")
		}
		return nil
	}
	if !decisionChanged(old.Spec.Approval, s.Spec.Approval) {
		return nil
	}
	if Digest(&old.Spec) != Digest(&s.Spec) {
		return fmt.Errorf("a request that decides spec.approval may not change the content too: edit and decide in separate requests, by different people")
	}
	if a := s.Spec.Approval; a != nil && a.Version != s.Spec.Version {
		return fmt.Errorf("spec.approval.version %q is not spec.version %q: decide the version you read", a.Version, s.Spec.Version)
	}
	return CheckDecider(s.Spec.Approvers, old.Spec.EditedBy, user)
}

// CheckDecider says why user may not decide a version last edited by editor, or nil. Nobody
// decides a version they last edited, whatever their groups.
func CheckDecider(approvers ismsv1.AttestationApprovers, editor string, user attestation.User) error {
	switch {
	case user.Name == "":
		return fmt.Errorf("the request carries no user name")
	case editor == "":
		return fmt.Errorf("nobody is recorded as the last editor (spec.editedBy: the statement was written while the admission webhook was off): edit it once so that the webhook records who")
	case user.Name == editor:
		return fmt.Errorf("%s last edited this version and may not decide it: another approver must", user.Name)
	case slices.Contains(approvers.Users, user.Name):
		return nil
	}
	for _, g := range user.Groups {
		if slices.Contains(approvers.Groups, g) {
			return nil
		}
	}
	return fmt.Errorf("%s is not among the statement's approvers (spec.approvers)", user.Name)
}

// ApprovalVerdict is what the Approved condition says of a statement.
type ApprovalVerdict struct {
	Approved bool
	Reason   string
	Message  string
}

// Approval says whether spec.approval approves the current content: the version decided is
// spec.version and the digest decided is the content's.
func Approval(spec *ismsv1.StatementOfApplicabilitySpec) ApprovalVerdict {
	a := spec.Approval
	switch {
	case a == nil:
		return ApprovalVerdict{Reason: ismsv1.ReasonSoANotApproved,
			Message: fmt.Sprintf("Version %s awaits an approver's decision (spec.approval)", spec.Version)}
	case a.Version != spec.Version || a.Digest != Digest(spec):
		return ApprovalVerdict{Reason: ismsv1.ReasonSoAChangedSinceApproval,
			Message: fmt.Sprintf("Changed since %s decided version %s (%s): version %s awaits a decision", a.DecidedBy, a.Version, a.Decision, spec.Version)}
	case a.Decision == ismsv1.SoARejected:
		return ApprovalVerdict{Reason: ismsv1.ReasonSoARejected,
			Message: fmt.Sprintf("Version %s was rejected by %s: %s", a.Version, a.DecidedBy, a.Comment)}
	}
	return ApprovalVerdict{Approved: true, Reason: ismsv1.ReasonSoAApproved,
		Message: fmt.Sprintf("Version %s was approved by %s at %s", a.Version, a.DecidedBy, rfc3339(a.DecidedAt))}
}

func rfc3339(t *metav1.Time) string {
	if t == nil {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}
