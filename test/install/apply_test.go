package install

import (
	"context"
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// TestInstallsApply applies each install server-side to a real API server, which must accept
// every object: the CRDs, the RBAC, the webhook configuration, the Deployment and the rest.
// Each install gets its own API server, as each would get its own cluster.
func TestInstallsApply(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("needs a kube-apiserver and etcd: KUBEBUILDER_ASSETS is not set (run `make test`)")
	}
	for _, dir := range []string{Default, CertManager, HA} {
		t.Run(dir, func(t *testing.T) {
			objs, err := Render(dir)
			if err != nil {
				t.Fatal(err)
			}
			c := startAPIServer(t)
			if err := Apply(t.Context(), c, append(StubCRDs(objs), objs...)); err != nil {
				t.Fatal(err)
			}
			for _, obj := range objs {
				assertStored(t.Context(), t, c, obj)
			}
		})
	}
}

func startAPIServer(t *testing.T) client.Client {
	t.Helper()
	env := &envtest.Environment{}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func assertStored(ctx context.Context, t *testing.T, c client.Client, obj *unstructured.Unstructured) {
	t.Helper()
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(obj.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
		t.Errorf("%s %s/%s was not stored: %v", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
}
