package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/test/install"
)

// nonLoopbackIPv4 is an address of this host the API server can call the webhook on: an
// EndpointSlice may not hold a loopback address.
func nonLoopbackIPv4(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok && ipnet.IP.To4() != nil && !ipnet.IP.IsLoopback() && !ipnet.IP.IsLinkLocalUnicast() {
			return ipnet.IP.String()
		}
	}
	t.Skip("this host has no non-loopback IPv4 address for the API server to call the webhook on")
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// routeWebhookService plays the EndpointSlice controller: the rendered webhook Service's
// endpoint is the manager's webhook port on this host.
func routeWebhookService(t *testing.T, c client.Client, namespace, ip string, port int) {
	t.Helper()
	var svc corev1.Service
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: namespace, Name: "isms-operator-webhook-service"}, &svc); err != nil {
		t.Fatal(err)
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: namespace, Name: svc.Name + "-test", Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(svc.Spec.Ports[0].Name), Port: ptr.To(int32(port)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	if err := c.Create(t.Context(), slice); err != nil {
		t.Fatal(err)
	}
}

// playKubelet copies the Secret's certificate into dir, as the kubelet does for the
// Deployment's secret volume, until ctx ends.
func playKubelet(ctx context.Context, c client.Client, namespace, name, dir string) {
	_ = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		var s corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil || len(s.Data[certName]) == 0 {
			return false, nil
		}
		_ = os.MkdirAll(dir, 0o700)
		for _, key := range []string{certName, keyName} {
			_ = os.WriteFile(filepath.Join(dir, key), s.Data[key], 0o600)
		}
		return false, nil
	})
}

// waitForProbe waits until the manager's probe answers 200, or fails with its last answer.
func waitForProbe(t *testing.T, done <-chan error, port int, path string) {
	t.Helper()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + path + "?verbose"
	var last string
	err := wait.PollUntilContextTimeout(t.Context(), 250*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-done:
			t.Fatalf("the manager stopped: %v", err)
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		defer func() { _ = resp.Body.Close() }()
		body := make([]byte, 4096)
		n, _ := resp.Body.Read(body)
		last = resp.Status + ": " + string(body[:n])
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("%s did not pass: %s", path, last)
	}
}

func assertCAInjected(t *testing.T, c client.Client, name string) {
	t.Helper()
	var cfg admissionv1.ValidatingWebhookConfiguration
	if err := c.Get(t.Context(), client.ObjectKey{Name: name}, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, wh := range cfg.Webhooks {
		if len(wh.ClientConfig.CABundle) == 0 {
			t.Errorf("webhook %s has no caBundle", wh.Name)
		}
	}
}

// assertWebhookRejectsExpiredException: the API server called the manager's webhook through
// the Service, trusted its certificate, and the webhook refused what CEL cannot.
func assertWebhookRejectsExpiredException(t *testing.T, c client.Client) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(install.RepoRoot(), "config", "samples", "exceptions", "vendor-agent.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ex ismsv1.ControlException
	if err := yaml.Unmarshal(data, &ex); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ex.Spec.ApprovedAt = metav1.NewTime(now.Add(-48 * time.Hour))
	ex.Spec.ExpiresAt = metav1.NewTime(now.Add(-24 * time.Hour))
	err = c.Create(t.Context(), &ex)
	if err == nil || !strings.Contains(err.Error(), `admission webhook "vcontrolexception.isms.dev" denied`) || !strings.Contains(err.Error(), "must be in the future") {
		t.Fatalf("creating an expired exception: got %v, want the webhook's denial", err)
	}
}

// assertFindingFiled: with the rendered RBAC, the manager watches Pods, evaluates a sample
// Control and files its Finding.
func assertFindingFiled(t *testing.T, c client.Client) {
	t.Helper()
	ctx := t.Context()
	data, err := os.ReadFile(filepath.Join(install.RepoRoot(), "config", "samples", "isms_k8s_001_no_privileged.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var control ismsv1.Control
	if err := yaml.Unmarshal(data, &control); err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "privileged"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "app", Image: "registry.example/app:1.0", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}}}
	for _, obj := range []client.Object{ns, pod, &control} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		var findings ismsv1.FindingList
		if err := c.List(ctx, &findings, client.InNamespace(ns.Name)); err != nil {
			return false, err
		}
		for _, f := range findings.Items {
			if f.Spec.Control == control.Name {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no Finding of %s in %s: %v", control.Name, ns.Name, err)
	}
}

// assertNoOtherSecrets: the rendered RBAC lets the manager read its own Secret and no other.
func assertNoOtherSecrets(t *testing.T, cfg *rest.Config, namespace string) {
	t.Helper()
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = c.List(t.Context(), &corev1.SecretList{}, client.InNamespace(namespace))
	if !apierrors.IsForbidden(err) {
		t.Errorf("listing the Secrets of %s as the operator: got %v, want Forbidden", namespace, err)
	}
}
