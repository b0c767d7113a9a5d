package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/isms-operator/isms-operator/controllers"
	"github.com/isms-operator/isms-operator/test/install"
)

// TestManagerRunsAsInstalled runs the manager the way config/default's Deployment does: its
// arguments, as its ServiceAccount (impersonated) with only the rendered RBAC, its webhook
// certificate issued by the manager's own rotator into the rendered Secret and called by the
// API server through the rendered Service and ValidatingWebhookConfiguration. What differs
// from a cluster: the manager runs in the test's process; the test plays the kubelet (it copies
// the Secret into the certificate folder and sets POD_NAMESPACE) and the EndpointSlice
// controller (it points the webhook Service at this host, the API server routing to
// endpoints); ports and folders a pod has to itself are replaced by free ones.
func TestManagerRunsAsInstalled(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("needs a kube-apiserver and etcd: KUBEBUILDER_ASSETS is not set (run `make test`)")
	}
	hostIP := nonLoopbackIPv4(t)
	admin, adminCfg := startAPIServer(t)
	objs, err := install.Render(install.Default)
	if err != nil {
		t.Fatal(err)
	}
	if err := install.Apply(t.Context(), admin, objs); err != nil {
		t.Fatal(err)
	}
	d := renderedDeployment(t, install.Index(objs))
	cfg, ports := managerConfig(t, d)
	routeWebhookService(t, admin, d.Namespace, hostIP, ports.webhook)

	ctx, cancel := context.WithCancel(t.Context())
	go playKubelet(ctx, admin, d.Namespace, install.Args(d)["webhook-cert-secret"], cfg.webhookCertDir)
	done := make(chan error, 1)
	go func() { done <- run(ctx, serviceAccountConfig(adminCfg, d), cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})

	waitForProbe(t, done, ports.probe, "/readyz")
	assertCAInjected(t, admin, install.Args(d)["webhook-configuration"])
	assertWebhookRejectsExpiredException(t, admin)
	assertFindingFiled(t, admin)
	assertNoOtherSecrets(t, serviceAccountConfig(adminCfg, d), d.Namespace)
	waitForProbe(t, done, ports.probe, "/healthz")
}

func startAPIServer(t *testing.T) (client.Client, *rest.Config) {
	t.Helper()
	env := &envtest.Environment{}
	// Route calls to a Service to its endpoints rather than its cluster IP, which has no proxy
	// behind it here; the TLS server name is still the Service's DNS name.
	env.ControlPlane.GetAPIServer().Configure().Set("enable-aggregator-routing", "true")
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{Scheme: controllers.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c, cfg
}

func renderedDeployment(t *testing.T, o *install.Objects) *appsv1.Deployment {
	t.Helper()
	u := o.Deployment()
	if u == nil {
		t.Fatal("config/default renders no Deployment")
	}
	var d appsv1.Deployment
	data, _ := u.MarshalJSON()
	if err := yaml.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

type testPorts struct{ probe, webhook int }

// managerConfig parses the rendered Deployment's arguments, as the container's command line,
// with the pod's own ports and folders replaced by free ones on this host.
func managerConfig(t *testing.T, d *appsv1.Deployment) (config, testPorts) {
	t.Helper()
	ports := testPorts{probe: freePort(t), webhook: freePort(t)}
	dir := t.TempDir()
	t.Setenv("POD_NAMESPACE", d.Namespace) // the downward API's metadata.namespace
	var args []string
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "manager" {
			args = append(args, c.Args...)
		}
	}
	args = append(args,
		"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(ports.probe),
		"--metrics-bind-address=127.0.0.1:"+strconv.Itoa(freePort(t)),
		"--webhook-port="+strconv.Itoa(ports.webhook),
		"--webhook-cert-dir="+filepath.Join(dir, "certs"),
		"--evidence-dir="+filepath.Join(dir, "evidence"))
	cfg, _, err := parseFlags(flag.NewFlagSet("manager", flag.ContinueOnError), args)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, ports
}

// serviceAccountConfig is admin's connection, impersonating the Deployment's ServiceAccount as
// the API server authenticates a pod's token.
func serviceAccountConfig(admin *rest.Config, d *appsv1.Deployment) *rest.Config {
	cfg := rest.CopyConfig(admin)
	sa := d.Spec.Template.Spec.ServiceAccountName
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + d.Namespace + ":" + sa,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + d.Namespace, "system:authenticated"},
	}
	return cfg
}
