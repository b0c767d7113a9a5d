package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/frameworks"
	"github.com/isms-operator/isms-operator/policies"
)

// FrameworkList is the output of `frameworks -o json|yaml`: the catalogs the binary ships.
type FrameworkList struct {
	APIVersion string             `json:"apiVersion"` // isms.dev/v1alpha1
	Kind       string             `json:"kind"`       // FrameworkList
	Items      []FrameworkSummary `json:"items"`
}

// FrameworkSummary is one catalog, counted.
type FrameworkSummary struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	// Complete is false when the catalog lists only the requirements the policy library maps to.
	Complete     bool `json:"complete"`
	Groups       int  `json:"groups"`
	Requirements int  `json:"requirements"`
}

// FrameworkCatalog is the output of `frameworks NAME -o json|yaml`: the catalog itself.
type FrameworkCatalog struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"` // FrameworkCatalog
	*frameworks.Catalog
}

// FrameworkCoverageReport is the output of `frameworks [NAME] --coverage -o json|yaml`.
type FrameworkCoverageReport struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"` // FrameworkCoverage
	// Source is where the Controls were read: cluster, files (-f), embedded library (--library)
	// or files and embedded library.
	Source     string                `json:"source"`
	Controls   int                   `json:"controls"`
	Frameworks []frameworks.Coverage `json:"frameworks"`
}

type frameworksOptions struct {
	coverage   bool
	files      []string
	library    bool
	output     string
	kubeconfig string
	context    string
}

func newFrameworksCommand() *cobra.Command {
	o := &frameworksOptions{}
	cmd := &cobra.Command{
		Use:   "frameworks [NAME] [--coverage [-f PATH ...] [--library]]",
		Short: "List the framework catalogs, and how Controls cover them",
		Long: `List the framework catalogs this binary ships (ISO/IEC 27001:2022 Annex A, SOC 2, the
NIST SP 800-53 rev. 5 controls and CIS Kubernetes Benchmark sections the policy library maps
to), or, with NAME, the requirements of one: id, theme or family, and a short title.

--coverage counts, per theme or family, the requirements that at least one Control maps to
(automated), that only an attested control does (attested: none exist yet, so always 0),
and those nothing maps to, and lists the uncovered ids and the mapped ids the catalog
lacks. The Controls are read from the cluster of the current kubeconfig context, or, with -f
or --library, from files as eval reads them (no cluster needed).`,
		Example: `  kubectl isms frameworks
  kubectl isms frameworks iso27001-2022
  kubectl isms frameworks iso27001-2022 --coverage
  kubectl isms frameworks iso27001-2022 --coverage -f config/library -o json
  kubectl isms frameworks --coverage --library`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.coverage, "coverage", false, "Count the requirements covered by Controls.")
	f.StringArrayVarP(&o.files, "filename", "f", nil, "With --coverage: read the Controls from this file, directory (recursive) or - (stdin) instead of the cluster; repeatable.")
	f.BoolVar(&o.library, "library", false, "With --coverage: count the Controls of the embedded policy library (with those of -f), not the cluster's.")
	f.StringVarP(&o.output, "output", "o", "table", "Output format: table, json or yaml.")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config).")
	f.StringVar(&o.context, "context", "", "The kubeconfig context to use.")
	return cmd
}

func (o *frameworksOptions) run(cmd *cobra.Command, args []string) error {
	if o.output != "table" && o.output != "json" && o.output != "yaml" {
		return usagef("--output must be table, json or yaml; got %q", o.output)
	}
	if !o.coverage && (len(o.files) > 0 || o.library) {
		return usagef("-f and --library name the Controls of --coverage: add --coverage")
	}
	set := frameworks.Default()
	catalogs := set.Catalogs()
	if len(args) == 1 {
		cat, ok := set.Lookup(args[0])
		if !ok {
			return usagef("no catalog for framework %q: the catalogs are %s", args[0], strings.Join(set.Names(), ", "))
		}
		catalogs = []*frameworks.Catalog{cat}
	}
	w := cmd.OutOrStdout()
	switch {
	case o.coverage:
		return o.runCoverage(cmd, catalogs)
	case len(args) == 1:
		if o.output != "table" {
			return writeStructured(w, o.output, FrameworkCatalog{APIVersion: ismsv1.GroupVersion.String(), Kind: "FrameworkCatalog", Catalog: catalogs[0]})
		}
		printCatalog(w, catalogs[0])
		return nil
	default:
		list := frameworkList(catalogs)
		if o.output != "table" {
			return writeStructured(w, o.output, list)
		}
		printFrameworkList(w, list)
		return nil
	}
}

func (o *frameworksOptions) runCoverage(cmd *cobra.Command, catalogs []*frameworks.Catalog) error {
	controls, source, err := o.readControls(cmd)
	if err != nil {
		return err
	}
	report := newCoverageReport(catalogs, controls, source)
	w := cmd.OutOrStdout()
	switch {
	case o.output != "table":
		return writeStructured(w, o.output, report)
	case len(catalogs) == 1:
		printCoverage(w, report, report.Frameworks[0])
	default:
		printCoverageSummary(w, report)
	}
	return nil
}

// newCoverageReport computes the coverage of each catalog by the Controls.
func newCoverageReport(catalogs []*frameworks.Catalog, controls []ismsv1.Control, source string) FrameworkCoverageReport {
	report := FrameworkCoverageReport{APIVersion: ismsv1.GroupVersion.String(), Kind: "FrameworkCoverage",
		Source: source, Controls: len(controls), Frameworks: make([]frameworks.Coverage, len(catalogs))}
	sources := frameworks.ControlSources(controls)
	for i, cat := range catalogs {
		report.Frameworks[i] = frameworks.ComputeCoverage(cat, sources)
	}
	return report
}

// readControls reads the Controls from the files and the embedded library when -f or
// --library is given, else from the cluster.
func (o *frameworksOptions) readControls(cmd *cobra.Command) ([]ismsv1.Control, string, error) {
	if len(o.files) > 0 || o.library {
		in, err := load(o.files, cmd.InOrStdin())
		if err != nil {
			return nil, "", err
		}
		controls, _, err := (&evalOptions{library: o.library}).withLibrary(in)
		return controls, o.fileSource(), err
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.context}).ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cfg.UserAgent = "kubectl-isms/" + rest.DefaultKubernetesUserAgent()
	scheme := runtime.NewScheme()
	if err := ismsv1.AddToScheme(scheme); err != nil {
		return nil, "", err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, "", fmt.Errorf("connecting to the cluster: %w", err)
	}
	controls, err := listControls(cmd.Context(), c)
	return controls, "cluster", err
}

func (o *frameworksOptions) fileSource() string {
	switch {
	case o.library && len(o.files) > 0:
		return "files and embedded library"
	case o.library:
		return "embedded library"
	default:
		return "files"
	}
}

func listControls(ctx context.Context, c client.Reader) ([]ismsv1.Control, error) {
	var list ismsv1.ControlList
	if err := c.List(ctx, &list); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("the cluster does not serve %s Controls: is the isms-operator installed? (%w)", ismsv1.GroupVersion, err)
		}
		return nil, fmt.Errorf("listing Controls: %w", err)
	}
	return list.Items, nil
}

func frameworkList(catalogs []*frameworks.Catalog) FrameworkList {
	list := FrameworkList{APIVersion: ismsv1.GroupVersion.String(), Kind: "FrameworkList", Items: []FrameworkSummary{}}
	for _, c := range catalogs {
		list.Items = append(list.Items, FrameworkSummary{Name: c.Name, Title: c.Title, Complete: c.Complete(),
			Groups: len(c.Groups), Requirements: len(c.Requirements)})
	}
	return list
}

// writeStructured writes v as indented JSON or as YAML.
func writeStructured(w io.Writer, format string, v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if js, err = yaml.JSONToYAML(js); err != nil {
			return err
		}
		_, err = w.Write(js)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", js)
	return err
}

// maxMappingWarnings bounds the framework mapping warnings one run of eval or test prints.
const maxMappingWarnings = 50

// mappingWarner prints, on standard error, the framework mappings the catalogs cannot
// confirm (frameworks.Check): a typo in a requirement id would otherwise drop a control from
// the framework's coverage without a word. They are warnings: the exit code is unchanged.
type mappingWarner struct {
	w       io.Writer
	printed int
	more    int
}

func (m *mappingWarner) warn(where string, problems []frameworks.Problem) {
	for _, p := range problems {
		if m.printed == maxMappingWarnings {
			m.more++
			continue
		}
		m.printed++
		fmt.Fprintf(m.w, "warning: %s: %s\n", where, p)
	}
}

func (m *mappingWarner) done() {
	if m.more > 0 {
		fmt.Fprintf(m.w, "warning: %d more framework mapping problem(s) not shown\n", m.more)
	}
}

// warnControlMappings checks the spec.frameworks of the Controls eval evaluates; sources
// says which file each came from (the others are the embedded library's).
func warnControlMappings(w io.Writer, controls []ismsv1.Control, sources map[string]string) {
	m := &mappingWarner{w: w}
	for _, c := range controls {
		where, ok := sources[c.Name]
		if !ok {
			where = "embedded library"
		}
		m.warn(fmt.Sprintf("%s: Control %s", where, c.Name), frameworks.Check(c.Spec.Frameworks))
	}
	m.done()
}

// warnLibraryMappings checks the frameworks of the metadata of a policy library.
func warnLibraryMappings(w io.Writer, lib []policies.Policy) {
	m := &mappingWarner{w: w}
	base := field.NewPath("frameworks")
	for _, p := range lib {
		m.warn(path.Join(filepath.ToSlash(p.Dir), policies.MetadataFile), frameworks.Default().Check(base, p.Metadata.Frameworks))
	}
	m.done()
}
