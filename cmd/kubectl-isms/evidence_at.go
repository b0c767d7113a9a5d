package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidenceclient"
)

// maxFindingsShown is how many open Findings per control the table lists (-o json has all).
const maxFindingsShown = 5

type evidenceAtOptions struct {
	*evidenceOptions
	output string
}

func newEvidenceAtCommand(eo *evidenceOptions) *cobra.Command {
	o := &evidenceAtOptions{evidenceOptions: eo}
	cmd := &cobra.Command{
		Use:   "at TIME",
		Short: "Print every control's result at an instant, with verified proofs",
		Long: `Print the result of every control at an instant: Pass, Fail, Error, or NotEvaluated
with the reason (no state recorded yet, no heartbeat since, the operator stopped or
restarted since), the failing, excepted and errored counts, and the open Findings.

Each answer comes with the ledger leaves it rests on and their inclusion proofs to one
signed checkpoint. Before printing, the proofs are verified against the verifier key
(--key, else the endpoint's own, with a warning), and each answer is checked to say what
its leaves say. A failed check exits 1 and prints nothing else.

TIME is RFC 3339 or a date (midnight UTC).`,
		Example: `  kubectl isms evidence at 2026-03-14T09:00:00Z --key evidence.pub
  kubectl isms evidence at 2026-03-14 -o json > state-2026-03-14.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("%q takes exactly one argument, the instant (RFC 3339 or a date)", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "Output format: table or json (the answer with its proofs, to re-verify).")
	return cmd
}

func (o *evidenceAtOptions) run(cmd *cobra.Command, arg string) error {
	if o.output != "table" && o.output != "json" {
		return usagef("--output must be table or json; got %q", truncate(o.output, 40))
	}
	t, err := parseTime("TIME", arg)
	if err != nil {
		return err
	}
	ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
	if o.keyFile != "" {
		if _, err := readKeyFile(o.keyFile); err != nil {
			return err
		}
	}
	c, closeConn, err := o.connect(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeConn()
	snap, err := c.At(ctx, t)
	if err != nil {
		return explain(err)
	}
	key, err := o.trustedKey(ctx, c, stderr)
	if err != nil {
		return err
	}
	cp, err := evidenceclient.VerifyAt(snap, key, t)
	if err != nil {
		return verifyFailed(err)
	}
	verified := fmt.Sprintf("proofs verified against checkpoint %d signed by %s", cp.Size, cp.Origin)
	w := cmd.OutOrStdout()
	if o.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(snap); err != nil {
			return err
		}
		fmt.Fprintln(stderr, verified)
		return nil
	}
	printSnapshot(w, snap)
	fmt.Fprintln(w, verified)
	return nil
}

// printSnapshot writes the table of every control's answer and its open Findings.
func printSnapshot(w io.Writer, s evidence.Snapshot) {
	fmt.Fprintf(w, "State at %s\n", s.At.UTC().Format("2006-01-02T15:04:05.000Z"))
	for _, p := range s.SoAs {
		d := p.Leaf.SoA
		fmt.Fprintf(w, "Statement of Applicability in force: %s version %s (%s), approved by %s at %s, digest %s, leaf %d\n",
			evidenceclient.Clean(d.Name, 100), evidenceclient.Clean(d.Version, 40), evidenceclient.Clean(d.Framework, 64),
			evidenceclient.Clean(d.DecidedBy, 100), d.DecidedAt, shortDigest(d.Digest), p.Index)
	}
	if len(s.Controls) == 0 {
		fmt.Fprintln(w, "No control has evidence recorded.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTROL\tRESULT\tFAILING\tEXCEPTED\tERRORED\tFINDINGS\tDIGEST\tGEN\tREASON")
	for _, c := range s.Controls {
		gen := "-"
		if c.Generation != 0 {
			gen = fmt.Sprint(c.Generation)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", evidenceclient.Clean(c.Control, 100), c.Result,
			c.Counts.Failing, c.Counts.Excepted, c.Counts.Errored, len(c.OpenFindings), shortDigest(c.Digest), gen,
			evidenceclient.Clean(orDash(c.Reason), 120))
	}
	_ = tw.Flush()
	for _, c := range s.Controls {
		if len(c.OpenFindings) == 0 {
			continue
		}
		names := head(c.OpenFindings, maxFindingsShown)
		line := evidenceclient.Clean(strings.Join(names, ", "), 400)
		if len(c.OpenFindings) > len(names) {
			line += fmt.Sprintf(" ... and %d more (-o json lists all)", len(c.OpenFindings)-len(names))
		}
		fmt.Fprintf(w, "Open findings of %s: %s\n", evidenceclient.Clean(c.Control, 100), line)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
