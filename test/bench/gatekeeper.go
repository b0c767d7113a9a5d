package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// gatekeeperNamespace is where Gatekeeper runs; it reads it from POD_NAMESPACE.
const gatekeeperNamespace = "gatekeeper-system"

// gatekeeperProcess is Gatekeeper's binary, run like the manager against the benchmark's
// control plane with only its audit (and the status and generate operations it needs).
type gatekeeperProcess struct {
	cmd        *exec.Cmd
	healthAddr string
	logPath    string
}

// startGatekeeper runs Gatekeeper outside a pod: no webhook, no certificates, a fake pod name,
// its own ports, and the audit's on-disk chunk cache under dir.
func startGatekeeper(ctx context.Context, binary, kubeconfig, dir string, auditInterval time.Duration) (*gatekeeperProcess, error) {
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	healthAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, metricsPort, _ := strings.Cut(metricsAddr, ":")
	// Gatekeeper empties the cache folder before each audit and fails the audit if it is missing.
	cacheDir, err := filepath.Abs(filepath.Join(dir, "gatekeeper-audit-cache"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "gatekeeper.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, binary,
		"--operation=audit", "--operation=status", "--operation=generate",
		"--disable-cert-rotation", "--debug-use-fake-pod", "--enable-external-data=false",
		// Its own ports: the defaults (8888, :9090) may be taken by another run on the machine.
		"--metrics-backend=prometheus", "--prometheus-port="+metricsPort,
		"--health-addr="+healthAddr, "--metrics-addr=0",
		"--api-cache-dir="+cacheDir,
		"--audit-interval="+strconv.Itoa(int(auditInterval.Seconds())),
		// Audit only the kinds its constraints match, as the manager watches only its Controls'
		// target kinds; by default Gatekeeper would list every kind the API server serves.
		"--audit-match-kind-only=true",
		"--shutdown-delay=0",
		"--log-level=INFO",
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "POD_NAME=gatekeeper-bench", "POD_NAMESPACE="+gatekeeperNamespace)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	g := &gatekeeperProcess{cmd: cmd, healthAddr: healthAddr, logPath: logPath}
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := scraper.Get("http://" + healthAddr + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g, nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	g.stop()
	return nil, fmt.Errorf("gatekeeper was not ready within 120s; see %s", logPath)
}

func (g *gatekeeperProcess) pid() int { return g.cmd.Process.Pid }

func (g *gatekeeperProcess) stop() {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	_ = g.cmd.Wait()
}

// auditRun is one audit: the unix times it started and ended.
type auditRun struct {
	start, end float64
}

// auditLog reads the audits Gatekeeper logs as they finish. Its metrics give their start and
// end only to the second, too coarse for a sweep of a few seconds; its log's audit_finished
// event has the end time and the duration to the nanosecond.
type auditLog struct {
	path    string
	offset  int64
	partial []byte // a line not yet ended
}

// next returns the audits that finished since the last call.
func (l *auditLog) next() ([]auditRun, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, l.offset, 1<<40))
	if err != nil {
		return nil, err
	}
	l.offset += int64(len(data))
	data = append(l.partial, data...)
	var runs []auditRun
	for {
		line, rest, found := bytes.Cut(data, []byte("\n"))
		if !found {
			break
		}
		if run, ok := parseAuditFinished(line); ok {
			runs = append(runs, run)
		}
		data = rest
	}
	l.partial = bytes.Clone(data)
	return runs, nil
}

// parseAuditFinished reads one line of Gatekeeper's JSON log: ok for an audit_finished event,
// whose ts is the audit's end and duration its length.
func parseAuditFinished(line []byte) (auditRun, bool) {
	if !bytes.Contains(line, []byte("audit_finished")) {
		return auditRun{}, false // most lines, one per violation found
	}
	var event struct {
		TS        float64 `json:"ts"`
		EventType string  `json:"event_type"`
		Duration  string  `json:"duration"`
	}
	if err := json.Unmarshal(line, &event); err != nil || event.EventType != "audit_finished" {
		return auditRun{}, false
	}
	d, err := time.ParseDuration(event.Duration)
	if err != nil || d < 0 || event.TS <= 0 {
		return auditRun{}, false
	}
	return auditRun{start: event.TS - d.Seconds(), end: event.TS}, true
}

// The ConstraintTemplate equivalent to the sample Control isms-k8s-001-no-privileged: the same
// kinds (workloads' pod templates and Pods no controller owns), the same three container lists,
// the same test. It is written in Rego v0, the syntax Gatekeeper's rego field accepts.
const privilegedTemplate = `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sbenchprivileged
spec:
  crd:
    spec:
      names:
        kind: K8sBenchPrivileged
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8sbenchprivileged

      workload_kinds := {"Deployment", "StatefulSet", "DaemonSet"}

      container_fields := ["containers", "initContainers", "ephemeralContainers"]

      pod_spec(obj) = spec {
        workload_kinds[obj.kind]
        spec := obj.spec.template.spec
      }

      pod_spec(obj) = spec {
        obj.kind == "Pod"
        count(object.get(obj.metadata, "ownerReferences", [])) == 0
        spec := obj.spec
      }

      violation[{"msg": msg, "details": {"container": c.name, "containerType": field, "image": image}}] {
        spec := pod_spec(input.review.object)
        field := container_fields[_]
        c := object.get(spec, field, [])[_]
        c.securityContext.privileged == true
        image := object.get(c, "image", "")
        msg := sprintf("%s %q (image %q) runs privileged", [field, c.name, image])
      }
`

// The constraint matches what the sample Control targets, kube-system excluded.
const privilegedConstraint = `apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sBenchPrivileged
metadata:
  name: bench-no-privileged
spec:
  match:
    kinds:
    - apiGroups: ["apps"]
      kinds: ["Deployment", "StatefulSet", "DaemonSet"]
    - apiGroups: [""]
      kinds: ["Pod"]
    excludedNamespaces: ["kube-system"]
`

var constraintGVK = schema.GroupVersionKind{Group: "constraints.gatekeeper.sh", Version: "v1beta1", Kind: "K8sBenchPrivileged"}

func decodeManifest(text string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(text), &obj.Object); err != nil {
		return nil, err
	}
	return obj, nil
}

// createGatekeeperPolicy creates the namespace, the template and, once Gatekeeper serves its
// CRD, the constraint; it returns when the constraint was created.
func createGatekeeperPolicy(ctx context.Context, c client.Client) (time.Time, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: gatekeeperNamespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return time.Time{}, err
	}
	template, err := decodeManifest(privilegedTemplate)
	if err != nil {
		return time.Time{}, err
	}
	if err := c.Create(ctx, template); err != nil {
		return time.Time{}, fmt.Errorf("creating the constraint template: %w", err)
	}
	constraint, err := decodeManifest(privilegedConstraint)
	if err != nil {
		return time.Time{}, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := c.Create(ctx, constraint.DeepCopy())
		if err == nil {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("creating the constraint (is its CRD served?): %w", err)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// constraintAudit is what an audit wrote into the constraint's status.
type constraintAudit struct {
	timestamp       string
	totalViolations int64
	listed          []string // names of the violating objects in status.violations (at most 20)
}

// readConstraintAudit extracts the audit's results from a constraint; ok is false before the
// first audit wrote them.
func readConstraintAudit(obj map[string]any) (constraintAudit, bool) {
	var a constraintAudit
	ts, found, err := unstructured.NestedString(obj, "status", "auditTimestamp")
	if err != nil || !found {
		return a, false
	}
	// An integer as the API server's decoder gives it (int64), or as plain JSON does (float64).
	var total int64
	switch v, _, _ := unstructured.NestedFieldNoCopy(obj, "status", "totalViolations"); n := v.(type) {
	case int64:
		total = n
	case float64:
		total = int64(n)
	default:
		return a, false
	}
	a.timestamp, a.totalViolations = ts, total
	violations, _, _ := unstructured.NestedSlice(obj, "status", "violations")
	for _, v := range violations {
		if m, ok := v.(map[string]any); ok {
			if name, ok := m["name"].(string); ok {
				a.listed = append(a.listed, name)
			}
		}
	}
	return a, true
}

func getConstraintAudit(ctx context.Context, c client.Client) (constraintAudit, bool, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(constraintGVK)
	if err := c.Get(ctx, client.ObjectKey{Name: "bench-no-privileged"}, obj); err != nil {
		return constraintAudit{}, false, err
	}
	a, ok := readConstraintAudit(obj.Object)
	return a, ok, nil
}
