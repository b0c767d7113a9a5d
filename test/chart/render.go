// Package chart renders the Helm chart charts/isms-operator through Helm's own install action
// (helm.sh/helm/v3, client-only, as `helm template` and `helm install --dry-run` do: the values
// checked against values.schema.json, the templates rendered, the CRDs taken from crds/). Its
// tests compare the render with the kustomize render of config/ (package test/install), so the
// chart cannot drift from config/default, and apply it to an API server.
package chart

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/strvals"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/isms-operator/isms-operator/test/install"
)

// Dir is the chart's folder, relative to the repository's root.
const Dir = "charts/isms-operator"

// Release is the release name and namespace the tests install as, those of the docs'
// `helm install isms-operator charts/isms-operator -n isms-system`.
const (
	ReleaseName = "isms-operator"
	Namespace   = "isms-system"
)

// Rendered is what `helm install` would create: the objects of templates/ and, first, the
// CRDs of crds/ (which Helm installs as they are, unrendered, and never upgrades or deletes).
type Rendered struct {
	Chart     *chart.Chart
	Templates []*unstructured.Unstructured
	CRDs      []*unstructured.Unstructured
	Notes     string
}

// All is the CRDs followed by the templates' objects.
func (r *Rendered) All() []*unstructured.Unstructured {
	return append(slices.Clone(r.CRDs), r.Templates...)
}

// Load loads the chart from the repository.
func Load() (*chart.Chart, error) {
	return loader.Load(filepath.Join(install.RepoRoot(), Dir))
}

// Render installs the chart client-only into namespace with values given as `helm install
// --set` takes them ("webhook.certMode=cert-manager"). An error is Helm's, e.g. the schema's.
func Render(namespace string, set ...string) (*Rendered, error) {
	ch, err := Load()
	if err != nil {
		return nil, err
	}
	values := map[string]any{}
	for _, s := range set {
		if err := strvals.ParseInto(s, values); err != nil {
			return nil, fmt.Errorf("--set %s: %w", s, err)
		}
	}
	inst := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	inst.DryRun, inst.ClientOnly, inst.Replace = true, true, true
	inst.ReleaseName, inst.Namespace = ReleaseName, namespace
	rel, err := inst.Run(ch, values)
	if err != nil {
		return nil, err
	}
	templates, err := parseManifests(rel.Manifest)
	if err != nil {
		return nil, err
	}
	r := &Rendered{Chart: ch, Templates: templates, Notes: rel.Info.Notes}
	for _, crd := range ch.CRDObjects() {
		objs, err := parseManifests(string(crd.File.Data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", crd.Filename, err)
		}
		r.CRDs = append(r.CRDs, objs...)
	}
	return r, nil
}

// parseManifests parses a stream of YAML documents, skipping empty ones (a template whose
// condition is false). Through JSON, so that numbers are int64 and float64, as the kustomize
// render has them.
func parseManifests(stream string) ([]*unstructured.Unstructured, error) {
	docs := releaseutil.SplitManifests(stream)
	// SplitManifests keys the documents manifest-0, manifest-1...: keep their order.
	var objs []*unstructured.Unstructured
	for i := range len(docs) {
		doc := docs[fmt.Sprintf("manifest-%d", i)]
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		data, err := yaml.YAMLToJSON([]byte(doc))
		obj := &unstructured.Unstructured{}
		if err == nil {
			err = obj.UnmarshalJSON(data)
		}
		if err != nil {
			return nil, fmt.Errorf("parsing %.200q: %w", doc, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}
