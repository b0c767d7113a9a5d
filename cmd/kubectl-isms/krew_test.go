package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// krewManifest is what the test reads of deploy/krew/isms.yaml.
type krewManifest struct {
	Spec struct {
		Version   string `json:"version"`
		Platforms []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Bin    string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// The krew manifest names exactly the platforms `make dist` builds (DIST_PLATFORMS), each at
// the archive name hack/dist.sh gives it, with the placeholders hack/dist.sh fills in.
func TestKrewManifestMatchesTheDistTarget(t *testing.T) {
	root := filepath.Join("..", "..")
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^DIST_PLATFORMS := (.+)$`).FindSubmatch(makefile)
	if m == nil {
		t.Fatal("the Makefile has no DIST_PLATFORMS")
	}
	built := strings.Fields(string(m[1]))
	data, err := os.ReadFile(filepath.Join(root, "deploy", "krew", "isms.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest krewManifest
	if err := yaml.Unmarshal(data, &manifest); err != nil { // it has fields the test does not read
		t.Fatal(err)
	}
	if manifest.Spec.Version != "{{VERSION}}" {
		t.Errorf("spec.version %q, want the placeholder {{VERSION}}", manifest.Spec.Version)
	}
	var named []string
	for _, p := range manifest.Spec.Platforms {
		goos, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		named = append(named, goos+"/"+arch)
		wantURI := fmt.Sprintf("https://github.com/isms-operator/isms-operator/releases/download/{{VERSION}}/kubectl-isms_{{VERSION}}_%s_%s.tar.gz", goos, arch)
		if p.URI != wantURI || p.SHA256 != fmt.Sprintf("{{SHA256_%s_%s}}", goos, arch) || p.Bin != "kubectl-isms" {
			t.Errorf("%s/%s: uri %q, sha256 %q, bin %q; want %q, {{SHA256_%s_%s}}, kubectl-isms", goos, arch, p.URI, p.SHA256, p.Bin, wantURI, goos, arch)
		}
	}
	slices.Sort(named)
	slices.Sort(built)
	if !slices.Equal(named, built) {
		t.Errorf("the krew manifest names %v, make dist builds %v", named, built)
	}
	script, err := os.ReadFile(filepath.Join(root, "hack", "dist.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "archive=kubectl-isms_${version}_${os}_${arch}.tar.gz") {
		t.Error("hack/dist.sh no longer names the archives as the krew manifest's uris do")
	}
}
