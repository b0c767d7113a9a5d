package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/isms-operator/isms-operator/internal/evidenceclient"
)

// Where the endpoint lives in the cluster (config/manager, cmd/manager).
const (
	managerLabelSelector = "control-plane=controller-manager"
	leaderLeaseName      = "isms-operator.isms.dev"
	metricsPort          = 8443
	portForwardTimeout   = 30 * time.Second
)

// portForward forwards a local port to the metrics port of a Running manager pod and returns
// a client of its endpoint over HTTPS with the kubeconfig's credentials.
func (o *evidenceOptions) portForward(ctx context.Context, stderr io.Writer) (*evidenceclient.Client, func(), error) {
	cfg, err := o.restConfig()
	if err != nil {
		return nil, nil, err
	}
	if err := requireToken(cfg); err != nil {
		return nil, nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	pod, err := findManagerPod(ctx, cs, o.namespace)
	if err != nil {
		return nil, nil, err
	}
	port, stop, err := forward(ctx, cfg, cs, pod, stderr)
	if err != nil {
		return nil, nil, err
	}
	hc, err := tunnelClient(cfg)
	if err == nil {
		var c *evidenceclient.Client
		if c, err = evidenceclient.New(fmt.Sprintf("https://127.0.0.1:%d/evidence/", port), hc); err == nil {
			return c, stop, nil
		}
	}
	stop()
	return nil, nil, err
}

func (o *evidenceOptions) restConfig() (*rest.Config, error) {
	cfg, err := o.cluster.restConfig()
	if err != nil {
		return nil, fmt.Errorf("%w (or pass --evidence-url)", err)
	}
	return cfg, nil
}

// requireToken refuses credentials the endpoint cannot check: it authenticates bearer
// tokens by TokenReview, so a client certificate (or basic auth) does not reach it.
func requireToken(cfg *rest.Config) error {
	if cfg.BearerToken != "" || cfg.BearerTokenFile != "" || cfg.ExecProvider != nil || cfg.AuthProvider != nil {
		return nil
	}
	return usagef("the kubeconfig's user has no bearer token (a client certificate only?), and the evidence endpoint " +
		"authenticates tokens, not certificates: pass --token, e.g. --token \"$(kubectl create token SERVICE-ACCOUNT -n NAMESPACE)\" " +
		"for a service account bound to the ClusterRole evidence-reader, or use --evidence-url")
}

// findManagerPod lists the manager's pods and picks one, the leader when the Lease tells.
func findManagerPod(ctx context.Context, cs kubernetes.Interface, namespace string) (corev1.Pod, error) {
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: managerLabelSelector})
	if err != nil {
		return corev1.Pod{}, fmt.Errorf("listing the manager's pods in %s: %w", namespace, err)
	}
	holder := ""
	lease, err := cs.CoordinationV1().Leases(namespace).Get(ctx, leaderLeaseName, metav1.GetOptions{})
	switch {
	case err == nil && lease.Spec.HolderIdentity != nil:
		holder = *lease.Spec.HolderIdentity
	case err != nil && !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err):
		return corev1.Pod{}, fmt.Errorf("reading the leader Lease %s/%s: %w", namespace, leaderLeaseName, err)
	}
	return selectPod(pods.Items, holder, namespace)
}

// selectPod picks the pod to forward to: Running and not being deleted; of those the leader
// (controller-runtime's holder identity is "<pod name>_<uuid>"), else a Ready one, else the
// first by name. The leader is the one appending, so its view of the ledger is the latest.
func selectPod(pods []corev1.Pod, leaseHolder, namespace string) (corev1.Pod, error) {
	var running []corev1.Pod
	for _, p := range pods {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			running = append(running, p)
		}
	}
	if len(running) == 0 {
		return corev1.Pod{}, fmt.Errorf("no Running manager pod (label %s) in namespace %s: is the operator installed there? (--operator-namespace, or --evidence-url)",
			managerLabelSelector, namespace)
	}
	leader, _, _ := strings.Cut(leaseHolder, "_")
	sort.SliceStable(running, func(i, j int) bool {
		a, b := running[i], running[j]
		if (a.Name == leader) != (b.Name == leader) {
			return a.Name == leader
		}
		if podReady(a) != podReady(b) {
			return podReady(a)
		}
		return a.Name < b.Name
	})
	return running[0], nil
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// forward opens the port-forward, over WebSockets where the API server offers them, else
// SPDY, as kubectl port-forward does; it returns the local port and a function closing it.
func forward(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, pod corev1.Pod, stderr io.Writer) (uint16, func(), error) {
	u := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).SubResource("portforward").URL()
	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return 0, nil, err
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	if tunnel, err := portforward.NewSPDYOverWebsocketDialer(u, cfg); err == nil {
		dialer = portforward.NewFallbackDialer(tunnel, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	fctx, cancel := context.WithCancel(ctx)
	ready := make(chan struct{})
	pf, err := portforward.NewOnAddressesWithContext(fctx, dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", metricsPort)}, ready, io.Discard, stderr)
	if err != nil {
		cancel()
		return 0, nil, err
	}
	failed := make(chan error, 1)
	go func() { failed <- pf.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-failed:
		cancel()
		return 0, nil, fmt.Errorf("port-forwarding to pod %s/%s: %w", pod.Namespace, pod.Name, err)
	case <-time.After(portForwardTimeout):
		cancel()
		return 0, nil, fmt.Errorf("port-forwarding to pod %s/%s: not ready after %s", pod.Namespace, pod.Name, portForwardTimeout)
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) != 1 {
		cancel()
		return 0, nil, fmt.Errorf("port-forwarding to pod %s/%s: no local port (%v)", pod.Namespace, pod.Name, err)
	}
	return ports[0].Local, cancel, nil
}

// tunnelClient speaks HTTPS through the tunnel with the kubeconfig's credentials.
func tunnelClient(cfg *rest.Config) (*http.Client, error) {
	base := &http.Transport{TLSClientConfig: &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The metrics server's certificate is self-signed unless the operator was given one,
		// so it cannot be verified. Skipping verification is safe here and only here: the
		// bytes go through the port-forward tunnel that the API server opened, over the
		// kubeconfig's verified TLS connection, to this very pod's port, so nothing in
		// between could present another certificate. A --evidence-url is always verified.
		InsecureSkipVerify: true, //nolint:gosec // see above: the tunnel authenticates the peer
	}}
	rt, err := rest.HTTPWrappersForConfig(cfg, base)
	if err != nil {
		return nil, fmt.Errorf("the kubeconfig's credentials: %w", err)
	}
	return &http.Client{Transport: rt}, nil
}
