package install

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The rights to write OpenReports come with config/components/openreports only: the default
// install neither publishes nor may write them; with the component, the manager publishes and
// a ClusterRole bound to its ServiceAccount grants what the publisher does.
func TestOpenReportsRightsComeWithTheComponentOnly(t *testing.T) {
	all := installs(t)
	for name, objs := range all {
		if name == Default+"+openreports" {
			continue
		}
		if verbs := managerOpenReportsVerbs(t, objs); len(verbs) > 0 {
			t.Errorf("%s grants the manager %v on OpenReports", name, verbs)
		}
		if args := managerArgs(t, objs); args["publish-reports"] != "" {
			t.Errorf("%s publishes reports: --publish-reports=%s", name, args["publish-reports"])
		}
	}
	objs := all[Default+"+openreports"]
	for _, resource := range []string{"reports", "clusterreports"} {
		verbs := managerOpenReportsVerbs(t, objs)[resource]
		for _, want := range []string{"get", "list", "create", "update", "delete"} {
			if !slices.Contains(verbs, want) {
				t.Errorf("the component does not grant %s on %s.openreports.io (grants %v)", want, resource, verbs)
			}
		}
	}
	if got := managerArgs(t, objs)["publish-reports"]; got != "openreports" {
		t.Errorf("with the component, --publish-reports=%q, want openreports", got)
	}
}

// managerOpenReportsVerbs are the verbs on openreports.io resources of the ClusterRoles bound
// to the manager's ServiceAccount, by resource.
func managerOpenReportsVerbs(t *testing.T, objs []*unstructured.Unstructured) map[string][]string {
	t.Helper()
	o := Index(objs)
	out := map[string][]string{}
	for _, u := range o.OfKind("ClusterRoleBinding") {
		var b rbacv1.ClusterRoleBinding
		if err := convert(u, &b); err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool {
			return s.Kind == rbacv1.ServiceAccountKind && s.Name == "isms-operator-controller-manager"
		}) {
			continue
		}
		role := o.Get("ClusterRole", "", b.RoleRef.Name)
		if role == nil {
			continue
		}
		var r rbacv1.ClusterRole
		if err := convert(role, &r); err != nil {
			t.Fatal(err)
		}
		for _, rule := range r.Rules {
			if slices.Contains(rule.APIGroups, "openreports.io") || slices.Contains(rule.APIGroups, "*") {
				for _, res := range rule.Resources {
					out[res] = append(out[res], rule.Verbs...)
				}
			}
		}
	}
	return out
}

func managerArgs(t *testing.T, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	var d appsv1.Deployment
	if err := convert(Index(objs).Deployment(), &d); err != nil {
		t.Fatal(err)
	}
	return Args(&d)
}
