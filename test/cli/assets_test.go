package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// assetsReport is the documented JSON of `assets -o json` (docs/assets.md), decoded strictly.
type assetsReport struct {
	Labels struct {
		Owner          string   `json:"owner"`
		Classification string   `json:"classification"`
		Levels         []string `json:"levels"`
	} `json:"labels"`
	Total        int `json:"total"`
	Unowned      int `json:"unowned"`
	Unclassified int `json:"unclassified"`
	Assets       []struct {
		APIVersion              string   `json:"apiVersion"`
		Kind                    string   `json:"kind"`
		Namespace               string   `json:"namespace"`
		Name                    string   `json:"name"`
		Owner                   string   `json:"owner"`
		OwnerInherited          bool     `json:"ownerInherited"`
		Classification          string   `json:"classification"`
		ClassificationInherited bool     `json:"classificationInherited"`
		Unowned                 bool     `json:"unowned"`
		Unclassified            bool     `json:"unclassified"`
		Controls                []string `json:"controls"`
		FailingControls         []string `json:"failingControls"`
		OpenFindings            []string `json:"openFindings"`
		UnlistedFindings        []string `json:"unlistedFindings"`
	} `json:"assets"`
	InvalidControls []string `json:"invalidControls"`
	Warnings        []string `json:"warnings"`
}

func decodeAssets(t *testing.T, out string) assetsReport {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var r assetsReport
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decoding assets -o json: %v\n%s", err, out)
	}
	return r
}

// checkAssets runs `kubectl isms assets` against the settled cluster: every failing subject of
// an asset kind that the open Findings list must show as a failing Control of that asset, and
// nothing else; the fixtures' unowned namespace and workload must come first.
func checkAssets(t *testing.T, env *envtest.Environment, findings map[string][]ismsv1.Finding) {
	kubeconfig := writeKubeconfig(t, env, "asset-owner")
	r := kubectlISMS(t, "", "assets", "--kubeconfig", kubeconfig, "-o", "json")
	r.expectCode(t, 0)
	report := decodeAssets(t, r.stdout)
	if report.Labels.Owner != "isms.dev/owner" || report.Labels.Classification != "isms.dev/data-classification" {
		t.Errorf("labels %+v, want the library's", report.Labels)
	}

	want := map[string][]string{} // "Kind ns/name" -> failing Controls, from the Findings
	for control, fs := range findings {
		for _, f := range fs {
			for _, s := range f.Status.Subjects {
				ref := s.Kind + " " + f.Namespace + "/" + s.Name
				if s.Kind == "Namespace" {
					ref = "Namespace /" + s.Name
				}
				if !slices.Contains(want[ref], control) {
					want[ref] = append(want[ref], control)
				}
			}
		}
	}
	byRef := map[string]int{}
	for i, a := range report.Assets {
		ref := a.Kind + " " + a.Namespace + "/" + a.Name
		byRef[ref] = i
		expected := want[ref]
		slices.Sort(expected)
		if !slices.Equal(a.FailingControls, expected) && (len(expected) > 0 || len(a.FailingControls) > 0) {
			t.Errorf("%s: failing %v, the Findings say %v", ref, a.FailingControls, expected)
		}
		for _, c := range a.FailingControls {
			if !slices.Contains(a.Controls, c) {
				t.Errorf("%s fails %s, which does not evaluate it (%v)", ref, c, a.Controls)
			}
		}
	}
	for ref := range want {
		if _, listed := byRef[ref]; !listed && isAssetRef(ref) {
			t.Errorf("%s fails a Control and is not in the register", ref)
		}
	}
	for _, ref := range []string{"Namespace /sandbox", "Deployment sandbox/toy", "Deployment payments/api", "Namespace /payments"} {
		if _, ok := byRef[ref]; !ok {
			t.Fatalf("%s is not in the register:\n%s", ref, r.stdout)
		}
	}
	toy, api := report.Assets[byRef["Deployment sandbox/toy"]], report.Assets[byRef["Deployment payments/api"]]
	if !toy.Unowned || !report.Assets[byRef["Namespace /sandbox"]].Unowned || api.Unowned || api.Owner != "payments-team" || api.OwnerInherited {
		t.Errorf("owners: toy %+v, api %+v", toy, api)
	}
	if !slices.Contains(api.Controls, "isms-lib-workload-owner-labels") || !slices.Contains(toy.FailingControls, "isms-lib-workload-owner-labels") {
		t.Errorf("workload-owner-labels: on api %v, failing toy %v", api.Controls, toy.FailingControls)
	}
	needs := func(i int) bool { return report.Assets[i].Unowned || report.Assets[i].Unclassified }
	for i := 1; i < len(report.Assets); i++ {
		if needs(i) && !needs(i-1) {
			t.Errorf("%s needs an owner or a classification and comes after %s", report.Assets[i].Name, report.Assets[i-1].Name)
		}
	}

	r = kubectlISMS(t, "", "assets", "--kubeconfig", kubeconfig, "-n", "sandbox", "-o", "json")
	r.expectCode(t, 0)
	for _, a := range decodeAssets(t, r.stdout).Assets {
		if a.Namespace != "sandbox" && (a.Kind != "Namespace" || a.Name != "sandbox") {
			t.Errorf("-n sandbox lists %s %s/%s", a.Kind, a.Namespace, a.Name)
		}
	}
	r = kubectlISMS(t, "", "assets", "--kubeconfig", kubeconfig)
	r.expectCode(t, 0)
	if !strings.HasPrefix(r.stdout, "Assets: ") || !strings.Contains(r.stdout, "KIND ") || !strings.Contains(r.stdout, "toy") {
		t.Errorf("table output:\n%s", r.stdout)
	}
}

func isAssetRef(ref string) bool {
	kind, _, _ := strings.Cut(ref, " ")
	return slices.Contains([]string{"Namespace", "Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"}, kind)
}

// writeKubeconfig adds a user in system:masters to envtest and writes its kubeconfig.
func writeKubeconfig(t *testing.T, env *envtest.Environment, name string) string {
	t.Helper()
	user, err := env.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
