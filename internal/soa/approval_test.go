package soa

import (
	"strings"
	"testing"
	"time"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/attestation"
)

var (
	alice = attestation.User{Name: "alice", Groups: []string{"isms-editors"}}
	bob   = attestation.User{Name: "bob", Groups: []string{"isms-management"}}
	carol = attestation.User{Name: "carol", Groups: []string{"developers"}}
)

func statement() *ismsv1.StatementOfApplicability {
	return &ismsv1.StatementOfApplicability{Spec: ismsv1.StatementOfApplicabilitySpec{
		Framework: ismsv1.DefaultSoAFramework, Scope: "The payments platform", Version: "2026.1",
		Approvers: ismsv1.AttestationApprovers{Groups: []string{"isms-management"}, Users: []string{"alice"}},
		Entries:   []ismsv1.SoAEntry{applicable("A.8.9")}}}
}

// written returns s as the webhook would store it: stamped from old by user.
func written(old, s *ismsv1.StatementOfApplicability, user attestation.User, at time.Time) *ismsv1.StatementOfApplicability {
	s = s.DeepCopy()
	Stamp(old, s, user, at)
	return s
}

func approve(s *ismsv1.StatementOfApplicability, decision ismsv1.SoADecision) *ismsv1.StatementOfApplicability {
	s = s.DeepCopy()
	s.Spec.Approval = &ismsv1.SoAApproval{Version: s.Spec.Version, Decision: decision, Comment: "ok",
		DecidedBy: "someone-else", Digest: "sha256:forged"}
	return s
}

func TestStampRecordsEditorAndDecider(t *testing.T) {
	created := written(nil, statement(), alice, now)
	if created.Spec.EditedBy != "alice" {
		t.Fatalf("editedBy %q after alice created it", created.Spec.EditedBy)
	}
	// bob approves: the decision is stamped with bob, the time and the digest; editedBy stays.
	approved := written(created, approve(created, ismsv1.SoAApproved), bob, now.Add(time.Hour))
	a := approved.Spec.Approval
	if a.DecidedBy != "bob" || !a.DecidedAt.Time.Equal(now.Add(time.Hour)) || a.Digest != Digest(&created.Spec) || approved.Spec.EditedBy != "alice" {
		t.Fatalf("approval stamped as %+v, editedBy %q", a, approved.Spec.EditedBy)
	}
	// carol rewrites the stamps without changing the decision: they are kept.
	forged := approved.DeepCopy()
	forged.Spec.Approval.DecidedBy, forged.Spec.EditedBy = "carol", "bob"
	kept := written(approved, forged, carol, now.Add(2*time.Hour))
	if kept.Spec.Approval.DecidedBy != "bob" || !kept.Spec.Approval.DecidedAt.Equal(a.DecidedAt) || kept.Spec.EditedBy != "alice" {
		t.Fatalf("stamps not kept: %+v, editedBy %q", kept.Spec.Approval, kept.Spec.EditedBy)
	}
	// carol edits the scope: she is the editor now.
	edited := approved.DeepCopy()
	edited.Spec.Scope = "The payments and identity platforms"
	if e := written(approved, edited, carol, now); e.Spec.EditedBy != "carol" {
		t.Fatalf("editedBy %q after carol's edit", e.Spec.EditedBy)
	}
}

func TestCheckWrite(t *testing.T) {
	created := written(nil, statement(), alice, now)
	editedByBob := created.DeepCopy()
	editedByBob.Spec.Scope = "changed"
	editedByBob = written(created, editedByBob, bob, now)
	approveAndEdit := approve(created, ismsv1.SoAApproved)
	approveAndEdit.Spec.Scope = "changed in the same request"
	wrongVersion := approve(created, ismsv1.SoAApproved)
	wrongVersion.Spec.Approval.Version = "2025.9"
	unstamped := created.DeepCopy()
	unstamped.Spec.EditedBy = ""
	cases := map[string]struct {
		old, next *ismsv1.StatementOfApplicability
		user      attestation.User
		wantErr   string
	}{
		"create":                                {nil, statement(), alice, ""},
		"create approved":                       {nil, approve(statement(), ismsv1.SoAApproved), bob, "created without spec.approval"},
		"edit, by anyone RBAC lets":             {created, editedByBob, carol, ""},
		"approval by an approver group":         {created, approve(created, ismsv1.SoAApproved), bob, ""},
		"rejection by an approver group":        {created, approve(created, ismsv1.SoARejected), bob, ""},
		"approval by the last editor":           {created, approve(created, ismsv1.SoAApproved), alice, "alice last edited this version"},
		"approval by an approver, once edited":  {editedByBob, approve(editedByBob, ismsv1.SoAApproved), alice, ""},
		"approval by the editor, also approver": {editedByBob, approve(editedByBob, ismsv1.SoAApproved), bob, "bob last edited"},
		"approval by someone not named":         {created, approve(created, ismsv1.SoAApproved), carol, "not among the statement's approvers"},
		"approval with an edit":                 {created, approveAndEdit, bob, "may not change the content too"},
		"approval of another version":           {created, wrongVersion, bob, `"2025.9" is not spec.version "2026.1"`},
		"approval with no editor recorded":      {unstamped, approve(unstamped, ismsv1.SoAApproved), bob, "nobody is recorded as the last editor"},
		"approval by no user":                   {created, approve(created, ismsv1.SoAApproved), attestation.User{}, "no user name"},
		"removal by the last editor":            {approve(created, ismsv1.SoAApproved), created, alice, "alice last edited"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := CheckWrite(tc.old, tc.next, tc.user)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestApprovalVerdict(t *testing.T) {
	created := written(nil, statement(), alice, now)
	approved := written(created, approve(created, ismsv1.SoAApproved), bob, now)
	rejected := written(created, approve(created, ismsv1.SoARejected), bob, now)
	edited := approved.DeepCopy()
	edited.Spec.Entries[0].Owner = "platform-team"
	bumped := approved.DeepCopy()
	bumped.Spec.Version = "2026.2"
	cases := map[string]struct {
		s      *ismsv1.StatementOfApplicability
		reason string
	}{
		"undecided":                 {created, ismsv1.ReasonSoANotApproved},
		"approved":                  {approved, ismsv1.ReasonSoAApproved},
		"rejected":                  {rejected, ismsv1.ReasonSoARejected},
		"an entry changed":          {edited, ismsv1.ReasonSoAChangedSinceApproval},
		"a new version, same words": {bumped, ismsv1.ReasonSoAChangedSinceApproval},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v := Approval(&tc.s.Spec)
			if v.Reason != tc.reason || v.Approved != (tc.reason == ismsv1.ReasonSoAApproved) || v.Message == "" {
				t.Fatalf("verdict %+v, want reason %s", v, tc.reason)
			}
		})
	}
}

// TestDigest: the digest changes with any content and not with the approval or the editor.
func TestDigest(t *testing.T) {
	base := statement()
	d := Digest(&base.Spec)
	if !strings.HasPrefix(d, "sha256:") || len(d) != 71 {
		t.Fatalf("digest %q", d)
	}
	same := approve(base, ismsv1.SoAApproved)
	same.Spec.EditedBy = "someone"
	if Digest(&same.Spec) != d {
		t.Error("the approval or editedBy changed the digest")
	}
	unset := base.DeepCopy()
	unset.Spec.Framework = ""
	if Digest(&unset.Spec) != d {
		t.Error("the default framework hashes differently from the same framework spelt out")
	}
	for name, change := range map[string]func(s *ismsv1.StatementOfApplicabilitySpec){
		"scope":     func(s *ismsv1.StatementOfApplicabilitySpec) { s.Scope += "." },
		"version":   func(s *ismsv1.StatementOfApplicabilitySpec) { s.Version = "2" },
		"approvers": func(s *ismsv1.StatementOfApplicabilitySpec) { s.Approvers.Users = nil },
		"an entry":  func(s *ismsv1.StatementOfApplicabilitySpec) { s.Entries[0].Applicable = false },
		"framework": func(s *ismsv1.StatementOfApplicabilitySpec) { s.Framework = "soc2-2017" },
	} {
		s := base.DeepCopy()
		change(&s.Spec)
		if Digest(&s.Spec) == d {
			t.Errorf("changing the %s left the digest", name)
		}
	}
}
