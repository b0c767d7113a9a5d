package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The synthetic estate: N Deployments of about 3.5 KB spread over namespaces that have an
// owner label; every other namespace has a default-deny NetworkPolicy (so the inventory-join
// control has both outcomes); a fraction of the Deployments run a privileged container.

func namespaceName(i int) string { return fmt.Sprintf("bench-%03d", i) }

func deploymentName(i int) string { return fmt.Sprintf("app-%06d", i) }

// privilegedAt decides which Deployments violate: the same fraction in every namespace
// (Deployment i lives in namespace i % namespaces). The first Deployment of each namespace
// never does; the drift measurement flips those.
func privilegedAt(i, namespaces int, fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	every := max(1, int(1/fraction))
	return (i/namespaces)%every == every-1
}

func benchNamespace(i int) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   namespaceName(i),
		Labels: map[string]string{"isms.dev/owner": fmt.Sprintf("team-%02d", i%17), "isms-bench": "true"},
	}}
}

func defaultDeny(ns string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-deny"},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
	}
}

var images = []string{
	"registry.example.com/shop/cart:2.4.1", "registry.example.com/shop/catalog:1.9.0",
	"registry.example.com/shop/checkout:3.0.2", "registry.example.com/shop/search:5.1.7",
	"registry.example.com/platform/gateway:1.22.3", "registry.example.com/platform/auth:4.2.0",
	"registry.example.com/data/ingest:0.18.5",
}

func benchDeployment(i, namespaces int, privileged bool) *appsv1.Deployment {
	name := deploymentName(i)
	labels := map[string]string{
		"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop",
		"app.kubernetes.io/version": fmt.Sprintf("1.%d.%d", i%13, i%7), "team": fmt.Sprintf("team-%02d", i%17),
	}
	replicas := int32(2 + i%3)
	f := false
	t := true
	container := func(cname, image string, priv bool, port int32) corev1.Container {
		p := priv
		escalate := priv // the API server refuses privileged without privilege escalation
		return corev1.Container{
			Name: cname, Image: image, ImagePullPolicy: corev1.PullIfNotPresent,
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}},
			Env: []corev1.EnvVar{
				{Name: "LOG_LEVEL", Value: "info"}, {Name: "PORT", Value: fmt.Sprint(port)},
				{Name: "SERVICE_NAME", Value: name}, {Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
			},
			SecurityContext: &corev1.SecurityContext{
				Privileged: &p, AllowPrivilegeEscalation: &escalate, ReadOnlyRootFilesystem: &t, RunAsNonRoot: &t,
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
			LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(port)}}, PeriodSeconds: 10},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(port)}}, PeriodSeconds: 5},
		}
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespaceName(i % namespaces), Name: name, Labels: labels,
			Annotations: map[string]string{
				"description":          "Synthetic workload for the isms-operator evaluation benchmark.",
				"isms.dev/owner-email": fmt.Sprintf("team-%02d@example.com", i%17),
			},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName:           "app",
					AutomountServiceAccountToken: &f,
					SecurityContext:              &corev1.PodSecurityContext{RunAsNonRoot: &t, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{
						container("app", images[i%len(images)], privileged, 8080),
						container("proxy", "registry.example.com/platform/proxy:1.4.0", false, 15001),
					},
				},
			},
		},
	}
}

// load creates the estate with a few parallel writers, printing progress.
func load(ctx context.Context, c client.Client, cfg Config, progress func(string)) error {
	for i := range cfg.Namespaces {
		if err := c.Create(ctx, benchNamespace(i)); err != nil {
			return fmt.Errorf("creating namespace: %w", err)
		}
		if i%2 == 0 {
			if err := c.Create(ctx, defaultDeny(namespaceName(i))); err != nil {
				return fmt.Errorf("creating network policy: %w", err)
			}
		}
	}
	const workers = 8
	var (
		next, done atomic.Int64
		wg         sync.WaitGroup
		firstErr   error
		errOnce    sync.Once
	)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.Objects || ctx.Err() != nil {
					return
				}
				d := benchDeployment(i, cfg.Namespaces, privilegedAt(i, cfg.Namespaces, cfg.Violating))
				if err := c.Create(ctx, d); err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("creating deployment %s: %w", d.Name, err) })
					return
				}
				if n := done.Add(1); n%int64(max(1, cfg.Objects/10)) == 0 {
					progress(fmt.Sprintf("loaded %d/%d Deployments (%.0f/s)", n, cfg.Objects, float64(n)/time.Since(start).Seconds()))
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
