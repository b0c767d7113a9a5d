package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/isms-operator/isms-operator/internal/library"
	"github.com/isms-operator/isms-operator/policies"
)

// TestReport is the output of `test -o json`.
type TestReport struct {
	// Library is the directory tested, or "embedded".
	Library string `json:"library"`
	Passed  int    `json:"passed"`
	Failed  int    `json:"failed"`
	Skipped int    `json:"skipped"`
	library.Results
}

type testOptions struct {
	run    string
	output string
	quiet  bool
}

func newTestCommand() *cobra.Command {
	o := &testOptions{}
	cmd := &cobra.Command{
		Use:   "test [DIR]",
		Short: "Run the Rego unit tests and the examples of a policy library",
		Long: `Run the checks of a policy library, like opa test and more: for every policy,
policy.rego must compile through the operator's engine (with its sandbox: no http.send,
net.*, opa.runtime, trace or print), its test_* rules must pass under OPA's test runner,
and every example must get the verdict its directory promises (examples/allowed: no
violation, examples/disallowed: at least one) when evaluated as the operator evaluates.

DIR is a library in the layout of policies/ (see policies/README.md); without it, the
library embedded in this binary is tested. Exit code 1 when anything fails.`,
		Example: `  # The embedded library
  kubectl isms test

  # Your own library, only the policies whose name matches
  kubectl isms test ./policies --run 'no-host-.*'`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.runTests(cmd, args) },
	}
	f := cmd.Flags()
	f.StringVar(&o.run, "run", "", "Only test the policies whose directory name matches this regular expression.")
	f.StringVarP(&o.output, "output", "o", "text", "Output format: text or json.")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Print only what fails and the summary.")
	return cmd
}

func (o *testOptions) runTests(cmd *cobra.Command, args []string) error {
	if o.output != "text" && o.output != "json" {
		return usagef("--output must be text or json; got %q", o.output)
	}
	var filter *regexp.Regexp
	if o.run != "" {
		var err error
		if filter, err = regexp.Compile(o.run); err != nil {
			return usagef("--run: %v", err)
		}
	}
	name := "embedded"
	var lib []policies.Policy
	var err error
	if len(args) == 1 {
		name = args[0]
		if info, statErr := os.Stat(name); statErr != nil || !info.IsDir() {
			return usagef("%s is not a directory", name)
		}
		lib, err = policies.Load(name)
	} else {
		lib, err = policies.LoadFS(policies.FS)
	}
	if err != nil {
		return usageError{err}
	}
	if filter != nil {
		kept := lib[:0]
		for _, p := range lib {
			if filter.MatchString(p.Name) {
				kept = append(kept, p)
			}
		}
		lib = kept
	}
	if len(lib) == 0 {
		return usagef("no policy to test in %s", name)
	}

	warnLibraryMappings(cmd.ErrOrStderr(), lib)
	res := library.RunTests(cmd.Context(), lib)
	if err := cmd.Context().Err(); err != nil {
		return err
	}
	passed, failed, skipped := res.Counts()
	w := cmd.OutOrStdout()
	if o.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(TestReport{Library: name, Passed: passed, Failed: failed, Skipped: skipped, Results: res}); err != nil {
			return err
		}
	} else {
		printTestResults(w, res, o.quiet)
		verdict := "PASS"
		if res.Failed() {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "%s: %d policies, %d passed, %d failed, %d skipped\n", verdict, len(res.Policies), passed, failed, skipped)
	}
	if res.Failed() {
		return failedError{}
	}
	return nil
}

// printTestResults writes one line per check: STATUS, policy, what was checked, and under a
// failure what went wrong.
func printTestResults(w io.Writer, res library.Results, quiet bool) {
	width := 0
	for _, p := range res.Policies {
		width = max(width, len(p.Name))
	}
	line := func(status, policy, what, detail string) {
		if quiet && (status == "PASS" || status == "SKIP") {
			return
		}
		fmt.Fprintf(w, "%-5s  %-*s  %s\n", status, width, policy, what)
		if detail != "" {
			fmt.Fprintf(w, "       %s\n", strings.ReplaceAll(strings.TrimSpace(detail), "\n", "\n       "))
		}
	}
	for _, p := range res.Policies {
		if p.CompileError != "" {
			line("FAIL", p.Name, "compile", p.CompileError)
			continue
		}
		line("PASS", p.Name, "compile", "")
		for _, e := range p.Errors {
			line("ERROR", p.Name, "tests", e)
		}
		for _, t := range p.Tests {
			switch {
			case t.Skip:
				line("SKIP", p.Name, "test "+t.Name, "")
			case t.Error != "":
				line("ERROR", p.Name, "test "+t.Name, t.Location+": "+t.Error)
			case !t.Pass:
				line("FAIL", p.Name, "test "+t.Name, t.Location)
			default:
				line("PASS", p.Name, "test "+t.Name, "")
			}
		}
		for _, ex := range p.Examples {
			if ex.Pass {
				line("PASS", p.Name, "example "+ex.Name(), "")
				continue
			}
			detail := ex.Path + ": " + ex.Problem
			for _, v := range ex.Violations {
				detail += "\n- " + v
			}
			line("FAIL", p.Name, "example "+ex.Name(), detail)
		}
	}
}
