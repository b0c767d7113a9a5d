// Command kubectl-isms is the isms-operator's kubectl plugin (`kubectl isms`):
//
//	kubectl isms test [DIR]                       run the policy library's Rego unit tests and examples
//	kubectl isms eval -f controls/ -f manifests/  evaluate Controls against manifests, with no cluster
//	kubectl isms status                           one-screen summary of a cluster's controls, findings and risks
//	kubectl isms evidence log|at|export|verify|key query, export and verify the evidence ledger
//	kubectl isms frameworks [NAME] [--coverage]   the framework catalogs, and how Controls cover them
//	kubectl isms attest CONTROL --artifact FILE   submit an Attestation of an attested control
//	kubectl isms attestations                     what is due, overdue and awaiting approval
//	kubectl isms assets [-n NS]                   the asset register: owners, classification, failing controls
//	kubectl isms soa [NAME] [-o table|md|html|csv|json]  the Statement of Applicability, live
//	kubectl isms version [--client]               the plugin's version and the operator's in the cluster
//	kubectl isms completion bash|zsh|fish|powershell  shell completion (cobra's)
//
// Exit codes: 0 success; 1 a test failed, a control fails at or above --fail-on, the cluster
// could not be read, or evidence does not verify; 2 usage or input errors; 3 an internal error
// (a bug: a panic is recovered and reported). See docs/cli.md.
//
// Install with `make install-plugin` or `go install ./cmd/kubectl-isms`; kubectl finds any
// executable named kubectl-isms on the PATH.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/isms-operator/isms-operator/internal/policy"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitInternal = 3
	programName  = "kubectl isms"
	// maxErrorLen bounds an error printed to the terminal: errors may quote policy messages
	// and input that people wrote.
	maxErrorLen = 4096
)

// usageError is a mistake in the command line or the input files: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// failedError reports a failure the output already explained (failing tests or controls): exit
// code 1, with nothing more printed.
type failedError struct{ msg string }

func (e failedError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code. A panic is a bug, not bad
// input: it is reported with exit code 3, so that CI tells the two apart.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "internal error: %s\nThis is a bug in %s: please report it with the command line.\n",
				policy.Truncate(fmt.Sprint(r), maxErrorLen), programName)
			code = exitInternal
		}
	}()
	root := newRootCommand(stdin, stdout, stderr)
	root.SetArgs(args)
	return exitCode(root.ExecuteContext(ctx), stderr)
}

// exitCode prints err, bounded, and returns the exit code it calls for.
func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	var fe failedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &fe):
		if fe.msg != "" {
			fmt.Fprintln(stderr, fe.msg)
		}
		return exitFailed
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "error: %s\nRun '%s --help' for usage.\n", policy.Truncate(err.Error(), maxErrorLen), programName)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "error: %s\n", policy.Truncate(err.Error(), maxErrorLen))
		return exitFailed
	}
}

func newRootCommand(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl-isms",
		Short: "Test, evaluate and report on ISO/IEC 27001 controls of the isms-operator",
		Long: `kubectl isms works with the isms-operator's Controls:

  test          run the Rego unit tests and the examples of a policy library
  eval          evaluate Controls against local manifests, with no cluster (for CI)
  status        summarize a cluster's controls, open findings and risks out of appetite
  evidence      query, export and verify the operator's evidence ledger
  frameworks    list the framework catalogs, and how Controls cover them (--coverage)
  attest        submit an Attestation of an attested control, with its evidence files' digests
  attestations  list the attested controls due, overdue or awaiting approval
  report        write the audit report of a framework for a period, from the evidence ledger
  assets        list the Namespaces and workloads with owner, classification and failing controls
  soa           print the Statement of Applicability from its live status (table, md, html, csv, json)
  version       print the plugin's version and the operator's running in the cluster
  completion    print the shell completion script (bash, zsh, fish, powershell)

Exit codes: 0 success; 1 failing tests or controls (eval: at or above --fail-on), or
the cluster could not be read, or evidence does not verify; 2 usage or input errors;
3 an internal error (a bug, reported as such).`,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: programName},
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("a subcommand is required: test, eval, status, evidence, frameworks, attest, attestations, report, assets, soa, version or completion")
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	// cobra adds its completion command: "kubectl isms completion bash|zsh|fish|powershell".
	root.AddCommand(newTestCommand(), newEvalCommand(), newStatusCommand(), newEvidenceCommand(), newFrameworksCommand(),
		newAttestCommand(), newAttestationsCommand(), newReportCommand(), newAssetsCommand(), newSoACommand(), newVersionCommand())
	for _, c := range root.Commands() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	}
	return root
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return nil
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usagef("%q accepts at most %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}
