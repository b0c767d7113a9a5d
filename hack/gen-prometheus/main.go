// Command gen-prometheus writes config/prometheus/servicemonitor.yaml and prometheusrule.yaml
// from internal/monitoring, whose tests fail when they are stale.
//
//	go run ./hack/gen-prometheus [-out config/prometheus]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/isms-operator/isms-operator/internal/monitoring"
)

func main() {
	out := flag.String("out", filepath.Join("config", "prometheus"), "the directory to write the manifests to")
	flag.Parse()
	files, err := monitoring.Files()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, name := range monitoring.FileNames(files) {
		path := filepath.Join(*out, name)
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("wrote", path)
	}
}
