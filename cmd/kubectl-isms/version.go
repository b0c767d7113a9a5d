package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/spf13/cobra"

	"github.com/isms-operator/isms-operator/internal/version"
)

type versionOptions struct {
	cluster           *clusterFlags
	namespace, output string
	client            bool
}

// versionInfo is what `kubectl isms version -o json` prints.
type versionInfo struct {
	Client   buildVersion     `json:"client"`
	Operator *operatorVersion `json:"operator,omitempty"`
}

type buildVersion struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// operatorVersion is the leader's, from the leader election Lease the manager labels.
type operatorVersion struct {
	Version   string    `json:"version"`
	Leader    string    `json:"leader"` // the holder's pod
	RenewedAt time.Time `json:"renewedAt,omitzero"`
}

func newVersionCommand() *cobra.Command {
	o := &versionOptions{cluster: newClusterFlags()}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin's version and the operator's running in the cluster",
		Long: `Print this plugin's version and commit, and the version of the operator the cluster runs:
that of its leader, which labels its leader election Lease (` + leaderLeaseName + ` in
--operator-namespace) with it. Reading it needs get on that Lease.

Exit code 1 when the operator's version cannot be read (no cluster, no Lease, no access);
--client prints the plugin's alone.`,
		Example: `  kubectl isms version
  kubectl isms version --client
  kubectl isms version -o json`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.BoolVar(&o.client, "client", false, "Print the plugin's version only; do not contact the cluster.")
	o.cluster.addFlags(f)
	f.StringVar(&o.namespace, "operator-namespace", "isms-system", "Namespace of the operator and its leader election Lease.")
	f.StringVarP(&o.output, "output", "o", "text", "Output format: text or json.")
	return cmd
}

func (o *versionOptions) run(cmd *cobra.Command) error {
	if o.output != "text" && o.output != "json" {
		return usagef("--output must be text or json; got %q", o.output)
	}
	info := versionInfo{Client: buildVersion{Version: version.Version(), Commit: version.Commit()}}
	var operatorErr error
	if !o.client {
		info.Operator, operatorErr = o.operator(cmd.Context())
	}
	if err := printVersion(cmd.OutOrStdout(), o.output, info); err != nil {
		return err
	}
	if operatorErr != nil {
		return fmt.Errorf("reading the operator's version: %w", operatorErr)
	}
	return nil
}

func (o *versionOptions) operator(ctx context.Context) (*operatorVersion, error) {
	cfg, err := o.cluster.restConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 { // --request-timeout not given: a version check does not hang
		cfg.Timeout = 15 * time.Second
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	return leaderVersion(ctx, cs, o.namespace)
}

// leaderVersion reads the leader election Lease: its holder and the version label the
// leader sets on it.
func leaderVersion(ctx context.Context, cs kubernetes.Interface, namespace string) (*operatorVersion, error) {
	lease, err := cs.CoordinationV1().Leases(namespace).Get(ctx, leaderLeaseName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("no Lease %s/%s: is the operator installed there (--operator-namespace) and running with --leader-elect?", namespace, leaderLeaseName)
	case err != nil:
		return nil, fmt.Errorf("reading the Lease %s/%s: %w", namespace, leaderLeaseName, err)
	}
	v := &operatorVersion{Version: lease.Labels[version.LeaseLabel]}
	if v.Version == "" {
		v.Version = version.Unknown + " (the leader does not label its Lease: an operator older than this plugin)"
	}
	if h := lease.Spec.HolderIdentity; h != nil {
		v.Leader, _, _ = strings.Cut(*h, "_") // controller-runtime's identity is "<pod>_<uuid>"
	}
	if lease.Spec.RenewTime != nil {
		v.RenewedAt = lease.Spec.RenewTime.UTC()
	}
	return v, nil
}

func printVersion(w io.Writer, output string, info versionInfo) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	fmt.Fprintf(w, "Client Version: %s (commit %s)\n", info.Client.Version, info.Client.Commit)
	if op := info.Operator; op != nil {
		leader := op.Leader
		if leader == "" {
			leader = "none now"
		}
		fmt.Fprintf(w, "Operator Version: %s (leader %s)\n", op.Version, leader)
	}
	return nil
}
