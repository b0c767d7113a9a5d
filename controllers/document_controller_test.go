package controllers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

func digestOf(content string) string {
	sum := sha256.Sum256([]byte(content))
	return hex.EncodeToString(sum[:])
}

func newDocument(name, control, version, content string) *ismsv1.Document {
	return &ismsv1.Document{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: ismsv1.DocumentSpec{Title: "Information security policy", DocumentType: ismsv1.DocumentPolicy,
			Version: version, Owner: "ciso@example.com", Control: control,
			Location: ismsv1.DocumentLocation{URI: "https://docs.example.com/isms/" + name + ".pdf", SHA256: digestOf(content),
				Size: int64(len(content)), MediaType: "application/pdf"}},
	}
}

// documentReview is an Attestation of control with the document among its artifacts, as
// `kubectl isms attest CONTROL --document NAME` builds it.
func documentReview(name string, doc *ismsv1.Document) *ismsv1.Attestation {
	a := newAttestation(name, doc.Spec.Control, "")
	l := doc.Spec.Location
	a.Spec.Artifacts = []ismsv1.AttestationArtifact{{Name: doc.Name, URI: l.URI, SHA256: l.SHA256, Size: l.Size, MediaType: l.MediaType}}
	return a
}

func getDocument(g Gomega, name string) *ismsv1.Document {
	var d ismsv1.Document
	g.Expect(k8s.Get(testCtx, types.NamespacedName{Name: name}, &d)).To(Succeed())
	return &d
}

func reviewedReason(d *ismsv1.Document) string {
	if c := meta.FindStatusCondition(d.Status.Conditions, ismsv1.ConditionReviewed); c != nil {
		return c.Reason
	}
	return ""
}

// A Document's review cycle is its attested control's: approved by bob's approval of alice's
// attestation (the identities the API server stamped), overdue with the control's Finding open
// once the control's attestation has expired, and current again with a new approved review.
func TestDocumentFollowsItsControlsAttestation(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	approvers := uniqueName("isms-approvers")
	bobName := uniqueName("bob")
	alice := testUser(t, uniqueName("alice"), nil, "attestation_submitter_role.yaml")
	bob := testUser(t, bobName, []string{approvers}, "attestation_approver_role.yaml")
	ctl := attestedControl(uniqueName("a-5-1"), "8s", "2s", approvers)
	g.Expect(k8s.Create(testCtx, ctl)).To(Succeed())
	doc := newDocument(uniqueName("information-security-policy"), ctl.Name, "4.0", "policy v4")
	g.Expect(k8s.Create(testCtx, doc)).To(Succeed())

	t.Log("before any review the document is NotApproved")
	g.Eventually(func(g Gomega) {
		d := getDocument(g, doc.Name)
		g.Expect(d.Status.Phase).To(Equal(ismsv1.DocumentNotApproved))
		g.Expect(reviewedReason(d)).To(Equal(ismsv1.ReasonNeverApproved))
		g.Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
	}, eventually, poll).Should(Succeed())

	t.Log("bob approves alice's review: Current, approved by bob, next review at the control's due date")
	first := uniqueName("policy-review")
	g.Expect(alice.Create(testCtx, documentReview(first, doc))).To(Succeed())
	g.Expect(decide(bob, first, ismsv1.AttestationApproved, "mallory")).To(Succeed())
	g.Eventually(func(g Gomega) {
		d := getDocument(g, doc.Name)
		g.Expect(d.Status.Phase).To(Equal(ismsv1.DocumentCurrent))
		g.Expect(d.Status.Approved).NotTo(BeNil())
		g.Expect(d.Status.Approved.ApprovedBy).To(Equal(bobName))
		g.Expect(d.Status.Approved.Attestation).To(Equal(first))
		g.Expect(d.Status.Approved.Version).To(Equal("4.0"))
		g.Expect(d.Status.Approved.ApprovedAt.Time).To(BeTemporally("==", getAttestation(g, first).Spec.Decision.DecidedAt.Time))
		c := getControl(g, ctl.Name)
		g.Expect(c.Status.Attestation).NotTo(BeNil())
		g.Expect(c.Status.Attestation.DueAt).NotTo(BeNil())
		g.Expect(d.Status.NextReview.Time).To(BeTemporally("==", c.Status.Attestation.DueAt.Time))
		cells := documentTableRow(g, doc.Name)
		g.Expect(cells).To(HaveKeyWithValue("Version", "4.0"))
		g.Expect(cells).To(HaveKeyWithValue("Owner", "ciso@example.com"))
		g.Expect(cells).To(HaveKeyWithValue("Approved", d.Status.Approved.ApprovedAt.UTC().Format("2006-01-02T15:04:05Z")))
		g.Expect(cells).To(HaveKeyWithValue("Next Review", d.Status.NextReview.UTC().Format("2006-01-02T15:04:05Z")))
		g.Expect(cells).To(HaveKeyWithValue("Phase", "Current"))
	}, eventually, poll).Should(Succeed())

	t.Log("the control's attestation expires: the document is Overdue and names the control's open Finding")
	g.Eventually(func(g Gomega) {
		d := getDocument(g, doc.Name)
		g.Expect(d.Status.Phase).To(Equal(ismsv1.DocumentOverdue))
		g.Expect(reviewedReason(d)).To(Equal(ismsv1.ReasonReviewExpired))
		g.Expect(d.Status.Finding).To(Equal(&ismsv1.FindingReference{Namespace: operatorNamespace, Name: ctl.Name}))
		g.Expect(getFinding(g, operatorNamespace, ctl.Name).Status.State).To(Equal(ismsv1.FindingOpen))
	}, eventually, poll).Should(Succeed())
	g.Expect(eventReasons(g, "default", doc.Name)).To(ContainElements(ismsv1.EventDocumentApproved, ismsv1.EventDocumentOverdue))

	t.Log("version 5.0 replaces the content: VersionChanged, and the approved version stays 4.0")
	g.Expect(mergePatchDocument(doc.Name, fmt.Sprintf(`{"spec":{"version":"5.0","location":{"sha256":%q}}}`, digestOf("policy v5")))).To(Succeed())
	g.Eventually(func(g Gomega) {
		d := getDocument(g, doc.Name)
		g.Expect(d.Status.Phase).To(Equal(ismsv1.DocumentVersionChanged))
		g.Expect(d.Status.Approved.Version).To(Equal("4.0"))
		g.Expect(d.Status.Approved.SHA256).To(Equal(digestOf("policy v4")))
	}, eventually, poll).Should(Succeed())

	t.Log("a new approved review of version 5.0 makes it Current again and resolves the Finding")
	second := uniqueName("policy-review")
	g.Expect(alice.Create(testCtx, documentReview(second, getDocument(g, doc.Name)))).To(Succeed())
	g.Expect(decide(bob, second, ismsv1.AttestationApproved, "")).To(Succeed())
	g.Eventually(func(g Gomega) {
		d := getDocument(g, doc.Name)
		g.Expect(d.Status.Phase).To(Equal(ismsv1.DocumentCurrent))
		g.Expect(d.Status.Approved.Attestation).To(Equal(second))
		g.Expect(d.Status.Approved.Version).To(Equal("5.0"))
		g.Expect(d.Status.Finding).To(BeNil())
		g.Expect(getFinding(g, operatorNamespace, ctl.Name).Status.State).To(Equal(ismsv1.FindingResolved))
	}, eventually, poll).Should(Succeed())
}

// A Document whose control is missing, or evaluated rather than attested, says so.
func TestDocumentOfAControlThatIsNotAttested(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	doc := newDocument(uniqueName("access-control-policy"), "no-such-control", "1.0", "acp")
	g.Expect(k8s.Create(testCtx, doc)).To(Succeed())
	g.Eventually(func(g Gomega) {
		d := getDocument(g, doc.Name)
		g.Expect(d.Status.Phase).To(Equal(ismsv1.DocumentNotApproved))
		g.Expect(reviewedReason(d)).To(Equal(ismsv1.ReasonControlNotAttested))
		g.Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
	}, eventually, poll).Should(Succeed())
}

func mergePatchDocument(name, patch string) error {
	d := &ismsv1.Document{ObjectMeta: metav1.ObjectMeta{Name: name}}
	return k8s.Patch(testCtx, d, client.RawPatch(types.MergePatchType, []byte(patch)))
}

// documentTableRow is the Document as `kubectl get documents` prints it: the API server's
// table of the CRD's printer columns, by column name.
func documentTableRow(g Gomega, name string) map[string]any {
	httpClient, err := rest.HTTPClientFor(testEnv.Config)
	g.Expect(err).NotTo(HaveOccurred())
	req, err := http.NewRequestWithContext(testCtx, http.MethodGet, strings.TrimSuffix(testEnv.Config.Host, "/")+"/apis/isms.dev/v1alpha1/documents/"+name, nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	resp, err := httpClient.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK), string(body))
	var table metav1.Table
	g.Expect(json.Unmarshal(body, &table)).To(Succeed())
	g.Expect(table.Rows).To(HaveLen(1))
	cells := map[string]any{}
	for i, col := range table.ColumnDefinitions {
		cells[col.Name] = table.Rows[0].Cells[i]
	}
	return cells
}

// Argo CD reads the Document status the operator writes: awaiting its first review is
// Progressing, a control that is not attested is Degraded.
func TestArgoCDHealthOfDocuments(t *testing.T) {
	requireAPIServer(t)
	scripts := loadHealthScripts(t)
	ctl := attestedControl(uniqueName("argo-a-5-1"), "90d", "14d", "isms-approvers")
	NewWithT(t).Expect(k8s.Create(testCtx, ctl)).To(Succeed())
	reviewedFor := func(reason string) func(client.Object) bool {
		return func(obj client.Object) bool {
			d := obj.(*ismsv1.Document)
			return d.Status.ObservedGeneration == d.Generation && reviewedReason(d) == reason
		}
	}
	awaiting := newDocument(uniqueName("argo-doc"), ctl.Name, "1.0", "a")
	stray := newDocument(uniqueName("argo-doc"), "no-such-control", "1.0", "b")
	for _, d := range []*ismsv1.Document{awaiting, stray} {
		NewWithT(t).Expect(k8s.Create(testCtx, d)).To(Succeed())
	}
	checkHealth(t, scripts, map[string]healthCase{
		"awaiting its first review": {awaiting, reviewedFor(ismsv1.ReasonNeverApproved), "Progressing", "NeverApproved: "},
		"control not attested":      {stray, reviewedFor(ismsv1.ReasonControlNotAttested), "Degraded", "ControlNotAttested: "},
	})
}
