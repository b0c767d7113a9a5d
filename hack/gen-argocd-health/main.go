// Command gen-argocd-health writes config/argocd/argocd-cm.yaml, the argocd-cm keys
// (resource.customizations.health.isms.dev_<Kind>) that install the Argo CD health scripts of
// config/argocd/resource_customizations. internal/argocdhealth's tests fail when it is stale.
//
//	go run ./hack/gen-argocd-health [-checks config/argocd/resource_customizations] [-out config/argocd/argocd-cm.yaml]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/isms-operator/isms-operator/internal/argocdhealth"
)

func main() {
	root := flag.String("checks", filepath.Join("config", "argocd", "resource_customizations"), "Argo CD resource customizations (<group>/<Kind>/health.lua)")
	out := flag.String("out", filepath.Join("config", "argocd", "argocd-cm.yaml"), "the argocd-cm snippet to write")
	flag.Parse()
	checks, err := argocdhealth.LoadChecks(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, argocdhealth.RenderConfigMap(checks), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d health checks to %s\n", len(checks), *out)
}
