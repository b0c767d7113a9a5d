package install

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// CertManagerInjectAnnotation asks cert-manager's CA injector to fill in a webhook's caBundle.
const CertManagerInjectAnnotation = "cert-manager.io/inject-ca-from"

// Check reports every reference between the rendered objects that does not resolve: what the
// Deployment mounts, runs as and is told by its arguments; what the Services select and
// forward to; where the webhooks send requests and who fills in their CA; what the
// Certificate is issued by and for; what the RBAC bindings bind. An empty result means the
// install hangs together.
func Check(o *Objects) []string {
	d, err := o.deployment()
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for _, check := range []func(*Objects, *appsv1.Deployment) []string{
		checkNamespaces, checkPod, checkArgs, checkServices, checkWebhooks, checkCertificates, checkRBAC,
		checkReplicas, checkDisruptionBudgets,
	} {
		problems = append(problems, check(o, d)...)
	}
	return problems
}

func (o *Objects) deployment() (*appsv1.Deployment, error) {
	u := o.Deployment()
	if u == nil {
		return nil, fmt.Errorf("want exactly one Deployment, have %d", len(o.OfKind("Deployment")))
	}
	var d appsv1.Deployment
	return &d, convert(u, &d)
}

func convert(u *unstructured.Unstructured, into any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, into, true); err != nil {
		return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}

// checkNamespaces: every namespaced object is in a namespace the install creates.
func checkNamespaces(o *Objects, _ *appsv1.Deployment) []string {
	var problems []string
	for _, obj := range o.All {
		if ns := obj.GetNamespace(); ns != "" && o.Get("Namespace", "", ns) == nil {
			problems = append(problems, fmt.Sprintf("%s %s is in namespace %q, which is not rendered", obj.GetKind(), obj.GetName(), ns))
		}
	}
	return problems
}

// checkPod: the service account, the volumes' Secrets and claims exist (a Secret may also be
// one a cert-manager Certificate writes).
func checkPod(o *Objects, d *appsv1.Deployment) []string {
	var problems []string
	spec := d.Spec.Template.Spec
	if o.Get("ServiceAccount", d.Namespace, spec.ServiceAccountName) == nil {
		problems = append(problems, fmt.Sprintf("Deployment runs as ServiceAccount %q, which is not rendered", spec.ServiceAccountName))
	}
	for _, c := range spec.Containers {
		for _, e := range c.Env {
			if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil && !o.secretProvided(d.Namespace, ref.SecretKeyRef.Name) {
				problems = append(problems, fmt.Sprintf("env %s reads Secret %q, which nothing renders or issues", e.Name, ref.SecretKeyRef.Name))
			}
		}
	}
	for _, v := range spec.Volumes {
		switch {
		case v.Secret != nil && !o.secretProvided(d.Namespace, v.Secret.SecretName):
			problems = append(problems, fmt.Sprintf("volume %s mounts Secret %q, which nothing renders or issues", v.Name, v.Secret.SecretName))
		case v.PersistentVolumeClaim != nil && o.Get("PersistentVolumeClaim", d.Namespace, v.PersistentVolumeClaim.ClaimName) == nil:
			problems = append(problems, fmt.Sprintf("volume %s mounts claim %q, which is not rendered", v.Name, v.PersistentVolumeClaim.ClaimName))
		}
	}
	if d.Spec.Selector == nil || !labels.SelectorFromSet(d.Spec.Selector.MatchLabels).Matches(labels.Set(d.Spec.Template.Labels)) {
		problems = append(problems, "Deployment's selector does not match its pod template's labels")
	}
	return problems
}

// secretProvided: the Secret is rendered, a Certificate writes it, or the user creates it.
func (o *Objects) secretProvided(namespace, name string) bool {
	if o.Get("Secret", namespace, name) != nil || slices.Contains(o.userSecrets, name) {
		return true
	}
	for _, c := range o.OfKind("Certificate") {
		if c.GetNamespace() == namespace && stringAt(c, "spec", "secretName") == name {
			return true
		}
	}
	return false
}

// checkArgs: the manager's --webhook-* arguments name rendered objects, and the webhook
// certificate rotation is on exactly when no cert-manager Certificate is rendered.
func checkArgs(o *Objects, d *appsv1.Deployment) []string {
	args := Args(d)
	var problems []string
	rotation := args["webhook-cert-rotation"] != "false"
	if rotation == (len(o.OfKind("Certificate")) > 0) {
		problems = append(problems, fmt.Sprintf("--webhook-cert-rotation=%v, but %d cert-manager Certificates are rendered", rotation, len(o.OfKind("Certificate"))))
	}
	if !rotation {
		return problems
	}
	for flag, kind := range map[string]string{"webhook-cert-secret": "Secret", "webhook-service": "Service"} {
		if o.Get(kind, d.Namespace, args[flag]) == nil {
			problems = append(problems, fmt.Sprintf("--%s=%q names no rendered %s in %s", flag, args[flag], kind, d.Namespace))
		}
	}
	for kind, flag := range webhookConfigurationFlags {
		if o.Get(kind, "", args[flag]) == nil {
			problems = append(problems, fmt.Sprintf("--%s=%q names no rendered %s", flag, args[flag], kind))
		}
	}
	return problems
}

// Args returns the manager container's --name=value arguments (a bare --name is "true").
func Args(d *appsv1.Deployment) map[string]string {
	out := map[string]string{}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name != "manager" {
			continue
		}
		for _, a := range c.Args {
			name, value, found := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if !found {
				value = "true"
			}
			out[name] = value
		}
	}
	return out
}

// checkServices: every Service selects the manager's pods and forwards to a port it serves.
func checkServices(o *Objects, d *appsv1.Deployment) []string {
	var problems []string
	for _, u := range o.OfKind("Service") {
		var svc corev1.Service
		if err := convert(u, &svc); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			problems = append(problems, fmt.Sprintf("Service %s does not select the manager's pods", svc.Name))
		}
		for _, p := range svc.Spec.Ports {
			if !servesPort(d, p.TargetPort) {
				problems = append(problems, fmt.Sprintf("Service %s forwards to port %s, which the manager does not declare", svc.Name, p.TargetPort.String()))
			}
		}
	}
	return problems
}

func servesPort(d *appsv1.Deployment, target intstr.IntOrString) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, p := range c.Ports {
			if (target.Type == intstr.Int && p.ContainerPort == target.IntVal) || (target.Type == intstr.String && p.Name == target.StrVal) {
				return true
			}
		}
	}
	return false
}

// checkWebhooks: each webhook calls a rendered Service on one of its ports, and something
// fills in its CA: cert-manager's injector from a rendered Certificate, or the manager's
// rotator, which is told this configuration's name.
func checkWebhooks(o *Objects, d *appsv1.Deployment) []string {
	var problems []string
	for kind, flag := range webhookConfigurationFlags {
		for _, u := range o.OfKind(kind) {
			services, err := webhookServiceRefs(u)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			problems = append(problems, checkCAInjection(o, d, u.GetName(), u.GetAnnotations(), flag)...)
			for name, ref := range services {
				if msg := checkWebhookService(o, ref); msg != "" {
					problems = append(problems, fmt.Sprintf("webhook %s: %s", name, msg))
				}
			}
		}
	}
	return problems
}

// webhookConfigurationFlags are the webhook configuration kinds, and the manager flag that
// names the one of each kind whose CA it injects when it rotates its certificate.
var webhookConfigurationFlags = map[string]string{
	"ValidatingWebhookConfiguration": "webhook-configuration",
	"MutatingWebhookConfiguration":   "mutating-webhook-configuration",
}

// webhookServiceRefs returns the Service each webhook of a configuration calls, by webhook name.
func webhookServiceRefs(u *unstructured.Unstructured) (map[string]*admissionv1.ServiceReference, error) {
	out := map[string]*admissionv1.ServiceReference{}
	switch u.GetKind() {
	case "ValidatingWebhookConfiguration":
		var cfg admissionv1.ValidatingWebhookConfiguration
		if err := convert(u, &cfg); err != nil {
			return nil, err
		}
		for _, wh := range cfg.Webhooks {
			out[wh.Name] = wh.ClientConfig.Service
		}
	default:
		var cfg admissionv1.MutatingWebhookConfiguration
		if err := convert(u, &cfg); err != nil {
			return nil, err
		}
		for _, wh := range cfg.Webhooks {
			out[wh.Name] = wh.ClientConfig.Service
		}
	}
	return out, nil
}

func checkWebhookService(o *Objects, ref *admissionv1.ServiceReference) string {
	if ref == nil {
		return "calls no Service"
	}
	u := o.Get("Service", ref.Namespace, ref.Name)
	if u == nil {
		return fmt.Sprintf("calls Service %s/%s, which is not rendered", ref.Namespace, ref.Name)
	}
	var svc corev1.Service
	if err := convert(u, &svc); err != nil {
		return err.Error()
	}
	port := int32(443)
	if ref.Port != nil {
		port = *ref.Port
	}
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == port }) {
		return fmt.Sprintf("calls port %d of Service %s, which it does not have", port, svc.Name)
	}
	return ""
}

func checkCAInjection(o *Objects, d *appsv1.Deployment, name string, annotations map[string]string, flag string) []string {
	from, annotated := annotations[CertManagerInjectAnnotation]
	args := Args(d)
	rotated := args["webhook-cert-rotation"] != "false" && args[flag] == name
	switch {
	case annotated && rotated:
		return []string{fmt.Sprintf("%s: both cert-manager and the manager inject its CA", name)}
	case annotated:
		ns, cert, _ := strings.Cut(from, "/")
		if o.Get("Certificate", ns, cert) == nil {
			return []string{fmt.Sprintf("%s: %s=%q names no rendered Certificate", name, CertManagerInjectAnnotation, from)}
		}
	case !rotated:
		return []string{fmt.Sprintf("%s: nothing injects its CA (no %s annotation, and the manager rotates the certificate of %q)", name, CertManagerInjectAnnotation, args[flag])}
	}
	return nil
}

// checkCertificates: each Certificate's issuer is rendered, and it covers the webhook Services.
func checkCertificates(o *Objects, _ *appsv1.Deployment) []string {
	var problems []string
	for _, c := range o.OfKind("Certificate") {
		kind, issuer := stringAt(c, "spec", "issuerRef", "kind"), stringAt(c, "spec", "issuerRef", "name")
		ns := c.GetNamespace()
		if kind == "ClusterIssuer" {
			ns = ""
		}
		if o.Get(kind, ns, issuer) == nil {
			problems = append(problems, fmt.Sprintf("Certificate %s is issued by %s %q, which is not rendered", c.GetName(), kind, issuer))
		}
		dnsNames, _, _ := unstructured.NestedStringSlice(c.Object, "spec", "dnsNames")
		for _, svc := range o.webhookServices() {
			if want := svc + ".svc"; !slices.Contains(dnsNames, want) {
				problems = append(problems, fmt.Sprintf("Certificate %s does not cover %s", c.GetName(), want))
			}
		}
	}
	return problems
}

// webhookServices are the "name.namespace" of the Services the webhooks call.
func (o *Objects) webhookServices() []string {
	var out []string
	for _, cfg := range append(o.OfKind("ValidatingWebhookConfiguration"), o.OfKind("MutatingWebhookConfiguration")...) {
		webhooks, _, _ := unstructured.NestedSlice(cfg.Object, "webhooks")
		for _, wh := range webhooks {
			svc, _, _ := unstructured.NestedStringMap(wh.(map[string]any), "clientConfig", "service")
			if name := svc["name"] + "." + svc["namespace"]; svc["name"] != "" && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

func stringAt(u *unstructured.Unstructured, path ...string) string {
	s, _, _ := unstructured.NestedString(u.Object, path...)
	return s
}

// checkRBAC: each binding's role and ServiceAccount subjects are rendered, and each rule that
// names objects names rendered ones.
func checkRBAC(o *Objects, _ *appsv1.Deployment) []string {
	var problems []string
	for _, u := range append(o.OfKind("RoleBinding"), o.OfKind("ClusterRoleBinding")...) {
		var b rbacv1.ClusterRoleBinding // a RoleBinding has the same fields
		if err := convert(u, &b); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		problems = append(problems, checkBinding(o, u.GetKind(), &b)...)
	}
	for _, u := range append(o.OfKind("Role"), o.OfKind("ClusterRole")...) {
		var r rbacv1.ClusterRole // a Role has its rules, and no aggregation
		if err := convert(u, &r); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		problems = append(problems, checkResourceNames(o, u.GetKind(), &r)...)
	}
	return problems
}

func checkBinding(o *Objects, kind string, b *rbacv1.ClusterRoleBinding) []string {
	var problems []string
	roleNS := b.Namespace
	if b.RoleRef.Kind == "ClusterRole" {
		roleNS = ""
	}
	if o.Get(b.RoleRef.Kind, roleNS, b.RoleRef.Name) == nil {
		problems = append(problems, fmt.Sprintf("%s %s binds %s %q, which is not rendered", kind, b.Name, b.RoleRef.Kind, b.RoleRef.Name))
	}
	for _, s := range b.Subjects {
		if s.Kind == rbacv1.ServiceAccountKind && o.Get("ServiceAccount", s.Namespace, s.Name) == nil {
			problems = append(problems, fmt.Sprintf("%s %s binds ServiceAccount %s/%s, which is not rendered", kind, b.Name, s.Namespace, s.Name))
		}
	}
	return problems
}

// namedResources are the resources whose rules the install restricts by name, and their kinds.
var namedResources = map[string]string{"secrets": "Secret", "validatingwebhookconfigurations": "ValidatingWebhookConfiguration",
	"mutatingwebhookconfigurations": "MutatingWebhookConfiguration"}

func checkResourceNames(o *Objects, kind string, r *rbacv1.ClusterRole) []string {
	var problems []string
	for _, rule := range r.Rules {
		for _, res := range rule.Resources {
			objKind, ok := namedResources[res]
			if !ok {
				continue
			}
			if len(rule.ResourceNames) == 0 {
				problems = append(problems, fmt.Sprintf("%s %s grants %s without naming them", kind, r.Name, res))
			}
			for _, name := range rule.ResourceNames {
				ns := r.Namespace
				if objKind != "Secret" {
					ns = "" // webhook configurations are cluster-scoped
				}
				if o.Get(objKind, ns, name) == nil {
					problems = append(problems, fmt.Sprintf("%s %s grants %s %q, which is not rendered", kind, r.Name, res, name))
				}
			}
		}
	}
	return problems
}

// checkReplicas: more than one replica needs what lets replicas share the work: leader
// election, and an evidence ledger they can all reach (PostgreSQL, not SQLite on a
// ReadWriteOnce claim, which one pod at a time mounts) signed with one key.
func checkReplicas(o *Objects, d *appsv1.Deployment) []string {
	if d.Spec.Replicas == nil || *d.Spec.Replicas <= 1 {
		return nil
	}
	n := *d.Spec.Replicas
	args := Args(d)
	var problems []string
	if args["leader-elect"] != "true" {
		problems = append(problems, fmt.Sprintf("%d replicas without --leader-elect", n))
	}
	if args["evidence"] == "false" {
		return problems
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		if claim := o.Get("PersistentVolumeClaim", d.Namespace, v.PersistentVolumeClaim.ClaimName); claim != nil {
			modes, _, _ := unstructured.NestedStringSlice(claim.Object, "spec", "accessModes")
			if slices.Contains(modes, string(corev1.ReadWriteOnce)) {
				problems = append(problems, fmt.Sprintf("%d replicas share the ReadWriteOnce claim %s", n, claim.GetName()))
			}
		}
	}
	if args["evidence-database-url"] == "" && !hasEnv(d, "EVIDENCE_DATABASE_URL") {
		problems = append(problems, fmt.Sprintf("%d replicas keep the evidence ledger in SQLite: set --evidence-database-url (or EVIDENCE_DATABASE_URL)", n))
	}
	if args["evidence-signing-key"] == "" {
		problems = append(problems, fmt.Sprintf("%d replicas would each generate their own ledger signing key: set --evidence-signing-key", n))
	}
	return problems
}

func hasEnv(d *appsv1.Deployment, name string) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "manager" && slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name }) {
			return true
		}
	}
	return false
}

// checkDisruptionBudgets: a PodDisruptionBudget selects the manager's pods and lets one be
// evicted (minAvailable below the replicas), else it would block every node drain.
func checkDisruptionBudgets(o *Objects, d *appsv1.Deployment) []string {
	var problems []string
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	for _, u := range o.OfKind("PodDisruptionBudget") {
		var pdb policyv1.PodDisruptionBudget
		if err := convert(u, &pdb); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || pdb.Spec.Selector == nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			problems = append(problems, fmt.Sprintf("PodDisruptionBudget %s does not select the manager's pods", pdb.Name))
		}
		if !evictable(pdb.Spec, replicas) {
			problems = append(problems, fmt.Sprintf("PodDisruptionBudget %s lets no pod of %d replicas be evicted", pdb.Name, replicas))
		}
	}
	return problems
}

// evictable: the budget allows one eviction with every replica up. A percentage is taken to
// allow it unless it is 100% available or 0% unavailable.
func evictable(spec policyv1.PodDisruptionBudgetSpec, replicas int32) bool {
	switch m, u := spec.MinAvailable, spec.MaxUnavailable; {
	case u != nil:
		return u.String() != "0" && u.String() != "0%"
	case m == nil:
		return true // an empty budget allows every eviction
	case m.Type == intstr.Int:
		return m.IntVal < replicas
	default:
		return m.StrVal != "100%"
	}
}
