package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/isms-operator/isms-operator/internal/evidenceclient"
	"github.com/isms-operator/isms-operator/internal/report/gather"
)

// evidenceURLEnv names the environment variable that plays --evidence-url.
const evidenceURLEnv = "ISMS_EVIDENCE_URL"

// maxKeyFileBytes bounds a verifier key or saved checkpoint file (both are a few lines).
const maxKeyFileBytes = 64 << 10

// evidenceOptions are the flags every evidence subcommand shares: how to reach the
// endpoint, and the verifier key to trust.
type evidenceOptions struct {
	url       string
	cluster   *clusterFlags
	namespace string
	keyFile   string
}

func newEvidenceCommand() *cobra.Command {
	o := &evidenceOptions{cluster: newClusterFlags()}
	cmd := &cobra.Command{
		Use:   "evidence",
		Short: "Query, export and verify the operator's evidence ledger",
		Long: `The operator records every control's state over time in a tamper-evident ledger, kept
outside etcd (docs/evidence.md). These commands read it through the operator's evidence
endpoint and verify what they are answered:

  log     a control's changes over a period
  at      every control's result at an instant, with proofs
  export  a bundle of a period that verifies offline
  verify  verify a bundle offline (--key), or ask the operator to verify its whole log
  key     print the verifier key, to save outside the cluster

The endpoint is --evidence-url (or $ISMS_EVIDENCE_URL) when set, e.g. the local demo's
http://127.0.0.1:8080/evidence/. Otherwise the commands port-forward to a Running manager
pod in --operator-namespace (the leader when it can be told) and speak HTTPS to its metrics
port, authenticated with the kubeconfig's token (the endpoint reviews tokens, so a
client-certificate-only kubeconfig needs --token). The reader needs the ClusterRole
evidence-reader.

Pin the verifier key: save 'kubectl isms evidence key' outside the cluster once and pass
--key FILE. Without it, at/export/verify fetch the key from the endpoint and warn.

Exit codes: 0 success; 1 verification failed or the endpoint could not be read; 2 usage
or input errors.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("a subcommand is required: log, at, export, verify, key or keygen")
		},
	}
	o.addFlags(cmd.PersistentFlags())
	cmd.AddCommand(newEvidenceLogCommand(o), newEvidenceAtCommand(o), newEvidenceExportCommand(o),
		newEvidenceVerifyCommand(o), newEvidenceKeyCommand(o), newEvidenceKeygenCommand())
	for _, c := range cmd.Commands() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	}
	return cmd
}

// addFlags registers the flags that say how to reach the endpoint and which key to trust
// (the evidence commands' and the report's).
func (o *evidenceOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.url, "evidence-url", "", "URL of the evidence endpoint (default $"+evidenceURLEnv+"; else port-forward to the manager).")
	o.cluster.addFlags(f) // --token, kubectl's, is also the bearer token sent to the endpoint
	f.StringVar(&o.namespace, "operator-namespace", "isms-system", "Namespace of the operator's manager pods.")
	f.StringVar(&o.keyFile, "key", "", "File holding the verifier key to trust (saved from 'kubectl isms evidence key' or the ConfigMap isms-evidence).")
}

// connect returns a client of the endpoint and a function that closes the connection.
func (o *evidenceOptions) connect(ctx context.Context, stderr io.Writer) (*evidenceclient.Client, func(), error) {
	url := o.url
	if url == "" {
		url = os.Getenv(evidenceURLEnv)
	}
	if url == "" {
		return o.portForward(ctx, stderr)
	}
	// A direct URL gets no kubeconfig credentials: they are the cluster's, not this URL's.
	c, err := evidenceclient.New(url, &http.Client{})
	if err != nil {
		return nil, nil, usagef("--evidence-url: %v", err)
	}
	return c, func() {}, nil
}

// trustedKey returns the verifier key to check answers with: the pinned --key file, else
// the endpoint's own, with a warning that it proves only that the endpoint is consistent
// with itself.
func (o *evidenceOptions) trustedKey(ctx context.Context, c *evidenceclient.Client, stderr io.Writer) (string, error) {
	if o.keyFile != "" {
		return readKeyFile(o.keyFile)
	}
	if c == nil {
		return "", usagef("--key is required: a bundle is verified offline against a key saved outside the cluster")
	}
	key, err := c.Key(ctx)
	if err != nil {
		return "", explain(err)
	}
	if _, err := evidenceclient.ParseKey(key); err != nil {
		return "", fmt.Errorf("the endpoint's key: %w", err)
	}
	fmt.Fprintf(stderr, "warning: the verifier key was not pinned: it was fetched from the endpoint, which could serve "+
		"a key matching a rewritten history. Save it outside the cluster ('kubectl isms evidence key > evidence.pub') "+
		"and pass --key evidence.pub.\n")
	return key, nil
}

// readKeyFile reads and parses the verifier key of --key.
func readKeyFile(path string) (string, error) {
	data, err := readSmallFile(path)
	if err != nil {
		return "", usagef("--key: %v", err)
	}
	key := strings.TrimSpace(string(data))
	if _, err := evidenceclient.ParseKey(key); err != nil {
		return "", usagef("--key %s: %v", path, err)
	}
	return key, nil
}

func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFileBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxKeyFileBytes)
	}
	return bytes.TrimLeft(data, " \t\r\n"), nil
}

// parseTime reads a time flag: RFC 3339, or a date meaning midnight UTC. Empty is zero.
func parseTime(flag, v string) (time.Time, error) {
	t, err := gather.ParseTime(flag, v)
	if err != nil {
		return t, usageError{err}
	}
	return t, nil
}

// explain adds the fix to the endpoint's authentication and authorisation refusals.
func explain(err error) error {
	var se *evidenceclient.StatusError
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case http.StatusUnauthorized:
		return fmt.Errorf("%w (the endpoint did not accept the credentials: it reviews bearer tokens; pass --token, e.g. from 'kubectl create token')", err)
	case http.StatusForbidden:
		return fmt.Errorf("%w (bind the ClusterRole evidence-reader to this user)", err)
	}
	return err
}

// verifyFailed is a failed verification: exit code 1. An *evidence.VerifyError names the
// first bad leaf index in its message.
func verifyFailed(err error) error {
	return failedError{"verification failed: " + evidenceclient.Clean(err.Error(), 600)}
}
