package chart

import (
	"os"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/isms-operator/isms-operator/test/install"
)

// TestChartApplies applies the chart's render server-side to a real API server, the way
// test/install applies the kustomize render (install.Apply): the default values, and every
// non-default value at once. The API server must accept every object. Each gets its own API
// server, as each would get its own cluster.
func TestChartApplies(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Skip("needs a kube-apiserver and etcd: KUBEBUILDER_ASSETS is not set (run `make test`)")
	}
	podSecurity := PodSecurityLabels(kustomize(t, install.Default))
	tests := map[string]struct {
		set         []string
		userSecrets []string
	}{
		"defaults": {},
		"every non-default value": {
			set: append([]string{"image.repository=registry.example/isms-operator", "image.digest=" + digest, "replicas=2",
				"size=large", "webhook.certMode=cert-manager", "metrics.secure=false"}, postgres...),
			userSecrets: []string{"isms-evidence-db", "isms-evidence-key"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			objs := render(t, Namespace, tc.set...).All()
			// What exists before helm install: the labelled release namespace, the user's Secrets.
			before := []*unstructured.Unstructured{ReleaseNamespace(Namespace, podSecurity)}
			for _, s := range tc.userSecrets {
				before = append(before, userSecret(Namespace, s))
			}
			c := startAPIServer(t)
			all := append(append(install.StubCRDs(objs), before...), objs...)
			if err := install.Apply(t.Context(), c, all); err != nil {
				t.Fatal(err)
			}
			for _, obj := range objs {
				got := &unstructured.Unstructured{}
				got.SetGroupVersionKind(obj.GroupVersionKind())
				if err := c.Get(t.Context(), client.ObjectKeyFromObject(obj), got); err != nil {
					t.Errorf("%s was not stored: %v", describe(obj), err)
				}
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
