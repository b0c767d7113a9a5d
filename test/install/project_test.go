package install

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// project is the part of kubebuilder's PROJECT file this test reads.
type project struct {
	Resources []struct {
		Kind     string `json:"kind"`
		Group    string `json:"group"`
		Version  string `json:"version"`
		Webhooks *struct {
			Validation bool `json:"validation"`
			Defaulting bool `json:"defaulting"`
		} `json:"webhooks"`
	} `json:"resources"`
}

// TestProjectListsEveryKind: kubebuilder's PROJECT names every kind of the API group and the
// kinds with validating webhooks, so that `kubebuilder create ...` and other tools that read it
// see the project as it is.
func TestProjectListsEveryKind(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "PROJECT"))
	if err != nil {
		t.Fatal(err)
	}
	var p project
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	var listed, validated, defaulted []string
	for _, r := range p.Resources {
		if r.Group+".dev" == ismsv1.GroupVersion.Group && r.Version == ismsv1.GroupVersion.Version {
			listed = append(listed, r.Kind)
			if r.Webhooks != nil && r.Webhooks.Validation {
				validated = append(validated, r.Kind)
			}
			if r.Webhooks != nil && r.Webhooks.Defaulting {
				defaulted = append(defaulted, r.Kind)
			}
		}
	}
	if want := apiKinds(t); !slices.Equal(sorted(listed), want) {
		t.Errorf("PROJECT lists the kinds %v, api/v1alpha1 has %v", sorted(listed), want)
	}
	if want := webhookKinds(t, "ValidatingWebhookConfiguration"); !slices.Equal(sorted(validated), want) {
		t.Errorf("PROJECT lists validating webhooks for %v, config/webhook has them for %v", sorted(validated), want)
	}
	if want := webhookKinds(t, "MutatingWebhookConfiguration"); !slices.Equal(sorted(defaulted), want) {
		t.Errorf("PROJECT lists defaulting (mutating) webhooks for %v, config/webhook has them for %v", sorted(defaulted), want)
	}
}

func apiKinds(t *testing.T) []string {
	s := runtime.NewScheme()
	if err := ismsv1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	ours := reflect.TypeFor[ismsv1.Control]().PkgPath() // not metav1's options and events
	var kinds []string
	for kind, typ := range s.KnownTypes(ismsv1.GroupVersion) {
		if typ.PkgPath() == ours && !strings.HasSuffix(kind, "List") {
			kinds = append(kinds, kind)
		}
	}
	return sorted(kinds)
}

// webhookKinds are the kinds the webhook configurations of kind configKind in
// config/webhook/manifests.yaml (generated from the webhook markers) admit.
func webhookKinds(t *testing.T, configKind string) []string {
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "config", "webhook", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, doc := range strings.Split(strings.TrimPrefix(string(data), "---\n"), "\n---\n") {
		// Both configuration kinds have the same webhooks[].rules[].resources.
		var cfg struct {
			Kind     string                          `json:"kind"`
			Webhooks []admissionv1.ValidatingWebhook `json:"webhooks"`
		}
		if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.Kind != configKind {
			continue
		}
		for _, wh := range cfg.Webhooks {
			for _, rule := range wh.Rules {
				for _, res := range rule.Resources {
					kinds = append(kinds, kindOf(t, res))
				}
			}
		}
	}
	return sorted(kinds)
}

// kindOf maps a resource of the group to its kind: its plural is the lower-case kind with "s"
// (controls, findings, controlexceptions, risks, policies).
func kindOf(t *testing.T, resource string) string {
	for _, kind := range apiKinds(t) {
		plural := strings.ToLower(kind) + "s"
		if strings.HasSuffix(kind, "y") {
			plural = strings.ToLower(kind[:len(kind)-1]) + "ies"
		}
		if plural == resource {
			return kind
		}
	}
	t.Fatalf("config/webhook validates %q, which is no kind of %s", resource, ismsv1.GroupVersion)
	return ""
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
