package main

import (
	"fmt"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
)

// clusterFlags are the flags of cluster access every command that reads the cluster takes,
// with kubectl's names and meaning (k8s.io/cli-runtime): --kubeconfig, --context, --cluster,
// --user, --server, --token, --as, --as-group, --as-uid, --certificate-authority,
// --request-timeout, ... The kubeconfig is found as kubectl finds it: --kubeconfig, else
// $KUBECONFIG, else ~/.kube/config.
//
// --namespace is not among them: the isms.dev kinds the commands read are cluster-scoped
// (Findings are read in every namespace), and the operator's own namespace is
// --operator-namespace; a --namespace that changed nothing would mislead.
type clusterFlags struct {
	config *genericclioptions.ConfigFlags
}

func newClusterFlags() *clusterFlags {
	config := genericclioptions.NewConfigFlags(false)
	config.Namespace = nil // see above
	config.CacheDir = nil  // no discovery cache: the commands know the kinds they read
	return &clusterFlags{config: config}
}

func (c *clusterFlags) addFlags(fs *pflag.FlagSet) { c.config.AddFlags(fs) }

// restConfig is the one place the commands build their client configuration.
func (c *clusterFlags) restConfig() (*rest.Config, error) {
	cfg, err := c.config.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	cfg.UserAgent = "kubectl-isms/" + rest.DefaultKubernetesUserAgent()
	return cfg, nil
}

// client connects to the cluster with the isms.dev types.
func (c *clusterFlags) client() (client.Client, error) {
	cfg, err := c.restConfig()
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := ismsv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	return cl, nil
}
