package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/library"
	"github.com/isms-operator/isms-operator/internal/offline"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/policies"
)

// EvalReport is the output of `eval -o json|yaml` (schema documented in docs/cli.md).
type EvalReport struct {
	APIVersion string `json:"apiVersion"` // isms.dev/v1alpha1
	Kind       string `json:"kind"`       // EvaluationReport
	// FailOn is the --fail-on threshold and Failed whether it was breached (exit code 1).
	FailOn string `json:"failOn"`
	Failed bool   `json:"failed"`
	// Summary counts the controls by result: Pass, Fail, Error, NotApplicable.
	Summary map[ismsv1.ControlResult]int `json:"summary"`
	offline.Report
}

type evalOptions struct {
	files            []string
	kustomizations   []string
	library          bool
	output           string
	failOn           string
	defaultNamespace string
	clusterNamespace string
	timeout          time.Duration
}

func newEvalCommand() *cobra.Command {
	o := &evalOptions{}
	cmd := &cobra.Command{
		Use:   "eval -f PATH|-k DIR [-f PATH ...] [-k DIR ...]",
		Short: "Evaluate Controls against local manifests, with no cluster",
		Long: `Evaluate Controls against manifests as the operator would on a cluster holding the
same objects, with no cluster: for CI, before the manifests are applied.

Every -f names a file, a directory (read recursively: *.yaml, *.yml, *.json) or - for
standard input. Files hold YAML documents separated by ---, or JSON; a List's items are
read one by one. Objects of apiVersion isms.dev/v1alpha1 and kind Control are the Controls
evaluated, those of kind Policy the Policies their spec.policy.ref may name, those of kind
ControlException the exceptions that exempt failing subjects (while active, at the time of
the run, as in the operator); every other object is a manifest. --library adds the Policies and Controls of the embedded policy library
(config/library); a Control or Policy of the same name in the files replaces it.

As in the operator, the policies read data.inventory holding the objects of the kinds the
Controls list in spec.inventory, and targets.namespaceSelector matches the labels of the
Namespaces among the manifests. Namespaced objects without a
namespace are put in --default-namespace, as kubectl apply does.

Every -k names the directory of a kustomization, rendered as kubectl apply -k renders it
(files under the directory only, no plugins, no Helm charts) so that a GitOps repository
is checked as it will be applied; its objects are read as those of -f. Remote resources
(URLs, git repositories) are refused, not fetched. The bounds of -f hold for all inputs
together: each file up to 32 MiB, 256 MiB in all, 100000 objects.

The exit code is 1 when a control whose severity is at or above --fail-on fails, or cannot be
evaluated (result Error); 2 on usage or input errors.`,
		Example: `  # Evaluate the Controls of controls/ against the manifests of manifests/
  kubectl isms eval -f controls/ -f manifests/

  # The policy library against rendered Helm templates, failing on medium and above
  helm template my-app ./chart | kubectl isms eval --library -f - --fail-on=medium

  # A GitOps overlay as it will be applied, with the Controls of controls/
  kubectl isms eval -f controls/ -k overlays/production

  # Machine-readable results
  kubectl isms eval --library -f manifests/ -o json

  # Failing manifests in a code-scanning UI, or as failed tests of a CI run
  kubectl isms eval --library -f manifests/ -o sarif > isms.sarif
  kubectl isms eval --library -f manifests/ -o junit > isms-junit.xml`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "filename", "f", nil, "File, directory (recursive) or - (stdin) holding Controls and manifests; repeatable.")
	f.StringArrayVarP(&o.kustomizations, "kustomize", "k", nil, "Directory of a kustomization to render, as kubectl apply -k does, and evaluate; repeatable.")
	f.BoolVar(&o.library, "library", false, "Also evaluate every policy of the embedded library as a Control.")
	f.StringVarP(&o.output, "output", "o", "table", "Output format: table, json, yaml, sarif (SARIF 2.1.0, for code scanning) or junit (JUnit XML, for CI test reports).")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "yaml", "sarif", "junit"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.MarkFlagDirname("kustomize")
	f.StringVar(&o.failOn, "fail-on", "high", "Exit 1 when a control of this severity or above fails: critical, high, medium, low, info or none.")
	f.StringVar(&o.defaultNamespace, "default-namespace", "default", "Namespace of namespaced objects that name none.")
	f.StringVar(&o.clusterNamespace, "operator-namespace", offline.DefaultClusterNamespace, "The operator's namespace, where findings about cluster-scoped objects are filed.")
	f.DurationVar(&o.timeout, "evaluation-timeout", policy.DefaultTimeout, "Deadline of one policy evaluation of one object, as the operator's --evaluation-timeout.")
	return cmd
}

func (o *evalOptions) run(cmd *cobra.Command) error {
	threshold, err := o.check()
	if err != nil {
		return err
	}
	in, err := loadWithKustomizations(o.files, o.kustomizations, cmd.InOrStdin())
	if err != nil {
		return err
	}
	controls, pols, err := o.withLibrary(in)
	if err != nil {
		return err
	}
	warnControlMappings(cmd.ErrOrStderr(), controls, in.controlSource)
	if len(controls) == 0 {
		return usagef("no Control to evaluate: the inputs hold no object of apiVersion %s and kind Control, and --library is not set", ismsv1.GroupVersion)
	}
	report, err := offline.EvaluateObjects(cmd.Context(), controls, in.objects, offline.Options{
		ClusterNamespace: o.clusterNamespace,
		DefaultNamespace: o.defaultNamespace,
		Policy:           policy.Options{Timeout: o.timeout},
		Policies:         pols,
		Exceptions:       in.exceptions,
	})
	if err != nil {
		return usageError{err} // an object that cannot be converted
	}
	breaches := report.Breaches(threshold)
	origin := func(s offline.FailingSubject) (location, bool) { return in.origin(s, o.defaultNamespace) }
	if err := writeEvalReport(cmd.OutOrStdout(), o.output, newEvalReport(report, threshold, len(breaches) > 0), origin); err != nil {
		return err
	}
	if len(breaches) > 0 {
		names := make([]string, len(breaches))
		for i, c := range breaches {
			names[i] = fmt.Sprintf("%s (%s, %s)", c.Name, c.Severity, c.Result)
		}
		return failedError{fmt.Sprintf("FAIL: %d control(s) at or above --fail-on=%s: %s", len(breaches), threshold, strings.Join(names, ", "))}
	}
	return nil
}

// check validates the flags and returns the --fail-on threshold.
func (o *evalOptions) check() (offline.Threshold, error) {
	threshold, err := offline.ParseThreshold(o.failOn)
	if err != nil {
		return "", usageError{err}
	}
	switch o.output {
	case "table", "json", "yaml", "sarif", "junit":
	default:
		return "", usagef("--output must be table, json, yaml, sarif or junit; got %q", o.output)
	}
	if len(o.files) == 0 && len(o.kustomizations) == 0 {
		return "", usagef("no input: give manifests with -f FILE, -f DIR, -f - (stdin) or -k DIR (a kustomization)")
	}
	return threshold, nil
}

// withLibrary returns the Controls and Policies of the inputs, with, for --library, those of
// the embedded library that the inputs do not replace.
func (o *evalOptions) withLibrary(in *input) ([]ismsv1.Control, []ismsv1.Policy, error) {
	controls, pols := in.controls, in.policies
	if !o.library {
		return controls, pols, nil
	}
	lib, err := policies.LoadFS(policies.FS)
	if err != nil {
		return nil, nil, fmt.Errorf("loading the embedded library: %w", err)
	}
	libControls, libPolicies, err := library.Controls(lib, library.DefaultOwner)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range libControls {
		if _, overridden := in.controlSource[c.Name]; !overridden {
			controls = append(controls, c)
		}
	}
	for _, p := range libPolicies {
		if _, overridden := in.policySource[p.Name]; !overridden {
			pols = append(pols, p)
		}
	}
	return controls, pols, nil
}

func newEvalReport(report offline.Report, threshold offline.Threshold, failed bool) EvalReport {
	out := EvalReport{
		APIVersion: ismsv1.GroupVersion.String(),
		Kind:       "EvaluationReport",
		FailOn:     string(threshold),
		Failed:     failed,
		Summary:    map[ismsv1.ControlResult]int{ismsv1.ResultPass: 0, ismsv1.ResultFail: 0, ismsv1.ResultError: 0, ismsv1.ResultNotApplicable: 0},
		Report:     report,
	}
	for _, c := range report.Controls {
		out.Summary[c.Result]++
	}
	return out
}

// writeEvalReport writes the report as a table, JSON, YAML, SARIF or JUnit XML; origin tells
// SARIF and JUnit the manifest each failing subject came from.
func writeEvalReport(w io.Writer, output string, out EvalReport, origin originFunc) error {
	switch output {
	case "sarif":
		return writeSARIF(w, out, origin)
	case "junit":
		return writeJUnit(w, out, origin)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case "yaml":
		js, err := json.Marshal(out)
		if err != nil {
			return err
		}
		y, err := yaml.JSONToYAML(js)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	default:
		printEvalTable(w, out)
		return nil
	}
}

// printEvalTable writes the results table, the failing subjects and the controls in error.
func printEvalTable(w io.Writer, r EvalReport) {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTROL\tID\tSEVERITY\tRESULT\tFAILING\tEVALUATED")
	for _, c := range r.Controls {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", c.Name, c.ID, c.Severity, c.Result, c.Failing, c.Evaluated)
	}
	_ = tw.Flush()

	for _, c := range r.Controls {
		switch c.Result {
		case ismsv1.ResultFail:
			fmt.Fprintf(w, "\n%s (%s, %s) fails: %s\n", c.Name, c.ID, c.Severity, c.Message)
			for _, ns := range c.Namespaces {
				for _, s := range ns.Subjects {
					fmt.Fprintf(w, "  %s %s\n", s.Kind, qualified(s.Namespace, s.Name))
					for _, m := range s.Messages {
						fmt.Fprintf(w, "    - %s\n", m)
					}
				}
			}
		case ismsv1.ResultError:
			fmt.Fprintf(w, "\n%s (%s, %s) cannot be evaluated (%s):\n  %s\n", c.Name, c.ID, c.Severity, c.Reason,
				strings.ReplaceAll(strings.TrimSpace(c.Message), "\n", "\n  "))
		}
		printExcepted(w, c)
	}
	fmt.Fprintf(w, "\n%d control(s): %d Fail, %d Error, %d Pass, %d NotApplicable; %d object(s) evaluated or read, %d of other kinds ignored.\n",
		len(r.Controls), r.Summary[ismsv1.ResultFail], r.Summary[ismsv1.ResultError], r.Summary[ismsv1.ResultPass],
		r.Summary[ismsv1.ResultNotApplicable], r.Objects, r.Ignored)
}

// printExcepted lists the failing subjects of a control that ControlExceptions exempt.
func printExcepted(w io.Writer, c offline.ControlResult) {
	if c.Excepted == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s (%s): %d failing subject(s) excepted:\n", c.Name, c.ID, c.Excepted)
	for _, ns := range c.Namespaces {
		for _, s := range ns.Excepted {
			fmt.Fprintf(w, "  %s %s (ControlException %s)\n", s.Kind, qualified(s.Namespace, s.Name), s.Exception)
		}
	}
}

func offlineSeverity(s ismsv1.Severity) int { return offline.SeverityRank(s) }
