package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidenceclient"
)

// maxBundleBytes bounds a downloaded bundle to what VerifyBundle would accept at its default
// limits: every leaf at its largest with its hash, and the small members.
var maxBundleBytes = int64(evidence.DefaultLimits.MaxLeaves)*(32+evidence.MaxLeafBytes+1) + 8*evidence.DefaultLimits.MaxMemberBytes

type evidenceExportOptions struct {
	*evidenceOptions
	from, to string
	file     string
}

func newEvidenceExportCommand(eo *evidenceOptions) *cobra.Command {
	o := &evidenceExportOptions{evidenceOptions: eo}
	cmd := &cobra.Command{
		Use:   "export [--from T] [--to T] -o BUNDLE.tar",
		Short: "Export the ledger of a period as a bundle that verifies offline",
		Long: `Write the ledger's leaves recorded in [--from, --to) to a tar bundle with the signed
checkpoints around them and the hashes that tie them together, so that
'kubectl isms evidence verify BUNDLE.tar --key FILE' checks it with no cluster. The bundle
is verified against the verifier key (--key, else the endpoint's own, with a warning)
before it is kept: it is written to BUNDLE.tar.partial and renamed when it verifies.`,
		Example: `  kubectl isms evidence export --from 2026-01-01 --to 2026-04-01 -o evidence-2026-q1.tar --key evidence.pub`,
		Args:    maxArgs(0),
		RunE:    func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "", "Start of the period, inclusive (RFC 3339 or a date; default: the oldest kept leaf).")
	f.StringVar(&o.to, "to", "", "End of the period, exclusive (RFC 3339 or a date; default: now).")
	f.StringVarP(&o.file, "output", "o", "", "File to write the bundle to (required).")
	return cmd
}

func (o *evidenceExportOptions) run(cmd *cobra.Command) error {
	if o.file == "" {
		return usagef("--output (-o) is required: the file to write the bundle to")
	}
	from, err := parseTime("--from", o.from)
	if err != nil {
		return err
	}
	to, err := parseTime("--to", o.to)
	if err != nil {
		return err
	}
	if !to.IsZero() && !from.Before(to) {
		return usagef("--from must be before --to")
	}
	if o.keyFile != "" {
		if _, err := readKeyFile(o.keyFile); err != nil {
			return err
		}
	}
	ctx, stderr := cmd.Context(), cmd.ErrOrStderr()
	c, closeConn, err := o.connect(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeConn()
	key, err := o.trustedKey(ctx, c, stderr)
	if err != nil {
		return err
	}
	sum, size, err := o.download(ctx, c, key, from, to)
	if err != nil {
		return err
	}
	m := sum.Manifest
	fmt.Fprintf(cmd.OutOrStdout(), "Exported %d entries (leaves [%d, %d) of %s) to %s, %d bytes; verified against checkpoint %d signed by %s\n",
		sum.Entries, m.First, m.End, evidenceclient.Clean(m.Origin, 100), o.file, size, m.EndSize, evidenceclient.Clean(m.Origin, 100))
	return nil
}

// download writes the bundle to a .partial file, verifies it and renames it into place; a
// bundle that does not verify is removed.
func (o *evidenceExportOptions) download(ctx context.Context, c *evidenceclient.Client, key string, from, to time.Time) (evidence.BundleSummary, int64, error) {
	var sum evidence.BundleSummary
	partial := o.file + ".partial"
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return sum, 0, usagef("--output: %v", err)
	}
	keep := false
	defer func() {
		_ = f.Close()
		if !keep {
			_ = os.Remove(partial)
		}
	}()
	size, err := c.Export(ctx, f, from, to, maxBundleBytes)
	if err != nil {
		return sum, size, explain(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return sum, size, err
	}
	if sum, err = evidence.VerifyBundle(f, key, evidence.DefaultLimits); err != nil {
		return sum, size, verifyFailed(err)
	}
	if err := f.Sync(); err != nil {
		return sum, size, err
	}
	if err := os.Rename(partial, o.file); err != nil {
		return sum, size, err
	}
	keep = true
	return sum, size, nil
}

type evidenceVerifyOptions struct {
	*evidenceOptions
	saved []string
}

func newEvidenceVerifyCommand(eo *evidenceOptions) *cobra.Command {
	o := &evidenceVerifyOptions{evidenceOptions: eo}
	cmd := &cobra.Command{
		Use:   "verify [BUNDLE.tar] [--key FILE]",
		Short: "Verify a bundle offline, or ask the operator to verify its whole log",
		Long: `With a bundle, verify it offline against the verifier key of --key (required): both
checkpoints are signed by the key and consistent, the leaf hashes make the signed root, and
every entry is the leaf of its hash, in order. A modified, removed or reordered entry, a
truncated log or a checkpoint not signed by the key fails, naming the first bad index.

Without a bundle, ask the operator to verify its whole live log (every leaf, the stored
tree, every kept checkpoint), then check the head's checkpoint against the key and each
--checkpoint file (checkpoints saved outside the cluster, e.g. from the ConfigMap
isms-evidence) against the head by a consistency proof: a saved checkpoint the log no
longer extends means history was rewritten.

Exit codes: 0 verified; 1 verification failed or the endpoint could not be read; 2 usage
or input errors (a missing --key, an unreadable file).`,
		Example: `  kubectl isms evidence verify evidence-2026-q1.tar --key evidence.pub
  kubectl isms evidence verify --key evidence.pub --checkpoint saved/2026-03-01.txt --checkpoint saved/2026-04-01.txt`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return o.verifyBundle(cmd, args[0])
			}
			return o.verifyLive(cmd)
		},
	}
	cmd.Flags().StringArrayVar(&o.saved, "checkpoint", nil, "A signed checkpoint saved outside the cluster, which the live log must extend; repeatable.")
	return cmd
}

func (o *evidenceVerifyOptions) verifyBundle(cmd *cobra.Command, path string) error {
	if len(o.saved) > 0 {
		return usagef("--checkpoint applies to the live log: run verify without a bundle")
	}
	key, err := o.trustedKey(cmd.Context(), nil, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return usagef("reading the bundle: %v", err)
	}
	defer func() { _ = f.Close() }()
	sum, err := evidence.VerifyBundle(f, key, evidence.DefaultLimits)
	if err != nil {
		return verifyFailed(err)
	}
	m := sum.Manifest
	origin := evidenceclient.Clean(m.Origin, 100)
	fmt.Fprintf(cmd.OutOrStdout(), "Bundle verified: %d entries, leaves [%d, %d) of %s recorded in [%s, %s); checkpoints %d and %d signed by %s\n",
		sum.Entries, m.First, m.End, origin, evidenceclient.FormatTime(m.From), evidenceclient.FormatTime(m.To), m.StartSize, m.EndSize, origin)
	return nil
}
