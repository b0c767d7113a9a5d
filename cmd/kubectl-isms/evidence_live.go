package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidenceclient"
)

// maxSavedCheckpoints bounds the --checkpoint files of one run (one proof request each).
const maxSavedCheckpoints = 1000

func (o *evidenceVerifyOptions) verifyLive(cmd *cobra.Command) error {
	saved, err := o.readSaved()
	if err != nil {
		return err
	}
	ctx, stderr, w := cmd.Context(), cmd.ErrOrStderr(), cmd.OutOrStdout()
	c, closeConn, err := o.connect(ctx, stderr)
	if err != nil {
		return err
	}
	defer closeConn()
	key, err := o.trustedKey(ctx, c, stderr)
	if err != nil {
		return err
	}
	v, _ := evidenceclient.ParseKey(key) // trustedKey parsed it
	report, err := c.Verify(ctx)
	if err != nil {
		return explain(err)
	}
	if !report.Verified {
		return failedError{"verification failed: the operator reports " + evidenceclient.Clean(report.Error, 600)}
	}
	if report.Checkpoint != "" {
		if _, err := evidence.OpenCheckpoint([]byte(report.Checkpoint), v); err != nil {
			return verifyFailed(fmt.Errorf("the verified head's checkpoint is not signed by the key: %w", err))
		}
	}
	fmt.Fprintf(w, "The operator verified its whole log: %d leaves (%d pruned, verified by their kept hashes), %d kept checkpoints recomputed\n",
		report.Size, report.Pruned, report.Checkpoints)
	head, err := c.CheckSaved(ctx, v, saved)
	if err != nil {
		return verifyFailed(explain(err))
	}
	fmt.Fprintf(w, "Head checkpoint %d signed by %s", head.Size, head.Origin)
	if len(saved) > 0 {
		fmt.Fprintf(w, "; it extends the %d saved checkpoint(s)", len(saved))
	}
	fmt.Fprintln(w)
	return nil
}

// readSaved reads the --checkpoint files, by file name.
func (o *evidenceVerifyOptions) readSaved() (map[string][]byte, error) {
	if len(o.saved) > maxSavedCheckpoints {
		return nil, usagef("--checkpoint: at most %d files", maxSavedCheckpoints)
	}
	saved := map[string][]byte{}
	for _, path := range o.saved {
		data, err := readSmallFile(path)
		if err != nil {
			return nil, usagef("--checkpoint: %v", err)
		}
		saved[path] = data
	}
	return saved, nil
}

func newEvidenceKeyCommand(eo *evidenceOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "key",
		Short: "Print the ledger's verifier key, to save outside the cluster",
		Long: `Print the verifier key of the operator's ledger (the public half of its signing key).
Save it outside the cluster once, where a cluster admin cannot change it, and pass it to the
other commands with --key: a key fetched later from the endpoint proves only that the
endpoint agrees with itself.`,
		Example: `  kubectl isms evidence key > evidence.pub`,
		Args:    maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, closeConn, err := eo.connect(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeConn()
			key, err := c.Key(cmd.Context())
			if err != nil {
				return explain(err)
			}
			if _, err := evidenceclient.ParseKey(key); err != nil {
				return fmt.Errorf("the endpoint's key: %w", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), key)
			return err
		},
	}
}
