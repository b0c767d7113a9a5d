package controllers

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// createLibraryControl creates the Policy and the Control that config/library ships for
// policy, as `kubectl apply -k config/library` does.
func createLibraryControl(t *testing.T, g Gomega, policy string) string {
	t.Helper()
	var pol ismsv1.Policy
	readYAML(t, filepath.Join(repoRoot(), "config", "library", "policies", policy+".yaml"), &pol)
	var c ismsv1.Control
	readYAML(t, filepath.Join(repoRoot(), "config", "library", policy+".yaml"), &c)
	for _, obj := range []client.Object{&pol, &c} {
		g.Expect(k8s.Create(testCtx, obj)).To(Succeed())
		t.Cleanup(func() { _ = k8s.Delete(testCtx, obj) })
	}
	return c.Name
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// grantLibraryToolsRead binds the rules of config/rbac/reader_library_tools.yaml to the
// operator's user (envtest runs no controller-manager to aggregate them into reader-role).
func grantLibraryToolsRead(t *testing.T, g Gomega) {
	t.Helper()
	var role rbacv1.ClusterRole
	readYAML(t, filepath.Join(repoRoot(), "config", "rbac", "reader_library_tools.yaml"), &role)
	role.ObjectMeta = metav1.ObjectMeta{Name: uniqueName(role.Name)}
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

func vulnerabilityReport(ns, name, workload, published string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
		"metadata": map[string]any{"namespace": ns, "name": name, "labels": map[string]any{
			"trivy-operator.resource.kind": "ReplicaSet", "trivy-operator.resource.name": workload,
			"trivy-operator.resource.namespace": ns, "trivy-operator.container.name": "app",
		}},
		"report": map[string]any{"vulnerabilities": []any{map[string]any{
			"vulnerabilityID": "CVE-2021-44228", "severity": "CRITICAL", "publishedDate": published, "fixedVersion": "2.15.0",
		}}},
	}}
}

// The library's Trivy Control as shipped: NotApplicable on a cluster without Trivy operator,
// naming its kind; once the CRD is installed and the shipped ClusterRole grants access, it
// reads the VulnerabilityReports and fails the workload with an old critical vulnerability
// only.
func TestLibraryTrivyControlWithAndWithoutTheTool(t *testing.T) {
	requireAPIServer(t)
	g := NewWithT(t)
	name := createLibraryControl(t, g, "trivy-critical-vulnerabilities")

	t.Log("Trivy operator is not installed: NotApplicable, naming VulnerabilityReport")
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultNotApplicable))
		compliant := condition(c, ismsv1.ConditionCompliant)
		g.Expect(compliant.Reason).To(Equal(ismsv1.ReasonKindsNotServed))
		g.Expect(compliant.Message).To(ContainSubstring("VulnerabilityReport.aquasecurity.github.io"))
	}, eventually, poll).Should(Succeed())

	t.Log("Trivy operator's CRD and reports appear: the old critical vulnerability fails")
	installCRDs(t, "trivy-operator.yaml")
	grantLibraryToolsRead(t, g)
	ns := uniqueName("trivy")
	createNamespace(t, ns, nil)
	g.Expect(k8s.Create(testCtx, vulnerabilityReport(ns, "replicaset-api-app", "api-7d9f", "2021-12-10T10:15:09Z"))).To(Succeed())
	g.Expect(k8s.Create(testCtx, vulnerabilityReport(ns, "replicaset-web-app", "web-5c8b", "2099-01-01T00:00:00Z"))).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := getControl(g, name)
		g.Expect(c.Status.Result).To(Equal(ismsv1.ResultFail))
		g.Expect(c.Status.EvaluatedSubjects).To(BeEquivalentTo(2))
		g.Expect(c.Status.FailingSubjects).To(BeEquivalentTo(1))
		f := getFinding(g, ns, name)
		g.Expect(subjectNames(f)).To(ConsistOf("replicaset-api-app"))
		g.Expect(f.Status.Subjects[0].Messages).To(ContainElement(ContainSubstring("ReplicaSet " + ns + "/api-7d9f container app runs 1 CRITICAL")))
	}, kindServedRecovery, poll).Should(Succeed())
}
