// Command isms-local runs isms-operator against a local control plane: a real kube-apiserver and
// etcd (the envtest binaries), with the CRDs installed and the operator running in-process. It
// writes a kubeconfig for kubectl and runs until interrupted.
//
//	KUBEBUILDER_ASSETS=bin/k8s/... isms-local run --dir bin/local
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/isms-operator/isms-operator/controllers"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "run" {
		fmt.Fprintln(os.Stderr, "usage: isms-local run [--dir DIR] [--crd-dir DIR] [--namespace NS] [--metrics-bind-address ADDR]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	dir := fs.String("dir", "bin/local", "Folder for the kubeconfig, the ready marker and the control plane's state.")
	crdDir := fs.String("crd-dir", "config/crd/bases", "Folder of the CRDs to install.")
	namespace := fs.String("namespace", "isms-system", "The operator's namespace.")
	metricsAddr := fs.String("metrics-bind-address", "127.0.0.1:8080", "Address of the plain-HTTP metrics endpoint; 0 disables it.")
	opts := zap.Options{Development: true}
	opts.BindFlags(fs)
	_ = fs.Parse(os.Args[2:])
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))

	if err := run(ctrl.SetupSignalHandler(), *dir, *crdDir, *namespace, *metricsAddr); err != nil {
		fmt.Fprintln(os.Stderr, "isms-local:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir, crdDir, namespace, metricsAddr string) error {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set: run through `make run-local`, or point it at the folder hack/install-envtest.sh prints")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ready := filepath.Join(dir, "ready")
	_ = os.Remove(ready)

	env := &envtest.Environment{CRDDirectoryPaths: []string{crdDir}, ErrorIfCRDPathMissing: true}
	fmt.Println("Starting kube-apiserver and etcd ...")
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("starting the control plane: %w", err)
	}
	defer func() {
		fmt.Println("Stopping the control plane ...")
		_ = os.Remove(ready)
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
		}
	}()

	kubeconfig, err := writeKubeconfig(env, dir)
	if err != nil {
		return err
	}
	if err := ensureNamespace(ctx, cfg, namespace); err != nil {
		return err
	}

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 controllers.NewScheme(),
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}
	ledger, err := controllers.OpenLedger(ctx, controllers.LedgerConfig{Dir: filepath.Join(dir, "evidence")})
	if err != nil {
		return err
	}
	defer func() { _ = ledger.Store().Close() }()
	if err := controllers.SetupWithManager(mgr, controllers.Options{Namespace: namespace, MaxConcurrentReconciles: 4,
		Evidence: &controllers.EvidenceOptions{Ledger: ledger, Version: "isms-local"}}); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- mgr.Start(ctx) }()

	if err := os.WriteFile(ready, []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return err
	}
	printUsage(kubeconfig, metricsAddr)
	return <-errc
}

// printUsage says how to reach the local operator; the evidence API is on the plain metrics
// server, without authentication, as /metrics is.
func printUsage(kubeconfig, metricsAddr string) {
	fmt.Printf("\nThe control plane and isms-operator are running. In another shell:\n\n  export KUBECONFIG=%s\n", kubeconfig)
	if metricsAddr != "0" {
		fmt.Printf("  export ISMS_EVIDENCE_URL=http://%s/evidence\n", metricsAddr)
	}
	fmt.Printf("  kubectl get isms\n\n")
	if metricsAddr != "0" {
		fmt.Printf("Metrics: http://%s/metrics   Evidence: http://%s/evidence/   ", metricsAddr, metricsAddr)
	}
	fmt.Printf("Stop with Ctrl-C.\n\n")
}

// writeKubeconfig writes a kubeconfig for a cluster admin of the local control plane.
func writeKubeconfig(env *envtest.Environment, dir string) (string, error) {
	user, err := env.AddUser(envtest.User{Name: "isms-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return "", fmt.Errorf("adding a user: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("building the kubeconfig: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("writing the kubeconfig: %w", err)
	}
	return path, nil
}

// ensureNamespace creates the operator's namespace, where Findings of cluster-scoped subjects go.
func ensureNamespace(ctx context.Context, cfg *rest.Config, name string) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return fmt.Errorf("creating a client: %w", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}
