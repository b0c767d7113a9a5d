package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

var day = 24 * time.Hour

func attestedControl(name, every string) *ismsv1.Control {
	c := &ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: name}}
	c.Spec.ID, c.Spec.Owner = strings.ToUpper(name), "ciso"
	c.Spec.Attestation = &ismsv1.ControlAttestationSchedule{Every: ismsv1.AttestationDuration(every), Grace: "10d",
		Approvers: ismsv1.AttestationApprovers{Groups: []string{"isms-approvers"}}}
	return c
}

func fakeCluster(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := ismsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
}

func TestAttestComputesDigestsAndCreates(t *testing.T) {
	dir := t.TempDir()
	review := filepath.Join(dir, "access-review-q3.pdf")
	if err := os.WriteFile(review, []byte("test"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := fakeCluster(t, attestedControl("a-5-18", "90d"))
	o := &attestOptions{statement: " Access rights reviewed. ", artifacts: []string{review},
		uris: []string{"https://docs.example.com/q3.pdf?v=2"}, from: "2026-07-01", to: "2026-09-30"}
	var out bytes.Buffer
	if err := o.attest(context.Background(), c, "a-5-18", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	var list ismsv1.AttestationList
	if err := c.List(context.Background(), &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("attestations: %d, %v", len(list.Items), err)
	}
	a := list.Items[0]
	art := a.Spec.Artifacts[0]
	// sha256("test")
	if art.SHA256 != "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" || art.Size != 4 ||
		art.Name != "access-review-q3.pdf" || art.MediaType != "application/pdf" || art.URI != "https://docs.example.com/q3.pdf?v=2" {
		t.Errorf("artifact = %+v", art)
	}
	if a.Spec.Statement != "Access rights reviewed." || a.Spec.Control != "a-5-18" || !strings.HasPrefix(a.Name, "a-5-18-20260930-") {
		t.Errorf("attestation = %s %+v", a.Name, a.Spec)
	}
	if from, to := a.Spec.Period.From.UTC(), a.Spec.Period.To.UTC(); !from.Equal(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)) ||
		!to.Equal(time.Date(2026, 9, 30, 23, 59, 59, 0, time.UTC)) {
		t.Errorf("period = %s .. %s", from, to)
	}
	if !strings.Contains(out.String(), "group isms-approvers") {
		t.Errorf("output %q does not name the approvers", out.String())
	}
}

func TestAttestInputErrors(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")
	for _, f := range []string{a, b} {
		if err := os.WriteFile(f, []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	evaluated := &ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: "evaluated"}}
	c := fakeCluster(t, attestedControl("att", "30d"), evaluated)
	cases := map[string]struct {
		control string
		o       attestOptions
		want    string
	}{
		"no statement":                {control: "att", o: attestOptions{artifacts: []string{a}}, want: "a statement is required"},
		"a missing file":              {control: "att", o: attestOptions{statement: "s", artifacts: []string{filepath.Join(dir, "none.pdf")}}, want: "no such file"},
		"two artifacts, one bare uri": {control: "att", o: attestOptions{statement: "s", artifacts: []string{a, b}, uris: []string{"https://x/y"}}, want: "name the artifact"},
		"a uri for no artifact":       {control: "att", o: attestOptions{statement: "s", artifacts: []string{"a=" + a}, uris: []string{"z=https://x/y"}}, want: `no --artifact named "z"`},
		"the same name twice":         {control: "att", o: attestOptions{statement: "s", artifacts: []string{"x=" + a, "x=" + b}}, want: "two artifacts named"},
		"a period that ends first":    {control: "att", o: attestOptions{statement: "s", from: "2026-02-01", to: "2026-01-01"}, want: "before --from"},
		"a date that is not one":      {control: "att", o: attestOptions{statement: "s", to: "next tuesday"}, want: "neither a date"},
		"an evaluated control":        {control: "evaluated", o: attestOptions{statement: "s"}, want: "not attested"},
		"a control that is not there": {control: "nope", o: attestOptions{statement: "s"}, want: "not found"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.o.attest(context.Background(), c, tc.control, time.Now(), &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

func TestAttestDefaultPeriodIsTheControlsEvery(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	o := &attestOptions{statement: "s", name: "given"}
	a, err := o.build(attestedControl("att", "30d"), nil, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Spec.Period.To.Time.Equal(now) || !a.Spec.Period.From.Time.Equal(now.Add(-30*day)) || a.Name != "given" || a.GenerateName != "" {
		t.Fatalf("attestation %s/%s period %s .. %s", a.Name, a.GenerateName, a.Spec.Period.From, a.Spec.Period.To)
	}
}

func TestAttestationsReportMostUrgentFirst(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	approvedAt := func(name, control string, at time.Time) ismsv1.Attestation {
		t := metav1.NewTime(at)
		return ismsv1.Attestation{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: t},
			Spec: ismsv1.AttestationSpec{Control: control, SubmittedBy: "alice",
				Decision: &ismsv1.AttestationDecision{Outcome: ismsv1.AttestationApproved, DecidedBy: "bob", DecidedAt: &t}}}
	}
	pending := ismsv1.Attestation{ObjectMeta: metav1.ObjectMeta{Name: "new", CreationTimestamp: metav1.NewTime(now.Add(-2 * day))},
		Spec: ismsv1.AttestationSpec{Control: "never", SubmittedBy: "carol"}}
	controls := []ismsv1.Control{*attestedControl("current", "90d"), *attestedControl("expired", "30d"),
		*attestedControl("never", "30d"), *attestedControl("due", "100d"), {ObjectMeta: metav1.ObjectMeta{Name: "evaluated"}}}
	items := []ismsv1.Attestation{approvedAt("c1", "current", now.Add(-day)), approvedAt("e1", "expired", now.Add(-60*day)),
		approvedAt("d1", "due", now.Add(-85*day)), pending}
	r := attestationsReport(controls, items, now)
	var got []string
	for _, c := range r.Controls {
		got = append(got, c.Name+":"+string(c.Standing))
	}
	if want := "expired:Expired,never:NeverAttested,due:RenewalDue,current:Current"; strings.Join(got, ",") != want {
		t.Errorf("controls = %s, want %s", strings.Join(got, ","), want)
	}
	if len(r.Awaiting) != 1 || r.Awaiting[0].Name != "new" || r.Awaiting[0].SubmittedBy != "carol" || r.Controls[1].Awaiting != 1 {
		t.Errorf("awaiting = %+v", r.Awaiting)
	}
	var out bytes.Buffer
	printAttestations(&out, r, now)
	if !strings.Contains(out.String(), "Awaiting approval:") || !strings.Contains(out.String(), "expired  ") {
		t.Errorf("table:\n%s", out.String())
	}
}

func policyDocument(name, control, sha string) *ismsv1.Document {
	d := &ismsv1.Document{ObjectMeta: metav1.ObjectMeta{Name: name}}
	d.Spec = ismsv1.DocumentSpec{Title: "Information security policy", DocumentType: ismsv1.DocumentPolicy, Version: "4.0",
		Owner: "ciso", Control: control, Location: ismsv1.DocumentLocation{URI: "https://docs.example.com/" + name + ".pdf",
			SHA256: sha, Size: 1234, MediaType: "application/pdf"}}
	return d
}

// --document takes the Document's location and digest as the artifact, named after it (as the
// operator matches it), states the review by default, and notes the control's documents left out.
func TestAttestDocuments(t *testing.T) {
	isp := policyDocument("information-security-policy", "a-5-1", strings.Repeat("a1", 32))
	acp := policyDocument("access-control-policy", "a-5-1", strings.Repeat("b2", 32))
	other := policyDocument("incident-response-plan", "a-5-24", strings.Repeat("c3", 32))
	c := fakeCluster(t, attestedControl("a-5-1", "365d"), isp, acp, other)
	var out bytes.Buffer
	o := &attestOptions{documents: []string{isp.Name}}
	if err := o.attest(context.Background(), c, "a-5-1", time.Now(), &out); err != nil {
		t.Fatal(err)
	}
	var list ismsv1.AttestationList
	if err := c.List(context.Background(), &list); err != nil || len(list.Items) != 1 {
		t.Fatalf("attestations: %d, %v", len(list.Items), err)
	}
	a := list.Items[0]
	want := ismsv1.AttestationArtifact{Name: isp.Name, URI: isp.Spec.Location.URI, SHA256: isp.Spec.Location.SHA256, Size: 1234, MediaType: "application/pdf"}
	if len(a.Spec.Artifacts) != 1 || a.Spec.Artifacts[0] != want {
		t.Errorf("artifacts = %+v, want [%+v]", a.Spec.Artifacts, want)
	}
	if !strings.Contains(a.Spec.Statement, "Information security policy, version 4.0") {
		t.Errorf("statement = %q", a.Spec.Statement)
	}
	if !strings.Contains(out.String(), "access-control-policy of control a-5-1 are not in this attestation") || strings.Contains(out.String(), other.Name) {
		t.Errorf("output %q does not note exactly the left-out document", out.String())
	}

	for name, o := range map[string]*attestOptions{
		"another control's document": {documents: []string{other.Name}},
		"a missing document":         {documents: []string{"nope"}},
		"twice the same":             {documents: []string{isp.Name, isp.Name}},
	} {
		if err := o.attest(context.Background(), c, "a-5-1", time.Now(), &out); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
