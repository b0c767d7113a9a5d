package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
)

// webhookCertConfig is where the webhook's serving certificate comes from.
type webhookCertConfig struct {
	// rotation: the operator issues the certificate itself (cert-controller, as Gatekeeper
	// does), keeps it in secret, renews it, and injects its CA into configuration. Off, the
	// certificate is mounted into --webhook-cert-dir by other means (cert-manager).
	rotation      bool
	secret        string
	configuration string
	mutating      string
	service       string
}

func webhookCertFlags(fs *flag.FlagSet, c *webhookCertConfig) {
	fs.BoolVar(&c.rotation, "webhook-cert-rotation", true, "Issue and renew the webhook's certificate (in --webhook-cert-secret) and inject its CA into --webhook-configuration; false when cert-manager issues it.")
	fs.StringVar(&c.secret, "webhook-cert-secret", "isms-operator-webhook-server-cert", "The Secret, in the operator's namespace, that holds the webhook's certificate and CA (it must exist; the kubelet mounts it into --webhook-cert-dir).")
	fs.StringVar(&c.configuration, "webhook-configuration", "isms-operator-validating-webhook-configuration", "The ValidatingWebhookConfiguration whose webhooks get the CA.")
	fs.StringVar(&c.mutating, "mutating-webhook-configuration", "isms-operator-mutating-webhook-configuration", "The MutatingWebhookConfiguration (the Attestation webhook, which stamps identities) whose webhooks get the CA.")
	fs.StringVar(&c.service, "webhook-service", "isms-operator-webhook-service", "The Service, in the operator's namespace, the webhooks are called through: the certificate is for its DNS names.")
}

// certName and keyName are the files the webhook server reads from its certificate folder, and
// the keys of the Secret the kubelet mounts there.
const (
	certName = "tls.crt"
	keyName  = "tls.key"
)

// setupWebhookCerts closes ready once the webhook's certificate can be served: with rotation,
// when the rotator has written it, the kubelet has mounted it and the CA is in the webhook
// configuration; without, when the mounted files appear.
func setupWebhookCerts(mgr ctrl.Manager, cfg config, ready chan struct{}) error {
	if !cfg.webhookCerts.rotation {
		return mgr.Add(&fileWaiter{path: filepath.Join(cfg.webhookCertDir, certName), done: ready})
	}
	c := cfg.webhookCerts
	dnsName := c.service + "." + cfg.namespace + ".svc"
	r := &rotator.CertRotator{
		SecretKey:      types.NamespacedName{Namespace: cfg.namespace, Name: c.secret},
		CertDir:        cfg.webhookCertDir,
		CAName:         "isms-operator-webhook-ca",
		CAOrganization: "isms-operator",
		DNSName:        dnsName,
		ExtraDNSNames:  []string{dnsName + ".cluster.local"},
		IsReady:        ready,
		Webhooks:       []rotator.WebhookInfo{{Name: c.configuration, Type: rotator.Validating}, {Name: c.mutating, Type: rotator.Mutating}},
		CertName:       certName,
		KeyName:        keyName,
		// Every replica serves the webhook, so every replica keeps its certificate current.
		RequireLeaderElection: false,
	}
	if err := rotator.AddRotator(narrowedManager(mgr, cfg.namespace, c), r); err != nil {
		return fmt.Errorf("setting up the webhook certificate rotator: %w", err)
	}
	return nil
}

// narrowedManager is mgr, except that the rotator's own cache, made from GetConfig, lists and
// watches only the Secret and the webhook configurations it is told of, by name: the operator's
// RBAC grants it those objects and no others (config/rbac/webhook_cert_role.yaml).
func narrowedManager(mgr ctrl.Manager, namespace string, c webhookCertConfig) ctrl.Manager {
	cfg := rest.CopyConfig(mgr.GetConfig())
	names := collectionNames{
		"/api/v1/namespaces/" + namespace + "/secrets":                          c.secret,
		"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations": c.configuration,
		"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations":   c.mutating,
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return names.transport(rt) })
	return &configManager{Manager: mgr, config: cfg}
}

type configManager struct {
	ctrl.Manager
	config *rest.Config
}

func (m *configManager) GetConfig() *rest.Config { return m.config }

// certWaitingServer starts the webhook server once its certificate is ready: controller-
// runtime's server stops the manager when the files are missing at start, and the kubelet
// mounts a Secret's new contents only a while after the rotator wrote them.
type certWaitingServer struct {
	webhook.Server
	ready <-chan struct{}
}

func (s *certWaitingServer) Start(ctx context.Context) error {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return nil
	}
	return s.Server.Start(ctx)
}

// fileWaiter closes done when path exists. It runs on every replica.
type fileWaiter struct {
	path string
	done chan struct{}
}

func (w *fileWaiter) NeedLeaderElection() bool { return false }

func (w *fileWaiter) Start(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if _, err := os.Stat(w.path); err == nil {
			close(w.done)
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// closedChecker passes once ch is closed.
func closedChecker(ch <-chan struct{}, msg string) healthz.Checker {
	return func(*http.Request) error {
		select {
		case <-ch:
			return nil
		default:
			return errors.New(msg)
		}
	}
}
