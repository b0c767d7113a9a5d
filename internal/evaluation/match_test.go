package evaluation

import (
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

var (
	deploymentGVK    = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	namespaceGVK     = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
	clusterRoleGVK   = schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}
	networkPolicyGVK = schema.GroupVersionKind{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}
)

func kinds(group string, ks ...string) []ismsv1.KindSelector {
	return []ismsv1.KindSelector{{APIGroups: []string{group}, Kinds: ks}}
}

func meta(ns, name string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name), Labels: labels}
}

func TestMatches(t *testing.T) {
	deploymentIn := func(ns string, labels map[string]string) *Subject {
		return &Subject{ObjectMeta: meta(ns, "web", labels), GVK: deploymentGVK}
	}
	tests := map[string]struct {
		targets  ismsv1.Targets
		subject  *Subject
		nsLabels map[string]string
		want     bool
	}{
		"kind and group match": {
			targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment")},
			subject: deploymentIn("a", nil),
			want:    true,
		},
		"other kind in the group does not match": {
			targets: ismsv1.Targets{Kinds: kinds("apps", "StatefulSet")},
			subject: deploymentIn("a", nil),
		},
		"same kind in another group does not match": {
			targets: ismsv1.Targets{Kinds: kinds("extensions", "Deployment")},
			subject: deploymentIn("a", nil),
		},
		"core group is the empty string": {
			targets: ismsv1.Targets{Kinds: kinds("apps", "Namespace")},
			subject: &Subject{ObjectMeta: meta("", "a", nil), GVK: namespaceGVK},
		},
		"namespace in the allow-list": {
			targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment"), Namespaces: []string{"a", "b"}},
			subject: deploymentIn("b", nil),
			want:    true,
		},
		"namespace not in the allow-list": {
			targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment"), Namespaces: []string{"a", "b"}},
			subject: deploymentIn("c", nil),
		},
		"excluded namespace": {
			targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment"), ExcludedNamespaces: []string{"kube-system"}},
			subject: deploymentIn("kube-system", nil),
		},
		"namespace not excluded": {
			targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment"), ExcludedNamespaces: []string{"kube-system"}},
			subject: deploymentIn("payments", nil),
			want:    true,
		},
		"excluded wins over allowed": {
			targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment"), Namespaces: []string{"a"}, ExcludedNamespaces: []string{"a"}},
			subject: deploymentIn("a", nil),
		},
		"namespaceSelector matches the namespace's labels": {
			targets: ismsv1.Targets{
				Kinds:             kinds("apps", "Deployment"),
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
			},
			subject:  deploymentIn("a", map[string]string{"env": "dev"}),
			nsLabels: map[string]string{"env": "prod"},
			want:     true,
		},
		"namespaceSelector ignores the subject's own labels": {
			targets: ismsv1.Targets{
				Kinds:             kinds("apps", "Deployment"),
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
			},
			subject:  deploymentIn("a", map[string]string{"env": "prod"}),
			nsLabels: map[string]string{"env": "dev"},
		},
		"namespaceSelector with unknown namespace labels": {
			targets: ismsv1.Targets{
				Kinds:             kinds("apps", "Deployment"),
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
			},
			subject: deploymentIn("a", nil),
		},
		"labelSelector matches the subject's labels": {
			targets: ismsv1.Targets{
				Kinds:         kinds("apps", "Deployment"),
				LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}}}},
			},
			subject:  deploymentIn("a", map[string]string{"tier": "api"}),
			nsLabels: map[string]string{"tier": "db"},
			want:     true,
		},
		"labelSelector ignores the namespace's labels": {
			targets: ismsv1.Targets{
				Kinds:         kinds("apps", "Deployment"),
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}},
			},
			subject:  deploymentIn("a", map[string]string{"tier": "db"}),
			nsLabels: map[string]string{"tier": "web"},
		},
		"Namespace subject is filtered by its own name: allowed": {
			targets: ismsv1.Targets{Kinds: kinds("", "Namespace"), Namespaces: []string{"payments"}},
			subject: &Subject{ObjectMeta: meta("", "payments", nil), GVK: namespaceGVK},
			want:    true,
		},
		"Namespace subject is filtered by its own name: not allowed": {
			targets: ismsv1.Targets{Kinds: kinds("", "Namespace"), Namespaces: []string{"payments"}},
			subject: &Subject{ObjectMeta: meta("", "storefront", nil), GVK: namespaceGVK},
		},
		"Namespace subject is filtered by its own name: excluded": {
			targets: ismsv1.Targets{Kinds: kinds("", "Namespace"), ExcludedNamespaces: []string{"kube-system"}},
			subject: &Subject{ObjectMeta: meta("", "kube-system", nil), GVK: namespaceGVK},
		},
		"Namespace subject matches namespaceSelector with its own labels": {
			targets: ismsv1.Targets{
				Kinds:             kinds("", "Namespace"),
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
			},
			subject:  &Subject{ObjectMeta: meta("", "payments", map[string]string{"env": "prod"}), GVK: namespaceGVK},
			nsLabels: map[string]string{"env": "prod"},
			want:     true,
		},
		"Namespace subject fails namespaceSelector with its own labels": {
			targets: ismsv1.Targets{
				Kinds:             kinds("", "Namespace"),
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
			},
			subject:  &Subject{ObjectMeta: meta("", "payments", map[string]string{"env": "dev"}), GVK: namespaceGVK},
			nsLabels: map[string]string{"env": "dev"},
		},
		"cluster-scoped subject ignores namespaces": {
			targets: ismsv1.Targets{Kinds: kinds("rbac.authorization.k8s.io", "ClusterRole"), Namespaces: []string{"payments"}},
			subject: &Subject{ObjectMeta: meta("", "admin", nil), GVK: clusterRoleGVK},
			want:    true,
		},
		"cluster-scoped subject ignores excludedNamespaces, even its own name": {
			targets: ismsv1.Targets{Kinds: kinds("rbac.authorization.k8s.io", "ClusterRole"), ExcludedNamespaces: []string{"admin"}},
			subject: &Subject{ObjectMeta: meta("", "admin", nil), GVK: clusterRoleGVK},
			want:    true,
		},
		"cluster-scoped subject ignores namespaceSelector": {
			targets: ismsv1.Targets{
				Kinds:             kinds("rbac.authorization.k8s.io", "ClusterRole"),
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
			},
			subject: &Subject{ObjectMeta: meta("", "admin", nil), GVK: clusterRoleGVK},
			want:    true,
		},
		"cluster-scoped subject still needs labelSelector": {
			targets: ismsv1.Targets{
				Kinds:         kinds("rbac.authorization.k8s.io", "ClusterRole"),
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"owner": "platform"}},
			},
			subject: &Subject{ObjectMeta: meta("", "admin", map[string]string{"owner": "someone"}), GVK: clusterRoleGVK},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := NewMatcher(tc.targets)
			if err != nil {
				t.Fatalf("NewMatcher: %v", err)
			}
			if got := m.Matches(tc.subject, tc.nsLabels); got != tc.want {
				t.Errorf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewMatcher(t *testing.T) {
	bogus := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: "Bogus", Values: []string{"x"}}}}
	tests := map[string]struct {
		targets           ismsv1.Targets
		wantErr           string
		wantTargets       []schema.GroupKind
		wantNotTargets    []schema.GroupKind
		wantNamespaceDeps bool
	}{
		"kinds are targeted by group": {
			targets:        ismsv1.Targets{Kinds: []ismsv1.KindSelector{{APIGroups: []string{"apps", ""}, Kinds: []string{"Deployment", "Namespace"}}}},
			wantTargets:    []schema.GroupKind{deploymentGVK.GroupKind(), NamespaceGroupKind, {Kind: "Deployment"}, {Group: "apps", Kind: "Namespace"}},
			wantNotTargets: []schema.GroupKind{{Group: "extensions", Kind: "Deployment"}, networkPolicyGVK.GroupKind()},
		},
		"namespaceSelector makes matching depend on namespace labels": {
			targets: ismsv1.Targets{
				Kinds:             kinds("apps", "Deployment"),
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
			},
			wantTargets:       []schema.GroupKind{deploymentGVK.GroupKind()},
			wantNamespaceDeps: true,
		},
		"labelSelector does not depend on namespace labels": {
			targets: ismsv1.Targets{
				Kinds:         kinds("apps", "Deployment"),
				LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}},
			},
			wantTargets: []schema.GroupKind{deploymentGVK.GroupKind()},
		},
		"invalid namespaceSelector": {
			targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment"), NamespaceSelector: bogus},
			wantErr: "targets.namespaceSelector",
		},
		"invalid labelSelector": {
			targets: ismsv1.Targets{Kinds: kinds("apps", "Deployment"), LabelSelector: bogus},
			wantErr: "targets.labelSelector",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := NewMatcher(tc.targets)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "Bogus") {
					t.Errorf("err = %v does not name the bad operator", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewMatcher: %v", err)
			}
			for _, gk := range tc.wantTargets {
				if !m.Targets(gk) {
					t.Errorf("Targets(%v) = false, want true", gk)
				}
			}
			for _, gk := range tc.wantNotTargets {
				if m.Targets(gk) {
					t.Errorf("Targets(%v) = true, want false", gk)
				}
			}
			if got := m.UsesNamespaceLabels(); got != tc.wantNamespaceDeps {
				t.Errorf("UsesNamespaceLabels = %v, want %v", got, tc.wantNamespaceDeps)
			}
		})
	}
}

func TestGroupKinds(t *testing.T) {
	tests := map[string]struct {
		sel  []ismsv1.KindSelector
		want []schema.GroupKind
	}{
		"nothing": {},
		"cross product in order": {
			sel: []ismsv1.KindSelector{{APIGroups: []string{"apps", "extensions"}, Kinds: []string{"Deployment", "DaemonSet"}}},
			want: []schema.GroupKind{
				{Group: "apps", Kind: "Deployment"}, {Group: "apps", Kind: "DaemonSet"},
				{Group: "extensions", Kind: "Deployment"}, {Group: "extensions", Kind: "DaemonSet"},
			},
		},
		"duplicates across and within selectors are dropped": {
			sel: []ismsv1.KindSelector{
				{APIGroups: []string{"apps", "apps"}, Kinds: []string{"Deployment"}},
				{APIGroups: []string{""}, Kinds: []string{"Namespace", "Namespace"}},
				{APIGroups: []string{"apps"}, Kinds: []string{"StatefulSet", "Deployment"}},
			},
			want: []schema.GroupKind{
				{Group: "apps", Kind: "Deployment"}, NamespaceGroupKind, {Group: "apps", Kind: "StatefulSet"},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := GroupKinds(tc.sel); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("GroupKinds = %v, want %v", got, tc.want)
			}
		})
	}
}
