package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidenceclient"
	"github.com/isms-operator/isms-operator/internal/report"
	"github.com/isms-operator/isms-operator/internal/report/gather"
)

// reportFormats are the -o values.
var reportFormats = map[string]func(io.Writer, report.Report) error{
	"md":    report.WriteMarkdown,
	"json":  report.WriteJSON,
	"html":  report.WriteHTML,
	"oscal": report.WriteOSCAL,
}

type reportOptions struct {
	evidence   evidenceOptions
	framework  string
	from, to   string
	output     string
	bundle     string
	files      []string
	library    bool
	overrides  []string
	outputFile string
}

func newReportCommand() *cobra.Command {
	o := &reportOptions{evidence: evidenceOptions{cluster: newClusterFlags()}}
	cmd := &cobra.Command{
		Use:   "report --framework NAME --from DATE --to DATE [-o md|json]",
		Short: "Write the audit report of a framework for a period, from the evidence ledger",
		Long: `Compute the audit report of a period from the evidence ledger: scope, criteria,
methodology with the coverage of the period and its gaps, Findings with their time to
remediate against their due dates, a proposed grading of each nonconformity (major, minor,
observation: --override changes one), compliance per requirement, weekly KPIs, exceptions
and accepted risks in force, follow-up actions and a conclusion. Every claim cites its ledger entries (index
and leaf hash) and the signed checkpoint they are in (docs/reports.md).

The ledger is read through the evidence endpoint as 'kubectl isms evidence' reads it: the
state at --from (with proofs) and the period's export bundle, both verified against --key
(else the endpoint's own key, with a warning). With --bundle FILE it is read offline from
an export ('kubectl isms evidence export'), verified against --key, which is then required;
export from before --from so that the states in force when the period began are known.

The Controls (their requirements, severity, owner and description) are read from the
cluster, or from -f files and the embedded --library. The accepted Risks in force during the
period are read from the cluster's risk register (not with -f or --library): Risks are not in
the ledger, so they show as they stand now. Due periods are the operator's defaults
(critical 7 days, high 30, medium 90, low 180); the manager's GET /evidence/report uses its
own (docs/reports.md).

--from is inclusive and --to exclusive; a --to given as a date includes that day.`,
		Example: `  kubectl isms report --framework iso27001-2022 --from 2026-01-01 --to 2026-12-31 -o md --key evidence.pub > audit-2026.md
  kubectl isms report --framework iso27001-2022 --from 2026-01-01 --to 2026-03-31 --bundle q1.tar --key evidence.pub --library -o json
  kubectl isms report ... --override A.8.9=minor:"compensating manual review" --override isms-lib-x/team-a/isms-lib-x=observation`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	o.evidence.addFlags(f)
	f.StringVar(&o.framework, "framework", "iso27001-2022", "Framework to report on (see 'kubectl isms frameworks').")
	f.StringVar(&o.from, "from", "", "Start of the period, inclusive (RFC 3339 or a date; required).")
	f.StringVar(&o.to, "to", "", "End of the period, exclusive; a date includes that day (required).")
	f.StringVarP(&o.output, "output", "o", "md", "Output format: md, json, html or oscal.")
	f.StringVar(&o.outputFile, "output-file", "", "Write the report to this file instead of stdout.")
	f.StringVar(&o.bundle, "bundle", "", "Compute offline from this export bundle (needs --key).")
	f.StringArrayVarP(&o.files, "filename", "f", nil, "Read the Controls from this file, directory or - (stdin) instead of the cluster; repeatable.")
	f.BoolVar(&o.library, "library", false, "Read the Controls of the embedded policy library (with those of -f), not the cluster's.")
	f.StringArrayVar(&o.overrides, "override", nil, "An auditor's grade: ID=major|minor|observation[:reason], ID a requirement or a Finding key; repeatable.")
	return cmd
}

func (o *reportOptions) run(cmd *cobra.Command) error {
	in, write, err := o.parse()
	if err != nil {
		return err
	}
	ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
	if err := o.readObjects(cmd, &in); err != nil {
		return err
	}
	r, err := o.compute(ctx, in, stderr)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if o.outputFile != "" {
		f, err := os.Create(o.outputFile)
		if err != nil {
			return usagef("--output-file: %v", err)
		}
		defer func() { _ = f.Close() }()
		out = f
	}
	return write(out, r)
}

// parse checks the flags and returns the report's input without the ledger, Controls and
// Risks; the manager's GET /evidence/report checks its query with the same gather.Input.
func (o *reportOptions) parse() (report.Input, func(io.Writer, report.Report) error, error) {
	write, ok := reportFormats[o.output]
	if !ok {
		return report.Input{}, nil, usagef("--output must be md, json, html or oscal; got %q", truncate(o.output, 40))
	}
	if o.bundle != "" && o.evidence.keyFile == "" {
		return report.Input{}, nil, usagef("--bundle needs --key: a bundle is verified against a key saved outside the cluster")
	}
	in, err := gather.Input(gather.Request{Framework: o.framework, From: o.from, To: o.to, Overrides: o.overrides, Prefix: "--"})
	if err != nil {
		return in, nil, usageError{err}
	}
	return in, write, nil
}

// readObjects adds the Controls and, from the cluster only, the accepted Risks: Risks are not
// in the ledger, and files carry no Risk status (the residual rating).
func (o *reportOptions) readObjects(cmd *cobra.Command, in *report.Input) error {
	fo := &frameworksOptions{files: o.files, library: o.library, cluster: o.evidence.cluster}
	controls, source, err := fo.readControls(cmd)
	if err != nil {
		return err
	}
	if source != "cluster" {
		gather.AddObjects(in, controls, nil, time.Time{})
		return nil
	}
	risks, readAt := o.readRisks(cmd)
	gather.AddObjects(in, controls, risks, readAt)
	gather.AddStatements(in, o.readStatements(cmd))
	return nil
}

// readStatements lists the cluster's Statements of Applicability, whose content gives the
// applicability of the version the ledger says was in force; a user who may not list them
// gets a warning, and applicability follows the Controls' mappings.
func (o *reportOptions) readStatements(cmd *cobra.Command) []ismsv1.StatementOfApplicability {
	var list ismsv1.StatementOfApplicabilityList
	c, err := o.evidence.cluster.client()
	if err == nil {
		err = c.List(cmd.Context(), &list)
	}
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: listing Statements of Applicability: %s; applicability follows the Controls' mappings\n", evidenceclient.Clean(err.Error(), 300))
		return nil
	}
	return list.Items
}

// readRisks lists the cluster's Risks and when; a user who may not list them gets a warning
// and a report that says the register was not read.
func (o *reportOptions) readRisks(cmd *cobra.Command) ([]ismsv1.Risk, time.Time) {
	var risks ismsv1.RiskList
	readAt := time.Now().UTC()
	c, err := o.evidence.cluster.client()
	if err == nil {
		err = c.List(cmd.Context(), &risks)
	}
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: listing Risks: %s; the report lists no accepted risks\n", evidenceclient.Clean(err.Error(), 300))
		return nil, time.Time{}
	}
	return risks.Items, readAt
}

// compute reads the ledger, from the bundle or the endpoint, and computes the report.
func (o *reportOptions) compute(ctx context.Context, in report.Input, stderr io.Writer) (report.Report, error) {
	if o.bundle != "" {
		key, err := readKeyFile(o.evidence.keyFile)
		if err != nil {
			return report.Report{}, err
		}
		f, err := os.Open(o.bundle)
		if err != nil {
			return report.Report{}, usagef("--bundle: %v", err)
		}
		defer func() { _ = f.Close() }()
		return reportResult(gather.FromBundle(in, f, key))
	}
	c, closeConn, err := o.evidence.connect(ctx, stderr)
	if err != nil {
		return report.Report{}, err
	}
	defer closeConn()
	key, err := o.evidence.trustedKey(ctx, c, stderr)
	if err != nil {
		return report.Report{}, err
	}
	return reportResult(gather.FromLedger(ctx, in, gather.ClientSource(c, maxBundleBytes), key))
}

// reportResult gives a failed verification exit code 1 and explains the endpoint's refusals.
func reportResult(r report.Report, err error) (report.Report, error) {
	var ve *gather.VerificationError
	if errors.As(err, &ve) {
		return r, verifyFailed(err)
	}
	if err != nil {
		return r, explain(err)
	}
	return r, nil
}
