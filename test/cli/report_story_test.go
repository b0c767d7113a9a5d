package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/controllers"
	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/api"
	"github.com/isms-operator/isms-operator/internal/report"
	"github.com/isms-operator/isms-operator/test/internal/managerproc"
)

// storyHeartbeat is the manager's evidence heartbeat: a state holds for two of them, so only
// a manager stalled for more than 4 s leaves a gap in the short period of the story.
const storyHeartbeat = 2 * time.Second

// story is the cluster, the manager process and the times the test drove.
type story struct {
	t        *testing.T
	ctx      context.Context
	k8s      client.Client
	mgr      *managerproc.Manager
	ns, name string
}

// TestReportOfADriftAndItsFix is the story of issue 15: Controls and an accepted Risk are
// applied, the manager (the real binary, with its ledger) evaluates them, a Deployment drifts
// and is fixed over a period of seconds, and the report of that period, from the manager's
// endpoint and from `kubectl isms report` alike, shows the Finding, its time to remediate
// and the compliance share that the test measured.
func TestReportOfADriftAndItsFix(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("needs a kube-apiserver and etcd: KUBEBUILDER_ASSETS is not set (run `make test`, or see hack/install-envtest.sh)")
	}
	began := time.Now()
	s, kubeconfig := startStory(t)
	from := s.awaitLeaves(time.Now(), evidence.ResultPass, "")
	t.Logf("the control plane and the manager were up and evaluating after %s", from.Sub(began).Round(time.Millisecond))
	time.Sleep(3 * time.Second)

	drifted := time.Now()
	s.setPrivileged(true)
	failSeen := s.awaitLeaves(drifted, evidence.ResultFail, "Open")
	time.Sleep(3 * time.Second)

	fixed := time.Now()
	s.setPrivileged(false)
	passSeen := s.awaitLeaves(fixed, evidence.ResultPass, "Resolved")
	time.Sleep(2 * time.Second)
	to := time.Now()
	s.awaitCommitted(to)

	period := report.Period{From: from, To: to}
	r := s.endpointReport(period)
	checkStoryReport(t, r, s, period, bounds{lo: fixed.Sub(failSeen), hi: passSeen.Sub(drifted)})

	keyFile := filepath.Join(t.TempDir(), "evidence.pub")
	if err := os.WriteFile(keyFile, []byte(s.get("/evidence/key")), 0o600); err != nil {
		t.Fatal(err)
	}
	res := kubectlISMS(t, "", "report", "--evidence-url", "http://"+s.mgr.MetricsAddr()+"/evidence/", "--key", keyFile,
		"--kubeconfig", kubeconfig, "--from", from.Format(time.RFC3339Nano), "--to", to.Format(time.RFC3339Nano), "-o", "json")
	res.expectCode(t, 0)
	var fromCLI report.Report
	if err := json.Unmarshal([]byte(res.stdout), &fromCLI); err != nil {
		t.Fatal(err)
	}
	if !sameReport(r, fromCLI) {
		t.Errorf("kubectl isms report and GET /evidence/report differ:\nCLI:      %s\nendpoint: %s", res.stdout, mustJSON(r))
	}
}

// bounds is what the test knows of the failure: it began after the drift and was recorded
// before the test saw it; it ended after the fix and was recorded before the test saw that.
// So the recorded failing time (and time to remediate) lies in [fixed - failSeen, passSeen -
// drifted]: the real time, give or take the operator's reaction at each end.
type bounds struct{ lo, hi time.Duration }

func (b bounds) contain(d time.Duration) bool {
	return d >= b.lo-time.Millisecond && d <= b.hi+time.Millisecond // leaf times are kept to the millisecond
}

func checkStoryReport(t *testing.T, r report.Report, s *story, period report.Period, failing bounds) {
	t.Helper()
	if len(r.Findings) != 1 {
		t.Fatalf("%d Findings, want 1: %+v", len(r.Findings), r.Findings)
	}
	f := r.Findings[0]
	// JSON rounds durations to the second; the times are exact.
	ttr := f.ResolvedAt.Sub(f.OpenedAt)
	if want := s.name + "/" + s.ns + "/" + s.name; f.Key != want || f.Open || f.Late || !failing.contain(ttr) ||
		f.TimeToRemediate.D() != ttr.Round(time.Second) {
		t.Errorf("Finding %s: open %v, late %v, remediated in %s (%s); want %s resolved within due in [%s, %s]",
			f.Key, f.Open, f.Late, ttr, f.TimeToRemediate.D(), want, failing.lo, failing.hi)
	}
	var req *report.Requirement
	for i := range r.Requirements {
		if r.Requirements[i].ID == "A.8.9" {
			req = &r.Requirements[i]
		}
	}
	rounded := bounds{lo: (failing.lo - time.Millisecond).Round(time.Second), hi: (failing.hi + time.Millisecond).Round(time.Second)}
	if req == nil || req.Status != report.StatusNonCompliant || !rounded.contain(req.Time.Failing.D()) {
		t.Fatalf("A.8.9: %+v; want NonCompliant, failing for [%s, %s]", req, failing.lo, failing.hi)
	}
	// The share of the period passing is what was not failing, less any time not evaluated;
	// the heartbeat keeps that under a quarter of the period unless the manager stalled.
	length := period.Duration()
	if req.NotEvaluatedShare > 0.25 {
		t.Errorf("A.8.9 not evaluated for %.0f%% of the period", 100*req.NotEvaluatedShare)
	}
	lo := 1 - float64(failing.hi+time.Millisecond)/float64(length) - req.NotEvaluatedShare
	hi := 1 - float64(failing.lo-time.Millisecond)/float64(length)
	if req.PassingShare < lo || req.PassingShare > hi {
		t.Errorf("A.8.9 passing %.3f of the period, want within [%.3f, %.3f]", req.PassingShare, lo, hi)
	}
	if len(r.AcceptedRisks) != 1 || r.AcceptedRisks[0].Name != s.name || len(r.AcceptedRisks[0].Requirements) != 1 {
		t.Errorf("accepted risks %+v, want the Risk %s on A.8.9", r.AcceptedRisks, s.name)
	}
	t.Logf("period %s, failing in [%s, %s], time to remediate %s, passing %.1f%% in [%.1f%%, %.1f%%], not evaluated %.1f%%",
		length, failing.lo, failing.hi, ttr, 100*req.PassingShare, 100*lo, 100*hi, 100*req.NotEvaluatedShare)
}

// sameReport: the two reports agree but for when they were made, and so for the checkpoint
// they cite, which is the latest at their export and moves on with every heartbeat.
func sameReport(a, b report.Report) bool {
	for _, r := range []*report.Report{&a, &b} {
		if r.Checkpoint.Text == "" {
			return false
		}
		r.GeneratedAt, r.Methodology.RisksReadAt, r.Checkpoint = time.Time{}, time.Time{}, report.Checkpoint{}
	}
	return reflect.DeepEqual(a, b)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// startStory starts the control plane, applies a compliant Deployment, a Control on it and an
// accepted Risk, and starts the manager; it returns the story and the kubeconfig's path.
func startStory(t *testing.T) (*story, string) {
	log.SetLogger(logr.Discard()) // envtest's own logging
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	dir := t.TempDir()
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join(repoRoot(), "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	var startErr error
	started := make(chan struct{})
	go func() { _, startErr = env.Start(); close(started) }() // while the manager builds
	t.Cleanup(func() { <-started; _ = env.Stop() })
	bin := managerproc.Build(t, dir)
	if <-started; startErr != nil {
		t.Fatalf("starting envtest: %v", startErr)
	}
	cfg := env.Config
	k8s, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	s := &story{t: t, ctx: ctx, k8s: k8s, ns: "shop", name: "no-privileged"}
	s.apply()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	user, err := env.AddUser(envtest.User{Name: "story-manager", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := user.KubeConfig()
	if err == nil {
		err = os.WriteFile(kubeconfig, data, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	s.mgr = &managerproc.Manager{Binary: bin, Kubeconfig: kubeconfig, Namespace: operatorNamespace,
		Flags: []string{"--enable-webhooks=false", "--evidence-dir", filepath.Join(dir, "evidence"),
			"--evidence-heartbeat", storyHeartbeat.String(), "--evaluation-timeout", "2s"}}
	if s.mgr.Log, err = os.Create(filepath.Join(dir, "manager.log")); err != nil {
		t.Fatal(err)
	}
	if err := s.mgr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.mgr.Stop(); err != nil {
			t.Errorf("%v\n%s", err, s.mgr.LogTail(30))
		}
		if t.Failed() {
			t.Logf("manager log:\n%s", s.mgr.LogTail(40))
		}
		_ = s.mgr.Log.Close()
	})
	return s, kubeconfig
}

const storyPolicy = `package story.privileged

violation contains {"msg": sprintf("container %q is privileged", [c.name])} if {
	some c in input.review.object.spec.template.spec.containers
	c.securityContext.privileged
}`

func (s *story) apply() {
	privileged := false
	labels := map[string]string{"app": "web"}
	objects := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.ns}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "web"}, Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "app", Image: "registry.example/app:1.0.0", SecurityContext: &corev1.SecurityContext{Privileged: &privileged}}}}}}},
		&ismsv1.Control{ObjectMeta: metav1.ObjectMeta{Name: s.name}, Spec: ismsv1.ControlSpec{ID: "STORY-001", Title: "No privileged containers",
			Owner: "platform-security", Severity: ismsv1.SeverityHigh, Description: "Drop securityContext.privileged.",
			Frameworks: []ismsv1.FrameworkMapping{{Framework: "iso27001-2022", Requirements: []string{"A.8.9"}}},
			Targets:    ismsv1.Targets{Kinds: []ismsv1.KindSelector{{APIGroups: []string{"apps"}, Kinds: []string{"Deployment"}}}, Namespaces: []string{s.ns}},
			Policy:     ismsv1.PolicySource{Rego: storyPolicy}}},
		&ismsv1.Risk{ObjectMeta: metav1.ObjectMeta{Name: s.name}, Spec: ismsv1.RiskSpec{Title: "A privileged container escapes",
			Owner: "platform-security", Threat: "a compromised workload", Likelihood: 2, Impact: 4, Appetite: 8,
			Treatment: ismsv1.TreatmentAccept, Controls: []ismsv1.RiskControlRef{{Name: s.name, LikelihoodReduction: 1}},
			Acceptance: &ismsv1.RiskAcceptance{AcceptedBy: "ciso@example.com", Justification: "Residual risk within appetite.",
				Until: metav1.NewTime(time.Now().AddDate(0, 6, 0))}}},
	}
	for _, o := range objects {
		if err := s.k8s.Create(s.ctx, o); err != nil {
			s.t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

func (s *story) setPrivileged(privileged bool) {
	var d appsv1.Deployment
	if err := s.k8s.Get(s.ctx, types.NamespacedName{Namespace: s.ns, Name: "web"}, &d); err != nil {
		s.t.Fatal(err)
	}
	d.Spec.Template.Spec.Containers[0].SecurityContext.Privileged = &privileged
	if err := s.k8s.Update(s.ctx, &d); err != nil {
		s.t.Fatal(err)
	}
}

// awaitLeaves waits until the ledger holds, recorded since since, a control leaf with the
// result and (unless findingTo is empty) a Finding leaf to that state; it returns when it
// saw them, which is after they were recorded.
func (s *story) awaitLeaves(since time.Time, result evidence.Result, findingTo string) time.Time {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var page api.LogPage
		if err := json.Unmarshal([]byte(s.tryGet("/evidence/log?control="+s.name)), &page); err == nil {
			seen := time.Now()
			state, finding := false, findingTo == ""
			for _, e := range page.Entries {
				if e.Leaf.Time.Before(since.Truncate(time.Millisecond)) {
					continue
				}
				state = state || (e.Leaf.Kind == evidence.KindControl && e.Leaf.State.Result == result)
				finding = finding || (e.Leaf.Finding != nil && e.Leaf.Finding.To == findingTo)
			}
			if state && finding {
				return seen
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("no %s control leaf (and Finding %q) in the ledger since %s\n%s", result, findingTo, since, s.mgr.LogTail(30))
	return time.Time{}
}

// awaitCommitted waits for a heartbeat recorded after t: leaves are queued before they are
// committed, and both reports must read every leaf of the period, whenever they read it.
func (s *story) awaitCommitted(t time.Time) {
	deadline := time.Now().Add(4 * storyHeartbeat)
	for time.Now().Before(deadline) {
		var page api.LogPage
		if json.Unmarshal([]byte(s.tryGet("/evidence/log?heartbeats=true&control="+s.name+"&from="+t.Format(time.RFC3339Nano))), &page) == nil &&
			len(page.Entries) > 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("no leaf recorded after %s within %s", t, 4*storyHeartbeat)
}

func (s *story) endpointReport(p report.Period) report.Report {
	q := url.Values{"framework": {"iso27001-2022"}, "from": {p.From.Format(time.RFC3339Nano)}, "to": {p.To.Format(time.RFC3339Nano)}, "format": {"json"}}
	var r report.Report
	if err := json.Unmarshal([]byte(s.get("/evidence/report?"+q.Encode())), &r); err != nil {
		s.t.Fatal(err)
	}
	return r
}

// get GETs a path of the manager's metrics server (plain HTTP here) and fails unless 200.
func (s *story) get(path string) string {
	body, err := s.fetch(path)
	if err != nil {
		s.t.Fatal(err)
	}
	return body
}

func (s *story) tryGet(path string) string {
	body, _ := s.fetch(path)
	return body
}

func (s *story) fetch(path string) (string, error) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodGet, "http://"+s.mgr.MetricsAddr()+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return string(body), err
}
