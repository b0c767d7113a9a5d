package chart

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/isms-operator/isms-operator/test/install"
)

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// postgres are the values of a ledger in PostgreSQL, with the Secrets users create for it.
var postgres = []string{"evidence.postgres.urlSecret.name=isms-evidence-db", "evidence.signingKeySecret.name=isms-evidence-key"}

// valueCase renders the chart with set into namespace (Namespace when empty) and checks what
// the values say; userSecrets are the Secrets the user creates beside the release.
type valueCase struct {
	set         []string
	namespace   string
	userSecrets []string
	check       func(t *testing.T, o *install.Objects, d *appsv1.Deployment)
}

// TestValuesRenderWhatTheySay renders each non-default value, checks that it does what
// values.yaml says, and that every reference of the render still resolves (install.Check).
func TestValuesRenderWhatTheySay(t *testing.T) {
	tests := map[string]valueCase{
		"image":                    {set: []string{"image.repository=registry.example:5000/isms/isms-operator", "image.tag=v0.1.0", "image.pullPolicy=Always"}, check: checkImage("registry.example:5000/isms/isms-operator:v0.1.0", corev1.PullAlways)},
		"image digest":             {set: []string{"image.digest=" + digest}, check: checkImage("isms-operator@"+digest, corev1.PullIfNotPresent)},
		"evidence volume":          {set: []string{"evidence.persistence.size=10Gi", "evidence.persistence.storageClassName=fast-ssd"}, check: checkEvidenceVolume("10Gi", "fast-ssd")},
		"replicas with PostgreSQL": {set: append([]string{"replicas=3"}, postgres...), userSecrets: []string{"isms-evidence-db", "isms-evidence-key"}, check: checkPostgres(3)},
		"signing key with SQLite":  {set: []string{"evidence.signingKeySecret.name=isms-evidence-key", "evidence.signingKeySecret.key=prod.key"}, userSecrets: []string{"isms-evidence-key"}, check: checkSigningKeyWithSQLite},
		"explicit resources":       {set: []string{"resources.requests.cpu=500m", "resources.requests.memory=3Gi", "resources.limits.memory=4Gi"}, check: checkResources},
		"metrics disabled":         {set: []string{"metrics.enabled=false"}, check: checkMetrics(false, false)},
		"metrics insecure":         {set: []string{"metrics.secure=false"}, check: checkMetrics(true, false)},
		"another namespace":        {namespace: "compliance", check: checkNamespace("compliance")},
		"cert-manager in another namespace": {set: []string{"webhook.certMode=cert-manager"}, namespace: "compliance", check: func(t *testing.T, o *install.Objects, d *appsv1.Deployment) {
			checkNamespace("compliance")(t, o, d)
			cfg := o.Get("ValidatingWebhookConfiguration", "", "isms-operator-validating-webhook-configuration")
			if got := cfg.GetAnnotations()[install.CertManagerInjectAnnotation]; got != "compliance/isms-operator-serving-cert" {
				t.Errorf("%s=%q, want the Certificate in compliance", install.CertManagerInjectAnnotation, got)
			}
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ns := tc.namespace
			if ns == "" {
				ns = Namespace
			}
			objs := render(t, ns, tc.set...).All()
			objs = append(objs, ReleaseNamespace(ns, nil))
			for _, s := range tc.userSecrets {
				objs = append(objs, userSecret(ns, s))
			}
			o := install.Index(objs)
			for _, p := range install.Check(o) {
				t.Error(p)
			}
			tc.check(t, o, deployment(t, o))
		})
	}
}

func checkImage(image string, policy corev1.PullPolicy) func(*testing.T, *install.Objects, *appsv1.Deployment) {
	return func(t *testing.T, _ *install.Objects, d *appsv1.Deployment) {
		c := manager(t, d)
		if c.Image != image || c.ImagePullPolicy != policy {
			t.Errorf("image %s (%s), want %s (%s)", c.Image, c.ImagePullPolicy, image, policy)
		}
	}
}

func checkEvidenceVolume(size, class string) func(*testing.T, *install.Objects, *appsv1.Deployment) {
	return func(t *testing.T, o *install.Objects, _ *appsv1.Deployment) {
		var pvc corev1.PersistentVolumeClaim
		convert(t, o.Get("PersistentVolumeClaim", Namespace, "isms-operator-evidence"), &pvc)
		if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(resource.MustParse(size)) != 0 {
			t.Errorf("claim requests %s, want %s", got.String(), size)
		}
		if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != class {
			t.Errorf("storage class %v, want %s", pvc.Spec.StorageClassName, class)
		}
	}
}

// checkPostgres: the ledger's URL reaches the manager from the Secret, through the
// environment (never in the Deployment); no volume, no claim, no Recreate; the signing key
// is mounted from its Secret.
func checkPostgres(replicas int32) func(*testing.T, *install.Objects, *appsv1.Deployment) {
	return func(t *testing.T, o *install.Objects, d *appsv1.Deployment) {
		if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
			t.Errorf("replicas %v, want %d", d.Spec.Replicas, replicas)
		}
		args := install.Args(d)
		if args["evidence-database-url"] != "$(EVIDENCE_DATABASE_URL)" || args["evidence-dir"] != "" {
			t.Errorf("args %v, want --evidence-database-url=$(EVIDENCE_DATABASE_URL) and no --evidence-dir", args)
		}
		env := envVar(manager(t, d), "EVIDENCE_DATABASE_URL")
		if env == nil || env.ValueFrom == nil || env.ValueFrom.SecretKeyRef == nil ||
			env.ValueFrom.SecretKeyRef.Name != "isms-evidence-db" || env.ValueFrom.SecretKeyRef.Key != "url" {
			t.Errorf("EVIDENCE_DATABASE_URL is %+v, want from Secret isms-evidence-db key url", env)
		}
		if o.Get("PersistentVolumeClaim", Namespace, "isms-operator-evidence") != nil || volume(d, "evidence") != nil {
			t.Error("the evidence claim and volume are rendered, want neither with PostgreSQL")
		}
		if d.Spec.Strategy.Type != "" {
			t.Errorf("strategy %q, want the default rolling update (no volume to release)", d.Spec.Strategy.Type)
		}
		checkSigningKey(t, d, "isms-evidence-key", "ledger.key")
	}
}

func checkSigningKeyWithSQLite(t *testing.T, o *install.Objects, d *appsv1.Deployment) {
	if o.Get("PersistentVolumeClaim", Namespace, "isms-operator-evidence") == nil || volume(d, "evidence") == nil {
		t.Error("the evidence claim or volume is missing, want both with SQLite")
	}
	checkSigningKey(t, d, "isms-evidence-key", "prod.key")
}

func checkSigningKey(t *testing.T, d *appsv1.Deployment, secret, key string) {
	t.Helper()
	if got, want := install.Args(d)["evidence-signing-key"], "/etc/isms-operator/signing-key/"+key; got != want {
		t.Errorf("--evidence-signing-key=%q, want %q", got, want)
	}
	v := volume(d, "evidence-signing-key")
	if v == nil || v.Secret == nil || v.Secret.SecretName != secret || v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o440 {
		t.Errorf("signing key volume %+v, want Secret %s, mode 0440", v, secret)
	}
	mounted := slices.ContainsFunc(manager(t, d).VolumeMounts, func(m corev1.VolumeMount) bool {
		return m.Name == "evidence-signing-key" && m.MountPath == "/etc/isms-operator/signing-key" && m.ReadOnly
	})
	if !mounted {
		t.Error("the signing key is not mounted read-only at /etc/isms-operator/signing-key")
	}
}

func checkResources(t *testing.T, _ *install.Objects, d *appsv1.Deployment) {
	want := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("3Gi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")},
	}
	got := manager(t, d).Resources
	if !equalResources(got.Requests, want.Requests) || !equalResources(got.Limits, want.Limits) {
		t.Errorf("resources %v, want exactly %v (no size's values mixed in)", got, want)
	}
}

func equalResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

// checkMetrics: the endpoint's flags, port and Service, and the authn/authz RBAC only for a
// secure endpoint.
func checkMetrics(enabled, secure bool) func(*testing.T, *install.Objects, *appsv1.Deployment) {
	return func(t *testing.T, o *install.Objects, d *appsv1.Deployment) {
		args := install.Args(d)
		svc := o.Get("Service", Namespace, "isms-operator-controller-manager-metrics-service")
		port := slices.ContainsFunc(manager(t, d).Ports, func(p corev1.ContainerPort) bool { return p.Name == "metrics" })
		authRBAC := o.Get("ClusterRole", "", "isms-operator-metrics-auth-role") != nil || o.Get("ClusterRoleBinding", "", "isms-operator-metrics-auth-rolebinding") != nil
		switch {
		case !enabled && (args["metrics-bind-address"] != "0" || svc != nil || port || authRBAC):
			t.Errorf("metrics disabled: --metrics-bind-address=%q, Service %v, port %v, auth RBAC %v; want 0 and none", args["metrics-bind-address"], svc != nil, port, authRBAC)
		case enabled && !secure && (args["metrics-secure"] != "false" || svc == nil || !port || authRBAC):
			t.Errorf("metrics insecure: --metrics-secure=%q, Service %v, port %v, auth RBAC %v; want false, a Service and port, no auth RBAC", args["metrics-secure"], svc != nil, port, authRBAC)
		}
		if enabled && !secure {
			ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
			if name := ports[0].(map[string]any)["name"]; name != "http" {
				t.Errorf("metrics Service port is named %v, want http", name)
			}
		}
	}
}

func checkNamespace(ns string) func(*testing.T, *install.Objects, *appsv1.Deployment) {
	return func(t *testing.T, o *install.Objects, _ *appsv1.Deployment) {
		for _, obj := range o.All {
			if scoped := obj.GetNamespace() != ""; scoped && obj.GetNamespace() != ns {
				t.Errorf("%s %s is in %s, want %s", obj.GetKind(), obj.GetName(), obj.GetNamespace(), ns)
			}
		}
		if strings.Contains(dump(o), "isms-system") {
			t.Errorf("the render in %s still names isms-system", ns)
		}
	}
}

func dump(o *install.Objects) string {
	var b strings.Builder
	for _, obj := range o.All {
		data, _ := obj.MarshalJSON()
		b.Write(data)
	}
	return b.String()
}

func userSecret(ns, name string) *unstructured.Unstructured {
	s := &unstructured.Unstructured{}
	s.SetAPIVersion("v1")
	s.SetKind("Secret")
	s.SetNamespace(ns)
	s.SetName(name)
	return s
}

func deployment(t *testing.T, o *install.Objects) *appsv1.Deployment {
	t.Helper()
	u := o.Deployment()
	if u == nil {
		t.Fatal("want exactly one Deployment")
	}
	var d appsv1.Deployment
	convert(t, u, &d)
	return &d
}

func convert(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if u == nil {
		t.Fatal("object not rendered")
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, into, true); err != nil {
		t.Fatal(err)
	}
}

func manager(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "manager" {
			return c
		}
	}
	t.Fatal("no manager container")
	return corev1.Container{}
}

func envVar(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func volume(d *appsv1.Deployment, name string) *corev1.Volume {
	for i := range d.Spec.Template.Spec.Volumes {
		if d.Spec.Template.Spec.Volumes[i].Name == name {
			return &d.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}
