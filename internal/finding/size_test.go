package finding

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// managedFieldsAllowance is what the API server adds to a Finding in etcd: the managedFields of
// the operator's create and status updates (measured at about 600 bytes by make bench).
const managedFieldsAllowance = 700

// A Finding stays within 4 KiB in etcd in the worst case: as many failing and excepted
// subjects as can be, with the longest messages, a full history of long reasons, and the
// longest names.
func TestWorstCaseFindingFitsIn4KiB(t *testing.T) {
	long := func(prefix string, n int) string { return (prefix + strings.Repeat("x", n))[:n] }
	var failing, excepted []Subject
	for i := range 200 {
		s := Subject{APIVersion: "apps/v1", Kind: "Deployment", Name: long(fmt.Sprintf("app-%03d-", i), 253), UID: "0f4c5a1e-9d2b-4c3a-8e7f-1a2b3c4d5e6f"}
		for j := range 8 {
			s.Messages = append(s.Messages, long(fmt.Sprintf("message %d ", j), 300))
		}
		failing = append(failing, s)
		excepted = append(excepted, Subject{APIVersion: "apps/v1", Kind: "Deployment", Name: long(fmt.Sprintf("exc-%03d-", i), 253), Exception: long("exception-", 253)})
	}
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	status := ismsv1.FindingStatus{}
	// Alternate between failing, excepted and passing to fill the history.
	for i := range 3 * ismsv1.MaxFindingHistory {
		ev := Evidence{ObservedAt: now, PolicyDigest: "sha256:" + strings.Repeat("a", 64), Severity: ismsv1.SeverityHigh}
		switch i % 3 {
		case 0:
			ev.Failing, ev.Excepted = failing, excepted
		case 1:
			ev.Excepted = excepted
		}
		status = Decide(status, ev, Workflow{DuePeriods: map[ismsv1.Severity]time.Duration{ismsv1.SeverityHigh: time.Hour}}, now).Status
		now = now.Add(2 * time.Hour) // past due: the Overdue condition is set
	}
	status = Decide(status, Evidence{ObservedAt: now, Failing: failing, Excepted: excepted, PolicyDigest: "sha256:" + strings.Repeat("a", 64), Severity: ismsv1.SeverityHigh},
		Workflow{DuePeriods: map[ismsv1.Severity]time.Duration{ismsv1.SeverityHigh: time.Hour}}, now.Add(2*time.Hour)).Status

	name := long("isms-lib-", 63)
	f := ismsv1.Finding{
		TypeMeta: metav1.TypeMeta{APIVersion: ismsv1.GroupVersion.String(), Kind: "Finding"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: long("namespace-", 63), UID: "0f4c5a1e-9d2b-4c3a-8e7f-1a2b3c4d5e6f", ResourceVersion: "123456789",
			Generation: 1, CreationTimestamp: metav1.NewTime(now),
			Labels: map[string]string{ismsv1.LabelControl: name, ismsv1.LabelSeverity: "high"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: ismsv1.GroupVersion.String(), Kind: "Control", Name: name,
				UID: "0f4c5a1e-9d2b-4c3a-8e7f-1a2b3c4d5e6f", Controller: ptr(true), BlockOwnerDeletion: ptr(true)}},
		},
		Spec: ismsv1.FindingSpec{Control: name, ControlID: long("ISMS-LIB-", 63), Title: long("Title ", 256), Severity: ismsv1.SeverityHigh,
			Frameworks: []ismsv1.FrameworkMapping{
				{Framework: "iso27001-2022", Requirements: []string{"A.5.15", "A.5.18", "A.8.2", "A.8.9"}},
				{Framework: "cis-k8s-1.9", Requirements: []string{"5.1.1", "5.1.3"}},
				{Framework: "nist-800-53-r5", Requirements: []string{"AC-3", "AC-6"}},
			}},
		Status: status,
	}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(data) + managedFieldsAllowance; got > 4096 {
		t.Errorf("worst-case Finding takes %d bytes with managedFields (%d without): over 4 KiB; history %d, subjects %d, excepted %d",
			got, len(data), len(status.History), len(status.Subjects), len(status.ExceptedSubjects))
	}
}

func ptr[T any](v T) *T { return &v }
