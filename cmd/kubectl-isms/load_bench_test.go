package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/isms-operator/isms-operator/internal/offline"
)

// writeDeployments writes YAML Deployments of about 2.8 KB each (one in ten privileged),
// spread over files of at most fileBytes, into dir, until they hold totalBytes. It returns
// how many it wrote.
func writeDeployments(tb testing.TB, dir string, totalBytes, fileBytes int64) int {
	tb.Helper()
	n, written := 0, int64(0)
	for file := 0; written < totalBytes; file++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("deployments-%03d.yaml", file)))
		if err != nil {
			tb.Fatal(err)
		}
		buf := bufio.NewWriter(f)
		w := &countingWriter{w: buf}
		for w.n < fileBytes-8<<10 && written+w.n < totalBytes {
			fmt.Fprintf(w, deploymentTemplate, n, n%50, n%10 == 0, n%7, n)
			n++
		}
		written += w.n
		if err := buf.Flush(); err != nil {
			tb.Fatal(err)
		}
		if err := f.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	return n
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// deploymentTemplate is a Deployment as manifests hold them: labels, annotations, two
// containers with resources, probes, environment and volumes. Arguments: index, namespace
// index, privileged, proxy version, index.
const deploymentTemplate = `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%d
  namespace: team-%d
  labels: {app.kubernetes.io/name: shop, app.kubernetes.io/part-of: store, app.kubernetes.io/managed-by: helm, tier: backend}
  annotations:
    description: "The shop's backend: it serves the catalogue, the basket and the checkout, and talks to the payment provider through the egress gateway."
    owner: team-shop@example.com
spec:
  replicas: 3
  selector: {matchLabels: {app.kubernetes.io/name: shop}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: shop, app.kubernetes.io/part-of: store, tier: backend}
    spec:
      serviceAccountName: shop
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: registry.example.com/shop/backend@sha256:4f1d1c6f7e2b0a9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d
        imagePullPolicy: Always
        args: ["--listen=:8080", "--metrics=:9090", "--log-format=json", "--catalogue-url=http://catalogue.shop.svc:8080"]
        ports: [{name: http, containerPort: 8080}, {name: metrics, containerPort: 9090}]
        env:
        - {name: GOMAXPROCS, value: "2"}
        - {name: DATABASE_HOST, value: postgres.shop.svc.cluster.local}
        - {name: DATABASE_PASSWORD, valueFrom: {secretKeyRef: {name: shop-db, key: password}}}
        - {name: PAYMENT_URL, value: "https://payments.example.com/v2"}
        resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {cpu: "1", memory: 512Mi}}
        securityContext: {privileged: %t, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
        livenessProbe: {httpGet: {path: /healthz, port: http}, initialDelaySeconds: 5, periodSeconds: 10}
        readinessProbe: {httpGet: {path: /readyz, port: http}, periodSeconds: 5}
        volumeMounts: [{name: tmp, mountPath: /tmp}, {name: config, mountPath: /etc/shop, readOnly: true}]
      - name: proxy
        image: registry.example.com/mesh/proxy:1.%d.0
        args: ["proxy", "--upstream=127.0.0.1:8080", "--listen=:15001", "--tls-cert=/etc/certs/tls.crt", "--tls-key=/etc/certs/tls.key"]
        ports: [{name: proxy, containerPort: 15001}]
        resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {cpu: 500m, memory: 128Mi}}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
        volumeMounts: [{name: certs, mountPath: /etc/certs, readOnly: true}]
      volumes:
      - {name: tmp, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
      - {name: config, configMap: {name: shop-config-%d}}
      - {name: certs, secret: {secretName: shop-tls}}
`

// privilegedControl targets the Deployments.
const privilegedControl = `apiVersion: isms.dev/v1alpha1
kind: Control
metadata: {name: no-privileged}
spec:
  id: A.8.9
  title: No privileged containers
  owner: platform
  severity: high
  targets: {kinds: [{apiGroups: [apps], kinds: [Deployment]}]}
  policy:
    rego: |
      package bench.privileged
      violation contains {"msg": sprintf("container %q is privileged", [c.name])} if {
        some c in input.review.object.spec.template.spec.containers
        c.securityContext.privileged
      }
`

// heapSampler records the peak of the Go heap (live objects and those not collected yet)
// while it runs, sampling every millisecond.
type heapSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

func sampleHeap() *heapSampler {
	runtime.GC()
	h := &heapSampler{stop: make(chan struct{})}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			h.peak = max(h.peak, sample[0].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// Peak stops the sampler and returns the peak heap in MiB.
func (h *heapSampler) Peak() float64 {
	close(h.stop)
	h.done.Wait()
	return float64(h.peak) / (1 << 20)
}

// BenchmarkEvalLargeManifests measures `kubectl isms eval` on 50 MB of Deployments (two
// files, each under the 32 MiB limit of one file) and one Control that targets them: the
// peak Go heap of the whole run, load and evaluation; then what the loaded input holds per
// object (its JSON), and what it holds once converted into the evaluator's Subjects.
//
//	go test ./cmd/kubectl-isms/ -run '^$' -bench EvalLargeManifests -benchtime 1x
func BenchmarkEvalLargeManifests(b *testing.B) {
	dir := b.TempDir()
	n := writeDeployments(b, dir, 50<<20, 25<<20)
	controls := filepath.Join(b.TempDir(), "control.yaml")
	if err := os.WriteFile(controls, []byte(privilegedControl), 0o600); err != nil {
		b.Fatal(err)
	}
	var peak float64
	for b.Loop() {
		h := sampleHeap()
		code := run(context.Background(), []string{"eval", "-f", controls, "-f", dir, "--fail-on=none", "-o", "json"}, nil, io.Discard, io.Discard)
		peak = h.Peak()
		if code != exitOK {
			b.Fatalf("exit code %d", code)
		}
	}
	b.ReportMetric(peak, "peak-heap-MiB")
	b.ReportMetric(float64(n), "objects")
	held, subjects := retainedHeap(b, dir)
	b.ReportMetric(held/float64(n), "loaded-B/object")
	b.ReportMetric(subjects/float64(n), "subject-B/object")
}

// retainedHeap returns what the loaded inputs of dir hold on the heap (each object's JSON),
// and then what they hold once converted into the evaluator's Subjects (the JSON let go), in
// bytes.
func retainedHeap(b *testing.B, dir string) (loaded, subjects float64) {
	base := liveHeap()
	in, err := load([]string{dir}, nil)
	if err != nil {
		b.Fatal(err)
	}
	loaded = liveHeap() - base
	deployments := map[schema.GroupKind]bool{{Group: "apps", Kind: "Deployment"}: true}
	converted, _, err := offline.Subjects(in.objects, deployments, "default")
	if err != nil {
		b.Fatal(err)
	}
	subjects = liveHeap() - base
	runtime.KeepAlive(in)
	runtime.KeepAlive(converted)
	return loaded, subjects
}

// liveHeap is the heap in use after a collection, in bytes.
func liveHeap() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc)
}
