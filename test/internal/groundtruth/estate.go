package groundtruth

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The Estate is Deployments whose properties are drawn from a seeded generator, in namespaces
// with or without an owner label. Each property is one that a chosen library Control judges
// (truth_test.go states how, in Go), so the expected Findings follow from the objects alone.

const (
	// OwnerLabel is the Namespace label the owner-label control requires.
	OwnerLabel       = "isms.dev/owner"
	estateNamespaces = 12
	deploymentsPerNS = 25
)

// imageKind is how a container's image is referenced.
type imageKind int

const (
	imagePinned imageKind = iota
	imageLatest
	imageUntagged
	imageDigest
)

var imageRefs = map[imageKind]string{
	imagePinned:   "registry.example.com/shop/cart:2.4.1",
	imageLatest:   "registry.example.com/shop/cart:latest",
	imageUntagged: "registry.example.com:5000/shop/cart",
	imageDigest:   "registry.example.com/shop/cart@sha256:0d2f1b4c3a9e8f7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170654",
}

// workload is the generator's description of one Deployment.
type workload struct {
	privileged  bool // the sidecar runs privileged
	hostNetwork bool
	appImage    imageKind
	sidecar     bool
	podNonRoot  bool  // pod-level runAsNonRoot: true
	appNonRoot  *bool // the app container's own runAsNonRoot, overriding the pod's when set
}

// randomWorkload draws a workload in which each kind of violation has the probability rate.
// Namespaces have different rates (violationRate), so that some pairs fail on many subjects
// and others flip between passing and failing as the churn redraws their few Deployments.
func randomWorkload(rng *rand.Rand, rate float64) workload {
	bad := func() bool { return rng.Float64() < rate }
	w := workload{
		privileged:  bad(),
		hostNetwork: bad(),
		appImage:    []imageKind{imagePinned, imageDigest}[rng.IntN(2)],
		sidecar:     rng.IntN(3) == 0,
		podNonRoot:  true,
	}
	if bad() {
		w.appImage = []imageKind{imageLatest, imageUntagged}[rng.IntN(2)]
	}
	if bad() {
		if rng.IntN(2) == 0 {
			w.podNonRoot = false
		} else {
			w.appNonRoot = ptr.To(false)
		}
	} else if rng.IntN(4) == 0 {
		w.appNonRoot = ptr.To(true) // compliant either way, set on the container as well
	}
	return w
}

// violationRate is a namespace's rate of each violation: with 25 Deployments, about half a
// failing subject per control in a quarter of the namespaces, and six in another quarter.
func violationRate(ns string) float64 {
	var i int
	if _, err := fmt.Sscanf(ns, "fault-%d", &i); err != nil {
		return 0
	}
	return []float64{0.02, 0.05, 0.1, 0.25}[i%4]
}

// deployment builds the Deployment a workload describes.
func (w workload) deployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": name}
	app := corev1.Container{Name: "app", Image: imageRefs[w.appImage]}
	if w.appNonRoot != nil {
		app.SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr.To(*w.appNonRoot)}
	}
	spec := corev1.PodSpec{Containers: []corev1.Container{app}, HostNetwork: w.hostNetwork}
	if w.sidecar || w.privileged {
		// The API server refuses privileged with allowPrivilegeEscalation false: it is left unset.
		spec.Containers = append(spec.Containers, corev1.Container{
			Name: "proxy", Image: imageRefs[imagePinned],
			SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(w.privileged)},
		})
	}
	if w.podNonRoot {
		spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
}

func estateNamespace(i int) string { return fmt.Sprintf("fault-%02d", i) }

// Estate is what the churn knows of the objects it created. It is only a pool to pick from:
// the ground truth is read back from the API server, so a write whose outcome is unknown (the
// API server went away mid-request) does not make it wrong.
type Estate struct {
	mu          sync.Mutex
	deployments []client.ObjectKey
	created     int
}

func (e *Estate) newName() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.created++
	return fmt.Sprintf("app-%04d", e.created)
}

func (e *Estate) add(key client.ObjectKey) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deployments = append(e.deployments, key)
}

func (e *Estate) remove(key client.ObjectKey) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deployments = slices.DeleteFunc(e.deployments, func(k client.ObjectKey) bool { return k == key })
}

func (e *Estate) pick(rng *rand.Rand) (client.ObjectKey, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.deployments) == 0 {
		return client.ObjectKey{}, false
	}
	return e.deployments[rng.IntN(len(e.deployments))], true
}

// Load creates the namespaces (two in three with an owner label) and their Deployments.
func (e *Estate) Load(ctx context.Context, c client.Client, rng *rand.Rand) error {
	for i := range estateNamespaces {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: estateNamespace(i)}}
		if i%3 != 0 {
			ns.Labels = map[string]string{OwnerLabel: fmt.Sprintf("team-%d", i)}
		}
		if err := c.Create(ctx, ns); err != nil {
			return err
		}
		for range deploymentsPerNS {
			if err := e.create(ctx, c, rng, ns.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

func (e *Estate) create(ctx context.Context, c client.Client, rng *rand.Rand, ns string) error {
	d := randomWorkload(rng, violationRate(ns)).deployment(ns, e.newName())
	if err := c.Create(ctx, d); err != nil {
		return fmt.Errorf("creating deployment %s/%s: %w", ns, d.Name, err)
	}
	e.add(client.ObjectKeyFromObject(d))
	return nil
}

// ChurnOnce makes one change a user might make: redraw a Deployment's properties (most
// often), create or delete one, or add or remove a namespace's owner label.
func (e *Estate) ChurnOnce(ctx context.Context, c client.Client, rng *rand.Rand) error {
	switch n := rng.IntN(10); {
	case n < 6:
		key, ok := e.pick(rng)
		if !ok {
			return nil
		}
		return e.redraw(ctx, c, rng, key)
	case n < 8:
		return e.create(ctx, c, rng, estateNamespace(rng.IntN(estateNamespaces)))
	case n < 9:
		key, ok := e.pick(rng)
		if !ok {
			return nil
		}
		e.remove(key)
		err := c.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}})
		return client.IgnoreNotFound(err)
	default:
		return toggleOwner(ctx, c, estateNamespace(rng.IntN(estateNamespaces)))
	}
}

// redraw gives a Deployment a new pod template from the generator.
func (e *Estate) redraw(ctx context.Context, c client.Client, rng *rand.Rand, key client.ObjectKey) error {
	template := randomWorkload(rng, violationRate(key.Namespace)).deployment(key.Namespace, key.Name).Spec.Template
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var d appsv1.Deployment
		if err := c.Get(ctx, key, &d); err != nil {
			return err
		}
		d.Spec.Template = template
		return c.Update(ctx, &d)
	})
	if apierrors.IsNotFound(err) {
		e.remove(key)
		return nil
	}
	return err
}

func toggleOwner(ctx context.Context, c client.Client, name string) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var ns corev1.Namespace
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &ns); err != nil {
			return err
		}
		if _, ok := ns.Labels[OwnerLabel]; ok {
			delete(ns.Labels, OwnerLabel)
		} else {
			if ns.Labels == nil {
				ns.Labels = map[string]string{}
			}
			ns.Labels[OwnerLabel] = "team-churn"
		}
		return c.Update(ctx, &ns)
	})
}
