package controllers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// attestedControl is a Control attested every `every`, approved by the members of group.
func attestedControl(name, every, grace, group string) *ismsv1.Control {
	c := control(name, ismsv1.Targets{}, "")
	c.Spec.Policy = ismsv1.PolicySource{}
	c.Spec.Frameworks = []ismsv1.FrameworkMapping{{Framework: "iso27001-2022", Requirements: []string{"A.5.1"}}}
	c.Spec.Attestation = &ismsv1.ControlAttestationSchedule{Every: ismsv1.AttestationDuration(every),
		Grace: ismsv1.AttestationDuration(grace), Approvers: ismsv1.AttestationApprovers{Groups: []string{group}}}
	return c
}

func newAttestation(name, control, submittedBy string) *ismsv1.Attestation {
	now := time.Now()
	return &ismsv1.Attestation{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: ismsv1.AttestationSpec{
			Control:     control,
			Period:      ismsv1.AttestationPeriod{From: metav1.NewTime(now.Add(-90 * 24 * time.Hour)), To: metav1.NewTime(now)},
			Statement:   "The information security policy was reviewed and approved by management.",
			Artifacts:   []ismsv1.AttestationArtifact{{Name: "policy.pdf", URI: "https://docs.example.com/policy.pdf", SHA256: strings.Repeat("ab", 32), Size: 1024, MediaType: "application/pdf"}},
			SubmittedBy: submittedBy,
		},
	}
}

// testUser adds a user to the control plane, with its own client certificate and groups, and
// grants it the ClusterRole of config/rbac/<roleFile>, as an admin would.
func testUser(t *testing.T, name string, groups []string, roleFile string) client.Client {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "config", "rbac", roleFile))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: name}},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}}
	if err := k8s.Create(testCtx, &role); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	if err := k8s.Create(testCtx, binding); err != nil {
		t.Fatal(err)
	}
	user, err := testEnv.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(user.Config(), client.Options{Scheme: NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func getAttestation(g Gomega, name string) *ismsv1.Attestation {
	var a ismsv1.Attestation
	g.Expect(k8s.Get(testCtx, types.NamespacedName{Name: name}, &a)).To(Succeed())
	return &a
}

// decide sets the attestation's decision as user with a merge patch (kubectl patch --type
// merge), writing decidedBy itself to show that what a client writes there does not count.
func decide(as client.Client, name string, outcome ismsv1.AttestationOutcome, claimedBy string) error {
	return patchAttestation(as, name, fmt.Sprintf(`{"spec":{"decision":{"outcome":%q,"comment":"checked","decidedBy":%q}}}`, outcome, claimedBy))
}

func patchAttestation(as client.Client, name, patch string) error {
	a := &ismsv1.Attestation{ObjectMeta: metav1.ObjectMeta{Name: name}}
	return as.Patch(testCtx, a, client.RawPatch(types.MergePatchType, []byte(patch)))
}

func TestAttestationIdentitiesComeFromTheAPIServer(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	approvers := uniqueName("isms-approvers")
	aliceName, bobName, daveName := uniqueName("alice"), uniqueName("bob"), uniqueName("dave")
	// alice is in the approvers' group too: that does not let her decide her own attestation.
	alice := testUser(t, aliceName, []string{approvers}, "attestation_submitter_role.yaml")
	bob := testUser(t, bobName, []string{approvers}, "attestation_approver_role.yaml")
	dave := testUser(t, daveName, []string{"developers"}, "attestation_approver_role.yaml")
	ctl := attestedControl(uniqueName("a-5-1"), "90d", "14d", approvers)
	g.Expect(k8s.Create(testCtx, ctl)).To(Succeed())

	t.Log("alice submits, claiming to be mallory: the attestation says alice")
	name := uniqueName("policy-review")
	g.Expect(alice.Create(testCtx, newAttestation(name, ctl.Name, "mallory"))).To(Succeed())
	g.Expect(getAttestation(g, name).Spec.SubmittedBy).To(Equal(aliceName))

	t.Log("alice cannot approve it, though she is in the approvers' group; dave, no approver, cannot either")
	g.Expect(decide(alice, name, ismsv1.AttestationApproved, aliceName)).To(MatchError(ContainSubstring("may not decide")))
	g.Expect(decide(dave, name, ismsv1.AttestationApproved, daveName)).To(MatchError(ContainSubstring("not among")))
	t.Log("nor can alice rewrite who submitted it")
	g.Expect(patchAttestation(alice, name, `{"spec":{"submittedBy":"mallory"}}`)).To(Succeed())
	g.Expect(getAttestation(g, name).Spec.SubmittedBy).To(Equal(aliceName))

	t.Log("bob approves it, claiming to be alice: the decision says bob, at the API server's time")
	before := time.Now().Add(-time.Second)
	g.Expect(decide(bob, name, ismsv1.AttestationApproved, aliceName)).To(Succeed())
	d := getAttestation(g, name).Spec.Decision
	g.Expect(d.DecidedBy).To(Equal(bobName))
	g.Expect(d.DecidedAt).NotTo(BeNil())
	g.Expect(d.DecidedAt.Time).To(BeTemporally(">=", before.Truncate(time.Second)))

	t.Log("the approved attestation cannot be edited, by bob or by alice, nor turned into a rejection")
	edit := `{"spec":{"statement":"Something else."}}`
	g.Expect(patchAttestation(bob, name, edit)).To(MatchError(ContainSubstring("final")))
	g.Expect(patchAttestation(alice, name, edit)).To(MatchError(ContainSubstring("final")))
	g.Expect(decide(bob, name, ismsv1.AttestationRejected, bobName)).To(MatchError(ContainSubstring("final")))

	t.Log("a submission that decides itself is refused, and so is one for a Control that is not attested")
	decided := newAttestation(uniqueName("self-approved"), ctl.Name, "")
	decided.Spec.Decision = &ismsv1.AttestationDecision{Outcome: ismsv1.AttestationApproved}
	g.Expect(alice.Create(testCtx, decided)).To(MatchError(ContainSubstring("without a decision")))
	g.Expect(alice.Create(testCtx, newAttestation(uniqueName("stray"), "no-such-control", ""))).To(MatchError(ContainSubstring("has no spec.attestation")))

	t.Log("only alice withdraws her next submission")
	next := uniqueName("policy-review")
	g.Expect(alice.Create(testCtx, newAttestation(next, ctl.Name, ""))).To(Succeed())
	g.Expect(decide(bob, next, ismsv1.AttestationWithdrawn, aliceName)).To(MatchError(ContainSubstring("only its submitter")))
	g.Expect(decide(alice, next, ismsv1.AttestationWithdrawn, "")).To(Succeed())
	g.Expect(getAttestation(g, next).Spec.Decision.DecidedBy).To(Equal(aliceName))
}
