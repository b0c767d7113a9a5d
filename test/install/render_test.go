package install

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// installs are every way the repository lets users install the operator: config/default, the
// cert-manager and HA overlays, both components together, each sizing component on
// config/default and on the HA overlay, and the OpenReports component on config/default.
func installs(t *testing.T) map[string][]*unstructured.Unstructured {
	t.Helper()
	out := map[string][]*unstructured.Unstructured{}
	for _, dir := range []string{Default, CertManager, HA} {
		objs, err := Render(dir)
		if err != nil {
			t.Fatal(err)
		}
		out[dir] = objs
	}
	for _, size := range Sizes {
		objs, err := RenderWithComponents(Default, "config/sizing/"+size)
		if err != nil {
			t.Fatal(err)
		}
		out[Default+"+sizing/"+size] = objs
		if objs, err = RenderWithComponents(Default, HAComponent, "config/sizing/"+size); err != nil {
			t.Fatal(err)
		}
		out[HA+"+sizing/"+size] = objs
	}
	objs, err := RenderWithComponents(Default, "config/certmanager", HAComponent)
	if err != nil {
		t.Fatal(err)
	}
	out[HA+"+cert-manager"] = objs
	if objs, err = RenderWithComponents(Default, OpenReportsComponent); err != nil {
		t.Fatal(err)
	}
	out[Default+"+openreports"] = objs
	return out
}

// withUserSecrets indexes an install's objects, with the Secrets users create before applying
// the HA component taken as provided.
func withUserSecrets(name string, objs []*unstructured.Unstructured) *Objects {
	o := Index(objs)
	if strings.HasPrefix(name, HA) {
		o.AssumeSecrets(UserSecrets...)
	}
	return o
}

func TestEveryInstallsReferencesResolve(t *testing.T) {
	for name, objs := range installs(t) {
		t.Run(name, func(t *testing.T) {
			for _, p := range Check(withUserSecrets(name, objs)) {
				t.Error(p)
			}
		})
	}
}

// TestCheckFindsBrokenReferences breaks one reference at a time in the rendered install and
// expects Check to name it: the checks that pass above can fail.
func TestCheckFindsBrokenReferences(t *testing.T) {
	tests := map[string]struct {
		dir    string
		mutate func(o *Objects)
		want   string
	}{
		"issuer renamed (issue 13)": {CertManager, func(o *Objects) {
			o.OfKind("Issuer")[0].SetName("isms-operator-other-issuer")
		}, `is issued by Issuer "isms-operator-selfsigned-issuer"`},
		"certificate for another service": {CertManager, func(o *Objects) {
			_ = unstructured.SetNestedStringSlice(o.OfKind("Certificate")[0].Object, []string{"webhook-service.system.svc"}, "spec", "dnsNames")
		}, "does not cover isms-operator-webhook-service.isms-system.svc"},
		"CA injection from a missing certificate": {CertManager, func(o *Objects) {
			o.OfKind("ValidatingWebhookConfiguration")[0].SetAnnotations(map[string]string{CertManagerInjectAnnotation: "isms-system/serving-cert"})
		}, "names no rendered Certificate"},
		"webhook service missing": {Default, func(o *Objects) {
			o.Get("Service", "isms-system", "isms-operator-webhook-service").SetName("webhook-service")
		}, "calls Service isms-system/isms-operator-webhook-service"},
		"rotator names another secret": {Default, func(o *Objects) {
			o.Get("Secret", "isms-system", "isms-operator-webhook-server-cert").SetName("webhook-server-cert")
		}, `--webhook-cert-secret="isms-operator-webhook-server-cert" names no rendered Secret`},
		"binding to a missing service account": {Default, func(o *Objects) {
			o.OfKind("ServiceAccount")[0].SetName("controller-manager")
		}, "binds ServiceAccount isms-system/isms-operator-controller-manager"},
		"role naming a missing webhook configuration": {Default, func(o *Objects) {
			o.OfKind("ValidatingWebhookConfiguration")[0].SetName("validating-webhook-configuration")
		}, `grants validatingwebhookconfigurations "isms-operator-validating-webhook-configuration"`},
		"two replicas on the SQLite claim": {Default, func(o *Objects) {
			_ = unstructured.SetNestedField(o.Deployment().Object, int64(2), "spec", "replicas")
		}, "2 replicas share the ReadWriteOnce claim isms-operator-evidence"},
		"two replicas with the ledger in SQLite": {Default, func(o *Objects) {
			_ = unstructured.SetNestedField(o.Deployment().Object, int64(2), "spec", "replicas")
		}, "2 replicas keep the evidence ledger in SQLite"},
		"two replicas without leader election": {HA, func(o *Objects) {
			editArgs(o, func(a string) bool { return a == "--leader-elect" })
		}, "2 replicas without --leader-elect"},
		"two replicas, two signing keys": {HA, func(o *Objects) {
			editArgs(o, func(a string) bool { return strings.HasPrefix(a, "--evidence-signing-key") })
		}, "would each generate their own ledger signing key"},
		"HA's database Secret not created": {HA, func(*Objects) {},
			`env EVIDENCE_DATABASE_URL reads Secret "isms-operator-evidence-database", which nothing renders`},
		"disruption budget blocking drains": {HA, func(o *Objects) {
			_ = unstructured.SetNestedField(o.OfKind("PodDisruptionBudget")[0].Object, int64(2), "spec", "minAvailable")
		}, "lets no pod of 2 replicas be evicted"},
		"disruption budget for other pods": {HA, func(o *Objects) {
			_ = unstructured.SetNestedStringMap(o.OfKind("PodDisruptionBudget")[0].Object, map[string]string{"app": "other"}, "spec", "selector", "matchLabels")
		}, "does not select the manager's pods"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			objs, err := Render(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			o := Index(objs)
			tc.mutate(o)
			problems := Check(Index(o.All)) // re-index: the names changed
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("want a problem containing %q, got %q", tc.want, problems)
			}
		})
	}
}

// editArgs removes the manager container's arguments that drop says.
func editArgs(o *Objects, drop func(string) bool) {
	d := o.Deployment()
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		m := c.(map[string]any)
		if m["name"] != "manager" {
			continue
		}
		args, _, _ := unstructured.NestedStringSlice(m, "args")
		_ = unstructured.SetNestedStringSlice(m, slices.DeleteFunc(args, drop), "args")
	}
	_ = unstructured.SetNestedSlice(d.Object, containers, "spec", "template", "spec", "containers")
}

// measuredPeak is the manager's peak memory measured by make bench at each size's workload
// (docs/install.md). Each size requests at least its peak, and its limit leaves a quarter more.
var measuredPeak = map[string]string{"small": "170Mi", "medium": "400Mi", "large": "920Mi"}

func TestSizesFitTheMeasuredPeaks(t *testing.T) {
	all := installs(t)
	previous := resource.MustParse("0")
	for _, size := range Sizes {
		res := managerContainer(t, all[Default+"+sizing/"+size]).Resources
		peak := resource.MustParse(measuredPeak[size])
		request, limit := res.Requests[corev1.ResourceMemory], res.Limits[corev1.ResourceMemory]
		headroom := peak.DeepCopy()
		headroom.SetMilli(peak.MilliValue() * 5 / 4)
		if request.Cmp(peak) < 0 || limit.Cmp(headroom) < 0 {
			t.Errorf("%s: memory request %s and limit %s, want at least %s and %s (peak %s)", size, request.String(), limit.String(), peak.String(), headroom.String(), peak.String())
		}
		if limit.Cmp(previous) <= 0 {
			t.Errorf("%s: limit %s is not above the smaller size's %s", size, limit.String(), previous.String())
		}
		previous = limit
	}
	shipped := managerContainer(t, all[Default]).Resources
	medium := managerContainer(t, all[Default+"+sizing/medium"]).Resources
	if fmt.Sprint(shipped.Limits, shipped.Requests) != fmt.Sprint(medium.Limits, medium.Requests) {
		t.Errorf("config/default ships %v, want the medium size %v", shipped, medium)
	}
}

// TestMemoryLimitReachesTheManager: the manager learns its limit from the downward API, to set
// the Go runtime's soft limit from it.
func TestMemoryLimitReachesTheManager(t *testing.T) {
	for name, objs := range installs(t) {
		c := managerContainer(t, objs)
		i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "MEMORY_LIMIT" })
		if i < 0 || c.Env[i].ValueFrom == nil || c.Env[i].ValueFrom.ResourceFieldRef == nil ||
			c.Env[i].ValueFrom.ResourceFieldRef.Resource != "limits.memory" {
			t.Errorf("%s: want MEMORY_LIMIT from resourceFieldRef limits.memory, have %+v", name, c.Env)
		}
	}
}

func managerContainer(t *testing.T, objs []*unstructured.Unstructured) corev1.Container {
	t.Helper()
	d, err := Index(objs).deployment()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "manager" {
			return c
		}
	}
	t.Fatal("no manager container")
	return corev1.Container{}
}
