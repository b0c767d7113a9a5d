// Package install renders the operator's kustomize install (config/default and its overlays)
// the way `kubectl apply -k` does, checks that the references between the rendered objects
// resolve, and applies them to an API server. Its tests prove the install; the manager's
// install test (cmd/manager) runs the manager from what it renders.
package install

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Default is the kustomization users apply; CertManager the overlay that has cert-manager issue
// the webhook's certificate; HA the overlay of two replicas with the ledger in PostgreSQL, and
// HAComponent the component it applies.
const (
	Default     = "config/default"
	CertManager = "config/overlays/cert-manager"
	HA          = "config/overlays/ha"
	HAComponent = "config/ha"
	// OpenReportsComponent publishes the results as OpenReports, with the rights to.
	OpenReportsComponent = "config/components/openreports"
)

// UserSecrets are the Secrets the user creates before applying the HA component (config/ha's
// kustomization and docs/install.md say so): it references them and does not render them, so
// that applying the install again never overwrites them.
var UserSecrets = []string{"isms-operator-evidence-database", "isms-operator-evidence-signing-key"}

// Sizes are the sizing components under config/sizing, smallest first.
var Sizes = []string{"small", "medium", "large"}

// RepoRoot is the repository's root folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Render builds the kustomization in dir (relative to the repository's root) with the options
// `kubectl apply -k` uses.
func Render(dir string) ([]*unstructured.Unstructured, error) {
	return build(filepath.Join(RepoRoot(), dir), krusty.MakeDefaultOptions())
}

// RenderWithComponents builds an overlay of dir with the given components (each relative to the
// repository's root), as a user's kustomization that lists them would.
func RenderWithComponents(dir string, components ...string) ([]*unstructured.Unstructured, error) {
	tmp, err := os.MkdirTemp("", "isms-install-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	rel := func(p string) (string, error) { return filepath.Rel(tmp, filepath.Join(RepoRoot(), p)) }
	base, err := rel(dir)
	if err != nil {
		return nil, err
	}
	k := "resources:\n- " + base + "\ncomponents:\n"
	for _, c := range components {
		path, err := rel(c)
		if err != nil {
			return nil, err
		}
		k += "- " + path + "\n"
	}
	if err := os.WriteFile(filepath.Join(tmp, "kustomization.yaml"), []byte(k), 0o600); err != nil {
		return nil, err
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsNone // the overlay lives outside the repository
	return build(tmp, opts)
}

func build(dir string, opts *krusty.Options) ([]*unstructured.Unstructured, error) {
	resources, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range resources.Resources() {
		// Through JSON, so that numbers are int64 and float64, as unstructured expects.
		data, err := r.MarshalJSON()
		obj := &unstructured.Unstructured{}
		if err == nil {
			err = obj.UnmarshalJSON(data)
		}
		if err != nil {
			return nil, fmt.Errorf("rendering %s: %s: %w", dir, r.CurId(), err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// Objects indexes rendered objects by kind, namespace and name.
type Objects struct {
	All   []*unstructured.Unstructured
	byKey map[string]*unstructured.Unstructured
	// userSecrets are Secrets the user creates, in the Deployment's namespace (AssumeSecrets).
	userSecrets []string
}

// AssumeSecrets has Check take the named Secrets, in the Deployment's namespace, as provided:
// the user creates them before applying (UserSecrets).
func (o *Objects) AssumeSecrets(names ...string) *Objects {
	o.userSecrets = append(o.userSecrets, names...)
	return o
}

// Index indexes objs.
func Index(objs []*unstructured.Unstructured) *Objects {
	o := &Objects{All: objs, byKey: map[string]*unstructured.Unstructured{}}
	for _, obj := range objs {
		o.byKey[key(obj.GetKind(), obj.GetNamespace(), obj.GetName())] = obj
	}
	return o
}

// Get returns the object of that kind, namespace ("" for cluster-scoped kinds) and name.
func (o *Objects) Get(kind, namespace, name string) *unstructured.Unstructured {
	return o.byKey[key(kind, namespace, name)]
}

// OfKind returns the objects of a kind, in render order.
func (o *Objects) OfKind(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, obj := range o.All {
		if obj.GetKind() == kind {
			out = append(out, obj)
		}
	}
	return out
}

// Deployment returns the operator's one Deployment, or nil.
func (o *Objects) Deployment() *unstructured.Unstructured {
	if ds := o.OfKind("Deployment"); len(ds) == 1 {
		return ds[0]
	}
	return nil
}

func key(kind, namespace, name string) string {
	return strings.Join([]string{kind, namespace, name}, "/")
}
