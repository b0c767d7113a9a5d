package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/isms-operator/isms-operator/internal/evidence"
)

// newEvidenceKeygenCommand generates a ledger signing key for --evidence-signing-key: the
// replicas of an HA install must all sign with one key, held in a Secret.
func newEvidenceKeygenCommand() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "keygen DIR",
		Short: "Generate a ledger signing key (for --evidence-signing-key, e.g. in a Secret)",
		Long: `Write a new ledger signing key to DIR/` + evidence.KeyFileName + ` (mode 0600; an existing file is never
overwritten) and print its verifier key, to save outside the cluster. The replicas of an HA
install (config/overlays/ha) all sign with the one key mounted from the Secret
isms-operator-evidence-signing-key. --name is the ledger's origin, the first line of its
checkpoints: give each ledger its own, e.g. the cluster's name.`,
		Example: `  kubectl isms evidence keygen ./key --name prod-eu/isms-evidence > evidence.pub
  kubectl -n isms-system create secret generic isms-operator-evidence-signing-key \
    --from-file=ledger.key=./key/ledger.key`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("%q needs one argument, the folder to write %s to", cmd.CommandPath(), evidence.KeyFileName)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			path := filepath.Join(args[0], evidence.KeyFileName)
			if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				return usagef("%s exists already (or cannot be checked): a signing key is never overwritten", path)
			}
			if err := os.MkdirAll(args[0], 0o700); err != nil {
				return fmt.Errorf("creating %s: %w", args[0], err)
			}
			keys, err := evidence.LoadOrCreateKeys(args[0], name)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), keys.VerifierKey)
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", evidence.DefaultKeyName, "The key's name: the ledger's origin in its checkpoints.")
	return cmd
}
