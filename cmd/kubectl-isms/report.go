package main

import (
	"context"
	"errors"
	"io"
	"iter"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidenceclient"
	"github.com/isms-operator/isms-operator/internal/finding"
	"github.com/isms-operator/isms-operator/internal/frameworks"
	"github.com/isms-operator/isms-operator/internal/report"
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
in force, follow-up actions and a conclusion. Every claim cites its ledger entries (index
and leaf hash) and the signed checkpoint they are in (docs/reports.md).

The ledger is read through the evidence endpoint as 'kubectl isms evidence' reads it: the
state at --from (with proofs) and the period's export bundle, both verified against --key
(else the endpoint's own key, with a warning). With --bundle FILE it is read offline from
an export ('kubectl isms evidence export'), verified against --key, which is then required;
export from before --from so that the states in force when the period began are known.

The Controls (their requirements, severity, owner and description) are read from the
cluster, or from -f files and the embedded --library. Due periods are the operator's
defaults (critical 7 days, high 30, medium 90, low 180).

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
	controls, _, err := (&frameworksOptions{files: o.files, library: o.library, cluster: o.evidence.cluster}).readControls(cmd)
	if err != nil {
		return err
	}
	in.Controls = report.ControlsOf(o.framework, controls)
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

// parse checks the flags and returns the report's input without the ledger and Controls.
func (o *reportOptions) parse() (report.Input, func(io.Writer, report.Report) error, error) {
	var in report.Input
	write, ok := reportFormats[o.output]
	if !ok {
		return in, nil, usagef("--output must be md, json, html or oscal; got %q", truncate(o.output, 40))
	}
	catalog, found := frameworks.Default().Lookup(o.framework)
	if !found {
		return in, nil, usagef("--framework %q has no catalog; known: %s", truncate(o.framework, 63), strings.Join(frameworks.Default().Names(), ", "))
	}
	period, err := parsePeriod(o.from, o.to)
	if err != nil {
		return in, nil, err
	}
	if o.bundle != "" && o.evidence.keyFile == "" {
		return in, nil, usagef("--bundle needs --key: a bundle is verified against a key saved outside the cluster")
	}
	overrides, err := parseOverrides(o.overrides)
	if err != nil {
		return in, nil, err
	}
	due := map[string]time.Duration{}
	for sev, d := range finding.DefaultWorkflow().DuePeriods {
		due[string(sev)] = d
	}
	in = report.Input{Catalog: catalog, Period: period, DuePeriods: due, Overrides: overrides}
	return in, write, nil
}

// parsePeriod reads --from and --to; a date-only --to includes its day.
func parsePeriod(fromFlag, toFlag string) (report.Period, error) {
	if fromFlag == "" || toFlag == "" {
		return report.Period{}, usagef("--from and --to are required")
	}
	from, err := parseTime("--from", fromFlag)
	if err != nil {
		return report.Period{}, err
	}
	to, err := parseTime("--to", toFlag)
	if err != nil {
		return report.Period{}, err
	}
	if _, dateErr := time.Parse(time.DateOnly, toFlag); dateErr == nil {
		to = to.AddDate(0, 0, 1)
	}
	if !from.Before(to) {
		return report.Period{}, usagef("--from must be before --to")
	}
	if to.Sub(from) > report.MaxPeriod {
		return report.Period{}, usagef("the period is longer than %d days", int(report.MaxPeriod.Hours()/24))
	}
	return report.Period{From: from, To: to}, nil
}

// parseOverrides reads --override ID=grade[:reason].
func parseOverrides(flags []string) (map[string]report.Override, error) {
	out := map[string]report.Override{}
	for _, f := range flags {
		id, rest, ok := strings.Cut(f, "=")
		grade, reason, _ := strings.Cut(rest, ":")
		o := report.Override{Severity: report.Severity(grade), Reason: truncate(reason, 256)}
		if !ok || id == "" || !report.ValidSeverity(o.Severity) {
			return nil, usagef("--override %q: want ID=major|minor|observation[:reason]", truncate(f, 80))
		}
		out[id] = o
	}
	return out, nil
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
		return computeFromBundle(in, f, key)
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
	start, err := c.At(ctx, in.Period.From)
	if err != nil {
		return report.Report{}, explain(err)
	}
	if _, err := evidenceclient.VerifyAt(start, key, in.Period.From); err != nil {
		return report.Report{}, verifyFailed(err)
	}
	in.Start = &start
	return computeFromExport(ctx, in, c, key)
}

// computeFromExport streams the period's bundle from the endpoint into the computation.
func computeFromExport(ctx context.Context, in report.Input, c *evidenceclient.Client, key string) (report.Report, error) {
	pr, pw := io.Pipe()
	go func() {
		_, err := c.Export(ctx, pw, in.Period.From, in.Period.To, maxBundleBytes)
		pw.CloseWithError(err)
	}()
	defer func() { _ = pr.Close() }()
	r, err := computeFromBundle(in, pr, key)
	if err != nil {
		return r, explain(err)
	}
	return r, nil
}

// errStopped ends a bundle read that the computation no longer wants.
var errStopped = errors.New("stopped")

// computeFromBundle verifies the bundle as it streams its entries into the computation; the
// report cites the bundle's end checkpoint.
func computeFromBundle(in report.Input, r io.Reader, key string) (report.Report, error) {
	var sum evidence.BundleSummary
	in.Entries = bundleEntries(r, key, &sum)
	rep, err := report.Compute(in)
	if err != nil {
		var ve *evidence.VerifyError
		if errors.As(err, &ve) {
			return rep, verifyFailed(err)
		}
		return rep, err
	}
	rep.Checkpoint = report.Checkpoint{Size: sum.End.Size, Root: sum.End.Root, Text: string(sum.EndNote)}
	rep.Scope.Origin = sum.Manifest.Origin
	return rep, nil
}

func bundleEntries(r io.Reader, key string, sum *evidence.BundleSummary) iter.Seq2[evidence.Entry, error] {
	return func(yield func(evidence.Entry, error) bool) {
		s, err := evidence.ReadBundle(r, key, evidence.DefaultLimits, func(e evidence.Entry) error {
			if !yield(e, nil) {
				return errStopped
			}
			return nil
		})
		*sum = s
		if err != nil && !errors.Is(err, errStopped) {
			yield(evidence.Entry{}, err)
		}
	}
}
