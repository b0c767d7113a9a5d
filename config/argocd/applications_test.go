package argocd_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The fields of Argo CD's Application and ApplicationSet (argoproj.io/v1alpha1) that the
// examples use, with Argo CD's JSON names. Decoding strictly into them fails on a misspelt or
// misplaced field, which Argo CD's CRD would prune or refuse.
type (
	objectMeta struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace,omitempty"`
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	application struct {
		APIVersion string          `json:"apiVersion"`
		Kind       string          `json:"kind"`
		Metadata   objectMeta      `json:"metadata"`
		Spec       applicationSpec `json:"spec"`
	}
	applicationSpec struct {
		Project           string             `json:"project"`
		Source            applicationSource  `json:"source"`
		Destination       destination        `json:"destination"`
		SyncPolicy        syncPolicy         `json:"syncPolicy"`
		IgnoreDifferences []ignoreDifference `json:"ignoreDifferences,omitempty"`
	}
	applicationSource struct {
		RepoURL        string `json:"repoURL"`
		TargetRevision string `json:"targetRevision"`
		Path           string `json:"path"`
	}
	destination struct {
		Server    string `json:"server"`
		Namespace string `json:"namespace"`
	}
	syncPolicy struct {
		Automated *struct {
			Prune    bool `json:"prune"`
			SelfHeal bool `json:"selfHeal"`
		} `json:"automated,omitempty"`
		SyncOptions []string `json:"syncOptions,omitempty"`
		Retry       *struct {
			Limit   int64 `json:"limit"`
			Backoff struct {
				Duration    string `json:"duration"`
				Factor      int64  `json:"factor"`
				MaxDuration string `json:"maxDuration"`
			} `json:"backoff"`
		} `json:"retry,omitempty"`
	}
	ignoreDifference struct {
		Group             string   `json:"group"`
		Kind              string   `json:"kind"`
		JQPathExpressions []string `json:"jqPathExpressions,omitempty"`
		JSONPointers      []string `json:"jsonPointers,omitempty"`
	}
	applicationSet struct {
		APIVersion string     `json:"apiVersion"`
		Kind       string     `json:"kind"`
		Metadata   objectMeta `json:"metadata"`
		Spec       struct {
			GoTemplate        bool     `json:"goTemplate"`
			GoTemplateOptions []string `json:"goTemplateOptions"`
			Generators        []struct {
				Clusters *struct {
					Selector metav1.LabelSelector `json:"selector"`
					Values   map[string]string    `json:"values,omitempty"`
				} `json:"clusters"`
			} `json:"generators"`
			Template struct {
				Metadata objectMeta      `json:"metadata"`
				Spec     applicationSpec `json:"spec"`
			} `json:"template"`
			SyncPolicy struct {
				PreserveResourcesOnDeletion bool `json:"preserveResourcesOnDeletion"`
			} `json:"syncPolicy"`
		} `json:"spec"`
	}
)

// applicationSyncOptions are the Application-level sync options Argo CD documents (those the
// examples may use).
var applicationSyncOptions = []string{"RespectIgnoreDifferences=true", "SkipDryRunOnMissingResource=true",
	"ServerSideApply=true", "CreateNamespace=true", "PruneLast=true", "ApplyOutOfSyncOnly=true"}

// checkApplicationSpec checks what an Application (or an ApplicationSet's template, once
// rendered) says: a source in this repository that renders, and known sync options.
func checkApplicationSpec(t *testing.T, where string, spec applicationSpec) {
	t.Helper()
	if spec.Project == "" || spec.Destination.Server == "" || spec.Destination.Namespace == "" {
		t.Errorf("%s: project, destination.server and destination.namespace must be set", where)
	}
	if spec.Source.RepoURL != thisRepo || spec.Source.TargetRevision == "" {
		t.Errorf("%s: source %+v, want %s at a revision", where, spec.Source, thisRepo)
	}
	render(t, filepath.Join(repoRoot, spec.Source.Path))
	for _, opt := range spec.SyncPolicy.SyncOptions {
		if !slices.Contains(applicationSyncOptions, opt) {
			t.Errorf("%s: sync option %q is not one of %v", where, opt, applicationSyncOptions)
		}
	}
	for _, d := range spec.IgnoreDifferences {
		if d.Kind == "" || len(d.JQPathExpressions)+len(d.JSONPointers) == 0 {
			t.Errorf("%s: ignoreDifferences %+v names no kind or no field", where, d)
		}
	}
}

func readStrict(t *testing.T, path string, into any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	decodeStrict(t, data, into)
}

func TestApplications(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("applications", "isms-*.yaml"))
	if len(paths) != 2 {
		t.Fatalf("found %v, want the operator's and the Controls' Applications", paths)
	}
	waves := map[string]int{}
	for _, path := range paths {
		var app application
		readStrict(t, path, &app)
		if app.APIVersion != "argoproj.io/v1alpha1" || app.Kind != "Application" {
			t.Errorf("%s: %s %s, want an argoproj.io/v1alpha1 Application", path, app.APIVersion, app.Kind)
		}
		checkApplicationSpec(t, path, app.Spec)
		waves[app.Metadata.Name] = wave(t, app.Metadata.Annotations)
	}
	if waves["isms-operator"] >= waves["isms-controls"] {
		t.Errorf("waves %v: the operator's Application must come before the Controls'", waves)
	}
	render(t, "applications")
}

// TestApplicationSets renders each ApplicationSet's template for a cluster as Argo CD does
// (Go templates, missingkey=error) and checks the Application it makes.
func TestApplicationSets(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("applicationsets", "*.yaml"))
	if len(paths) != 2 {
		t.Fatalf("found %v, want the operator's and the Controls' ApplicationSets", paths)
	}
	for _, path := range paths {
		var set applicationSet
		readStrict(t, path, &set)
		if set.Kind != "ApplicationSet" || !set.Spec.GoTemplate || len(set.Spec.Generators) != 1 || set.Spec.Generators[0].Clusters == nil {
			t.Fatalf("%s: want an ApplicationSet with goTemplate and one cluster generator", path)
		}
		gen := set.Spec.Generators[0].Clusters
		cluster := map[string]any{"name": "prod-eu-1", "nameNormalized": "prod-eu-1", "server": "https://prod-eu-1.example:6443",
			"metadata": map[string]any{"labels": selectedLabels(gen.Selector), "annotations": map[string]string{}}, "values": gen.Values}
		data, err := yaml.Marshal(set.Spec.Template)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := template.New(path).Option(set.Spec.GoTemplateOptions...).Parse(string(data))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var out bytes.Buffer
		if err := tmpl.Execute(&out, cluster); err != nil {
			t.Fatalf("%s: rendering the template for a cluster: %v", path, err)
		}
		var app struct {
			Metadata objectMeta      `json:"metadata"`
			Spec     applicationSpec `json:"spec"`
		}
		decodeStrict(t, out.Bytes(), &app)
		if !strings.HasSuffix(app.Metadata.Name, "-prod-eu-1") || app.Spec.Destination.Server != cluster["server"] {
			t.Errorf("%s: the Application for a cluster is %s on %s, want it named after the cluster and sent to it", path, app.Metadata.Name, app.Spec.Destination.Server)
		}
		checkApplicationSpec(t, path, app.Spec)
	}
}

// selectedLabels are labels a cluster that the selector selects carries.
func selectedLabels(sel metav1.LabelSelector) map[string]string {
	labels := map[string]string{}
	for k, v := range sel.MatchLabels {
		labels[k] = v
	}
	for _, e := range sel.MatchExpressions {
		labels[e.Key] = "baseline"
		if len(e.Values) > 0 {
			labels[e.Key] = e.Values[0]
		}
	}
	return labels
}
