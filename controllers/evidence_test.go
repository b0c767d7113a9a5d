package controllers

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"golang.org/x/mod/sumdb/note"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidence"
)

// phase is one stretch of a control's history as the test drove it.
type phase struct {
	result  evidence.Result
	failing int
	// began is just before the change that starts the phase; seen is when the ledger showed
	// it; mid is an instant inside it.
	began, seen, mid time.Time
}

// TestEvidenceRecordsAControlThatFailsPassesAndFailsAgain drives one Deployment into and out
// of violation and reads the ledger as an auditor would: the transitions in order at the
// right times, the state At an instant of each phase, the Finding's changes, a heartbeat.
func TestEvidenceRecordsAControlThatFailsPassesAndFailsAgain(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns, name := uniqueName("evid"), uniqueName("ev-ctl")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, deployment(ns, "web", true))).To(Succeed())

	var phases []phase
	began := time.Now()
	g.Expect(k8s.Create(testCtx, control(name, deploymentTargets(ns), privilegedPolicy))).To(Succeed())
	phases = append(phases, awaitPhase(t, name, evidence.ResultFail, 1, began))
	for _, privileged := range []bool{false, true} {
		began := time.Now()
		setPrivileged(t, ns, "web", privileged)
		want, failing := evidence.ResultPass, 0
		if privileged {
			want, failing = evidence.ResultFail, 1
		}
		phases = append(phases, awaitPhase(t, name, want, failing, began))
	}
	cond := meta.FindStatusCondition(getControl(g, name).Status.Conditions, ismsv1.ConditionEvidenceRecorded)
	g.Expect(cond).NotTo(BeNil())
	g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))

	entries := controlLog(t, name, false)
	subject := "apps/v1/Deployment/" + ns + "/web"
	checkTransitions(t, entries, phases, subject)
	checkFindingChanges(t, entries, ns, name)
	snapshotResults(t, name, phases)
	awaitHeartbeat(t, name, phases[len(phases)-1].seen)
}

// awaitPhase waits until the ledger's latest control leaf of the control, written since the
// phase began, has the result; then it waits a moment inside the phase and returns it.
func awaitPhase(t *testing.T, control string, want evidence.Result, failing int, began time.Time) phase {
	t.Helper()
	var seen time.Time
	NewWithT(t).Eventually(func(g Gomega) {
		var last *evidence.Entry
		for _, e := range controlLog(t, control, false) {
			if e.Leaf.Kind == evidence.KindControl {
				last = &e
			}
		}
		g.Expect(last).NotTo(BeNil(), "no control leaf yet")
		g.Expect(last.Leaf.Time).NotTo(BeTemporally("<", began.Truncate(time.Millisecond)), "no control leaf since the phase began")
		g.Expect(last.Leaf.State.Result).To(Equal(want))
		g.Expect(last.Leaf.State.Counts.Failing).To(Equal(failing))
		seen = time.Now()
	}, eventually, poll).Should(Succeed())
	time.Sleep(300 * time.Millisecond)
	return phase{result: want, failing: failing, began: began, seen: seen, mid: time.Now()}
}

func controlLog(t *testing.T, control string, heartbeats bool) []evidence.Entry {
	t.Helper()
	entries, err := operator.ledger.Log(testCtx, evidence.LogQuery{Control: control, Heartbeats: heartbeats})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// checkTransitions: one control leaf and one subject leaf per phase, in order, each written
// between the change that caused it and the moment the test saw it.
func checkTransitions(t *testing.T, entries []evidence.Entry, phases []phase, subject string) {
	t.Helper()
	var states []evidence.Entry
	var moves []string
	var subjects []evidence.Entry
	for _, e := range entries {
		switch e.Leaf.Kind {
		case evidence.KindControl:
			states = append(states, e)
		case evidence.KindSubject:
			if e.Leaf.Subject.ID == subject {
				subjects = append(subjects, e)
				moves = append(moves, string(e.Leaf.Subject.From)+">"+string(e.Leaf.Subject.To))
			}
		}
	}
	if want := []string{"Unknown>Failing", "Failing>Passing", "Passing>Failing"}; !slices.Equal(moves, want) {
		t.Fatalf("subject transitions = %q, want %q", moves, want)
	}
	if len(states) != len(phases) {
		t.Fatalf("%d control leaves, want %d (one per phase): %+v", len(states), len(phases), states)
	}
	for i, p := range phases {
		for _, e := range []evidence.Entry{states[i], subjects[i]} {
			at := e.Leaf.Time
			if at.Before(p.began.Truncate(time.Millisecond)) || at.After(p.seen) {
				t.Errorf("phase %d: %s leaf at %s, want within [%s, %s]", i, e.Leaf.Kind, at, p.began, p.seen)
			}
		}
		if states[i].Leaf.State.Result != p.result {
			t.Errorf("phase %d: control leaf result %s, want %s", i, states[i].Leaf.State.Result, p.result)
		}
		if i > 0 && subjects[i].Index < states[i-1].Index {
			t.Errorf("phase %d: subject leaf %d precedes the previous phase's control leaf %d", i, subjects[i].Index, states[i-1].Index)
		}
	}
}

// checkFindingChanges: the namespace's Finding opened, resolved and reopened.
func checkFindingChanges(t *testing.T, entries []evidence.Entry, ns, name string) {
	t.Helper()
	var got []string
	for _, e := range entries {
		if f := e.Leaf.Finding; f != nil && f.Namespace == ns && f.Name == name {
			got = append(got, fmt.Sprintf("%s>%s open=%v", f.From, f.To, f.Open))
		}
	}
	want := []string{">Open open=true", "Open>Resolved open=false", "Resolved>Open open=true"}
	if !slices.Equal(got, want) {
		t.Errorf("finding changes = %q, want %q", got, want)
	}
}

// snapshotResults asks At for an instant inside each phase, and checks the answer's proofs.
func snapshotResults(t *testing.T, control string, phases []phase) {
	t.Helper()
	for i, p := range phases {
		got := controlAt(t, control, p.mid)
		if got.Result != p.result || got.Counts.Failing != p.failing {
			t.Errorf("phase %d: At(%s) = %s with %d failing (%s), want %s with %d", i, p.mid, got.Result, got.Counts.Failing, got.Reason, p.result, p.failing)
		}
	}
}

func controlAt(t *testing.T, control string, at time.Time) evidence.ControlAt {
	t.Helper()
	snap, err := operator.ledger.At(testCtx, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := evidence.VerifySnapshot(snap, operator.ledger.VerifierKey()); err != nil {
		t.Fatalf("At(%s) does not verify: %v", at, err)
	}
	for _, c := range snap.Controls {
		if c.Control == control {
			return c
		}
	}
	t.Fatalf("At(%s) has no control %s", at, control)
	return evidence.ControlAt{}
}

// awaitHeartbeat: an unchanged control is confirmed within a heartbeat or so, with no
// reconcile needed.
func awaitHeartbeat(t *testing.T, control string, after time.Time) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		beats := 0
		for _, e := range controlLog(t, control, true) {
			if e.Leaf.Kind == evidence.KindHeartbeat && e.Leaf.Time.After(after) {
				beats++
			}
		}
		g.Expect(beats).To(BeNumerically(">=", 1))
	}, 4*testHeartbeat+eventually, poll).Should(Succeed())
}

// TestEvidencePublishesTheVerifierKeyAndACheckpoint: the ConfigMap auditors pin, and its Event.
func TestEvidencePublishesTheVerifierKeyAndACheckpoint(t *testing.T) {
	requireAPIServer(t)
	NewWithT(t).Eventually(func(g Gomega) {
		var cm corev1.ConfigMap
		g.Expect(k8s.Get(testCtx, types.NamespacedName{Namespace: operatorNamespace, Name: EvidenceConfigMap}, &cm)).To(Succeed())
		g.Expect(cm.Data[EvidenceKeyVerifier]).To(Equal(operator.ledger.VerifierKey()))
		g.Expect(cm.Data[EvidenceKeyOrigin]).To(Equal(evidence.DefaultKeyName))
		v, err := note.NewVerifier(cm.Data[EvidenceKeyVerifier])
		g.Expect(err).NotTo(HaveOccurred())
		cp, err := evidence.OpenCheckpoint([]byte(cm.Data[EvidenceKeyCheckpoint]), v)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cp.Size).To(BeNumerically(">", 0))

		var events eventsv1.EventList
		g.Expect(k8s.List(testCtx, &events, client.InNamespace(operatorNamespace))).To(Succeed())
		g.Expect(slices.ContainsFunc(events.Items, func(e eventsv1.Event) bool {
			return e.Reason == ismsv1.EventEvidenceCheckpoint && e.Regarding.Name == EvidenceConfigMap
		})).To(BeTrue(), "no EvidenceCheckpoint Event on the ConfigMap")
	}, eventually, poll).Should(Succeed())
}

// TestEvidenceShowsAnOperatorOutage stops the operator for more than two heartbeats and
// starts a new one on the same ledger: an instant in the gap reads NotEvaluated, the control
// is recorded again after the start, and the whole log verifies. The new operator serves
// /evidence/ behind the API server's authentication and authorisation, as in a cluster.
func TestEvidenceShowsAnOperatorOutage(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	ns, name := uniqueName("outage"), uniqueName("ev-outage")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, deployment(ns, "web", true))).To(Succeed())
	g.Expect(k8s.Create(testCtx, control(name, deploymentTargets(ns), privilegedPolicy))).To(Succeed())
	awaitPhase(t, name, evidence.ResultFail, 1, time.Now())

	stopping := time.Now()
	operator.stop()
	stopped := time.Now()
	time.Sleep(2*testHeartbeat + 500*time.Millisecond)
	gap := stopped.Add(testHeartbeat + 250*time.Millisecond)
	addr := freeAddress(t)
	var err error
	if operator, err = startOperator(operatorSettings{restart: true, metricsAddr: addr}); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	after := awaitPhase(t, name, evidence.ResultFail, 1, restarted)

	if got := controlAt(t, name, gap); got.Result != evidence.ResultNotEvaluated {
		t.Errorf("At(gap) = %s (%s), want NotEvaluated", got.Result, got.Reason)
	}
	if got := controlAt(t, name, after.mid); got.Result != evidence.ResultFail {
		t.Errorf("At(after the restart) = %s (%s), want Fail", got.Result, got.Reason)
	}
	checkMarkers(t, controlLog(t, name, false), stopping, restarted)
	if _, err := evidence.VerifyStore(testCtx, operator.ledger.Store(), operator.ledger.VerifierKey()); err != nil {
		t.Fatalf("the ledger does not verify after the restart: %v", err)
	}
	t.Run("endpoint behind authn and authz", func(t *testing.T) { checkEvidenceEndpoint(t, addr) })
}

// checkMarkers: a stop marker, then a start marker, inside the outage, in that order.
func checkMarkers(t *testing.T, entries []evidence.Entry, stopping, restarted time.Time) {
	t.Helper()
	var kinds []evidence.Kind
	for _, e := range entries {
		if e.Leaf.Operator != nil && !e.Leaf.Time.Before(stopping.Truncate(time.Millisecond)) && !e.Leaf.Time.After(restarted.Add(time.Second)) {
			kinds = append(kinds, e.Leaf.Kind)
		}
	}
	if want := []evidence.Kind{evidence.KindOperatorStopped, evidence.KindOperatorStarted}; !slices.Equal(kinds, want) {
		t.Errorf("operator markers around the outage = %q, want %q", kinds, want)
	}
}

// checkEvidenceEndpoint: no token 401, a ServiceAccount without evidence-reader 403, one
// bound to it 200 with the verifier key, and the same for the audit report.
func checkEvidenceEndpoint(t *testing.T, addr string) {
	cs, err := kubernetes.NewForConfig(testEnv.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns := uniqueName("auditors")
	createNamespace(t, ns, nil)
	role := evidenceReaderRole(t)
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("auditor-evidence")},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "auditor", Namespace: ns}}}
	if err := k8s.Create(testCtx, binding); err != nil {
		t.Fatal(err)
	}
	auditor, stranger := serviceAccountToken(t, cs, ns, "auditor"), serviceAccountToken(t, cs, ns, "stranger")
	today := time.Now().UTC().Format(time.DateOnly)
	for path, isAnswer := range map[string]func(string) bool{
		"/evidence/key": func(body string) bool { return strings.TrimSpace(body) == operator.ledger.VerifierKey() },
		// The audit report, computed in the manager from its cache and ledger.
		"/evidence/report?framework=iso27001-2022&from=" + today + "&to=" + today: func(body string) bool {
			return strings.HasPrefix(body, "# Audit report: ISO/IEC 27001") && strings.Contains(body, "- Ledger: "+evidence.DefaultKeyName)
		},
	} {
		awaitAllowed(t, cs, "system:serviceaccount:"+ns+":auditor", strings.SplitN(path, "?", 2)[0])
		url := "https://" + addr + path
		if code, _ := getWithToken(t, url, ""); code != http.StatusUnauthorized {
			t.Errorf("%s, no token: status %d, want 401", path, code)
		}
		if code, _ := getWithToken(t, url, stranger); code != http.StatusForbidden {
			t.Errorf("%s, a ServiceAccount without evidence-reader: status %d, want 403", path, code)
		}
		code, body := getWithToken(t, url, auditor)
		if code != http.StatusOK || !isAnswer(body) {
			t.Errorf("%s, a ServiceAccount with evidence-reader: status %d, body %q; want 200 and the answer", path, code, body)
		}
	}
}

// evidenceReaderRole creates config/rbac/evidence_reader_role.yaml's ClusterRole.
func evidenceReaderRole(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "config", "rbac", "evidence_reader_role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatal(err)
	}
	role.Name = uniqueName(role.Name)
	if err := k8s.Create(testCtx, &role); err != nil {
		t.Fatal(err)
	}
	return &role
}

func serviceAccountToken(t *testing.T, cs kubernetes.Interface, ns, name string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(testCtx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(testCtx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token for %s/%s: %v", ns, name, err)
	}
	return tr.Status.Token
}

// awaitAllowed waits for the API server's RBAC to grant the binding, so that the endpoint's
// authorizer does not cache a denial made before it.
func awaitAllowed(t *testing.T, cs kubernetes.Interface, user, path string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user,
			Groups:                []string{"system:serviceaccounts", "system:authenticated"},
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: "get"}}}
		res, err := cs.AuthorizationV1().SubjectAccessReviews().Create(testCtx, sar, metav1.CreateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(res.Status.Allowed).To(BeTrue())
	}, eventually, poll).Should(Succeed())
}

func getWithToken(t *testing.T, url, token string) (int, string) {
	t.Helper()
	// The metrics server's certificate is self-signed in the test, as without cert-manager.
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	var code int
	var body string
	NewWithT(t).Eventually(func(g Gomega) {
		req, err := http.NewRequestWithContext(testCtx, http.MethodGet, url, nil)
		g.Expect(err).NotTo(HaveOccurred())
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		g.Expect(err).NotTo(HaveOccurred(), "the metrics server is not serving yet")
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		code, body = resp.StatusCode, string(b)
	}, eventually, poll).Should(Succeed())
	return code, body
}

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}
