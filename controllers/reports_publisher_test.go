package controllers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	reportsv1alpha1 "github.com/openreports/reports-api/apis/openreports.io/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/openreports"
)

// brokenPolicy fails Deployments labelled reports-test=broken: unlike privileged containers,
// which the sample Controls other tests leave behind flag in every namespace, only this
// test's Control fails them, so that the reports' counts are its own.
const brokenPolicy = `package test.reports

violation contains {"msg": "the Deployment is labelled broken"} if {
	input.review.object.metadata.labels["reports-test"] == "broken"
}`

// brokenDeployment is a Deployment that brokenPolicy fails.
func brokenDeployment(ns, name string) *appsv1.Deployment {
	d := deployment(ns, name, false)
	d.Labels = map[string]string{"reports-test": "broken"}
	return d
}

// fix removes the label brokenPolicy fails.
func fix(g Gomega, ns, name string) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	mergePatch(g, d, `{"metadata":{"labels":{"reports-test":null}}}`)
}

// testReports publishes often, with a small cap, and waits little for first sweeps: other
// tests leave Controls that never sweep (their kinds are forbidden).
var testReports = ReportsOptions{Interval: 300 * time.Millisecond, MaxResults: 3, StartupGrace: time.Second}

// TestReportsPublisher runs the operator with --publish-reports=openreports and the rights of
// config/components/openreports, first without the OpenReports CRDs (it keeps running and
// evaluating), then with them: a failing Deployment shows up in its namespace's Report, the cap
// holds with the summary exact, an unchanged report is not rewritten, fixing a Deployment
// removes its result, and fixing them all deletes the report.
func TestReportsPublisher(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	grantOpenReportsComponent(t, g)
	restartOperatorWith(t, operatorSettings{restart: true, reports: &testReports})

	ns := uniqueName("reports")
	createNamespace(t, ns, map[string]string{"reports-test": "broken"})
	g.Expect(k8s.Create(testCtx, brokenDeployment(ns, "a"))).To(Succeed())
	c := control(uniqueName("reports"), deploymentTargets(ns), brokenPolicy)
	// A cluster-scoped subject: the test's Namespace, in the ClusterReport. Critical, so that
	// the cap keeps it ahead of what other tests' Controls say of Namespaces.
	nsControl := control(uniqueName("reports-ns"), ismsv1.Targets{
		Kinds: []ismsv1.KindSelector{{APIGroups: []string{""}, Kinds: []string{"Namespace"}}}}, brokenPolicy)
	nsControl.Spec.Severity = ismsv1.SeverityCritical
	for _, obj := range []*ismsv1.Control{c, nsControl} {
		g.Expect(k8s.Create(testCtx, obj)).To(Succeed())
		t.Cleanup(func() { _ = k8s.Delete(testCtx, obj) })
	}

	t.Log("without the CRDs: the operator evaluates, and publishes nothing")
	g.Eventually(func(g Gomega) {
		g.Expect(getFinding(g, ns, c.Name).Status.State).To(Equal(ismsv1.FindingOpen))
	}, eventually, poll).Should(Succeed())
	time.Sleep(3 * testReports.Interval) // a few attempts without the CRDs
	select {
	case <-operator.done:
		t.Fatal("the operator stopped without the OpenReports CRDs")
	default:
	}

	t.Log("with the CRDs: the failing Deployment is in its namespace's Report")
	installCRDs(t, "openreports.yaml")
	g.Eventually(func(g Gomega) {
		r := getReport(g, ns)
		g.Expect(r.Labels).To(HaveKeyWithValue(openreports.LabelManagedBy, openreports.ManagedBy))
		g.Expect(r.Source).To(Equal(openreports.Source))
		g.Expect(r.Summary.Fail).To(Equal(1))
		g.Expect(resultNames(r)).To(Equal([]string{"a"}))
		g.Expect(r.Results[0].Policy).To(Equal(c.Name))
		g.Expect(r.Results[0].Rule).To(Equal(c.Spec.ID))
		g.Expect(r.Results[0].Description).To(Equal("the Deployment is labelled broken"))
	}, eventually, poll).Should(Succeed())
	g.Eventually(func(g Gomega) {
		var cr reportsv1alpha1.ClusterReport
		g.Expect(k8s.Get(testCtx, types.NamespacedName{Name: openreports.ReportName}, &cr)).To(Succeed())
		g.Expect(cr.Results).To(ContainElement(And(HaveField("Policy", nsControl.Name),
			HaveField("Subjects", ConsistOf(HaveField("Name", ns))))))
	}, eventually, poll).Should(Succeed())

	t.Log("five failing: the cap keeps three, the summary counts five")
	for _, name := range []string{"b", "c", "d", "e"} {
		g.Expect(k8s.Create(testCtx, brokenDeployment(ns, name))).To(Succeed())
	}
	g.Eventually(func(g Gomega) {
		r := getReport(g, ns)
		g.Expect(r.Summary.Fail).To(Equal(5))
		g.Expect(resultNames(r)).To(Equal([]string{"a", "b", "c"}))
		g.Expect(r.Annotations).To(HaveKeyWithValue(openreports.AnnotationOmitted, "2"))
		g.Expect(r.Configuration.Limits.MaxResults).To(Equal(3))
	}, eventually, poll).Should(Succeed())

	t.Log("nothing changes: the report is not rewritten")
	before := getReport(g, ns)
	time.Sleep(5 * testReports.Interval)
	g.Expect(getReport(g, ns).ResourceVersion).To(Equal(before.ResourceVersion))
	t.Logf("a report of 3 results as stored: %d bytes", storedSize(g, before))

	t.Log("a fixed Deployment leaves the report")
	fix(g, ns, "a")
	g.Eventually(func(g Gomega) {
		r := getReport(g, ns)
		g.Expect(r.Summary.Fail).To(Equal(4))
		g.Expect(resultNames(r)).To(Equal([]string{"b", "c", "d"}))
		g.Expect(r.Annotations).To(HaveKeyWithValue(openreports.AnnotationOmitted, "1"))
	}, eventually, poll).Should(Succeed())

	t.Log("all fixed: the report is deleted")
	for _, name := range []string{"b", "c", "d", "e"} {
		fix(g, ns, name)
	}
	g.Eventually(func() bool {
		err := k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: openreports.ReportName}, &reportsv1alpha1.Report{})
		return apierrors.IsNotFound(err)
	}, eventually, poll).Should(BeTrue())
}

// restartOperatorWith restarts the suite's operator with set, and with the suite's settings
// again after the test.
func restartOperatorWith(t *testing.T, set operatorSettings) {
	t.Helper()
	operator.stop()
	var err error
	if operator, err = startOperator(set); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		operator.stop()
		if operator, err = startOperator(operatorSettings{restart: true}); err != nil {
			t.Fatal(err)
		}
	})
}

// grantOpenReportsComponent binds the ClusterRole of config/components/openreports to the
// operator's user, so that a right the publisher needs and the component lacks fails the test.
func grantOpenReportsComponent(t *testing.T, g Gomega) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "config", "components", "openreports", "role.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	var role rbacv1.ClusterRole
	g.Expect(yaml.Unmarshal(data, &role)).To(Succeed()) // the first document: the ClusterRole
	g.Expect(role.Kind).To(Equal("ClusterRole"))
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: operatorUser}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
	}
	for _, obj := range []client.Object{&role, binding} {
		g.Expect(k8s.Create(testCtx, obj)).To(Succeed())
		t.Cleanup(func() { _ = k8s.Delete(testCtx, obj) })
	}
}

func getReport(g Gomega, ns string) *reportsv1alpha1.Report {
	var r reportsv1alpha1.Report
	g.Expect(k8s.Get(testCtx, types.NamespacedName{Namespace: ns, Name: openreports.ReportName}, &r)).To(Succeed())
	return &r
}

func resultNames(r *reportsv1alpha1.Report) []string {
	var names []string
	for _, res := range r.Results {
		for _, s := range res.Subjects {
			names = append(names, s.Name)
		}
	}
	return slices.Clip(names)
}

// storedSize is the JSON size of a report as the API server returns it, managed fields
// included: what etcd holds, give or take the resourceVersion.
func storedSize(g Gomega, r *reportsv1alpha1.Report) int {
	data, err := json.Marshal(r)
	g.Expect(err).NotTo(HaveOccurred())
	return len(data)
}
