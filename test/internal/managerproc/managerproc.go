// Package managerproc runs the manager binary as a separate process for the process tests
// (test/fault, test/ha), so that it can be SIGKILLed as a node failure or an OOM kill would
// (no deferred function, no graceful shutdown) or stopped with SIGTERM as a rolling update
// does, and reads its metrics and probes.
package managerproc

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Manager is one manager process, started again after each kill or stop.
type Manager struct {
	// Binary is the manager built by Build; Kubeconfig the file it connects with.
	Binary, Kubeconfig string
	// Namespace is the operator's namespace (--namespace).
	Namespace string
	// Flags are passed after the ones Start sets (--namespace, and free addresses for the
	// metrics, served over HTTP, and the probes); a later flag wins.
	Flags []string
	// Env is added to the test's environment (as a Deployment's env would be).
	Env []string
	// Log receives the output of every start, each headed by its number.
	Log *os.File
	// Starts counts the starts.
	Starts int

	cmd                    *exec.Cmd
	exited                 chan struct{} // closed once cmd has exited and been reaped
	metricsAddr, probeAddr string
}

// Build builds cmd/manager into dir and returns its path.
func Build(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", bin, "./cmd/manager")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the manager: %v\n%s", err, out)
	}
	return bin
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// FreeAddr is a loopback address with a port nothing listens on now.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Start starts the manager, appending to Log; it does not wait for it.
func (m *Manager) Start() error {
	if m.cmd != nil {
		return fmt.Errorf("the manager is already running")
	}
	metrics, err := FreeAddr()
	if err != nil {
		return err
	}
	probes, err := FreeAddr()
	if err != nil {
		return err
	}
	m.Starts++
	fmt.Fprintf(m.Log, "\n===== test: start %d =====\n", m.Starts)
	args := append([]string{"--namespace", m.Namespace,
		"--metrics-bind-address", metrics, "--metrics-secure=false",
		"--health-probe-bind-address", probes,
	}, m.Flags...)
	cmd := exec.Command(m.Binary, args...)
	cmd.Env = append(append(os.Environ(), m.Env...), "KUBECONFIG="+m.Kubeconfig)
	cmd.Stdout, cmd.Stderr = m.Log, m.Log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", m.Binary, err)
	}
	m.cmd, m.metricsAddr, m.probeAddr, m.exited = cmd, metrics, probes, make(chan struct{})
	go func(exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(m.exited)
	return nil
}

// Kill SIGKILLs the manager and reaps it. A manager that had already exited by itself is an
// error: in a cluster that is a crash.
func (m *Manager) Kill() error {
	if m.cmd == nil {
		return fmt.Errorf("the manager is not running")
	}
	cmd := m.cmd
	m.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-m.exited
	if status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && status.Signaled() && status.Signal() == syscall.SIGKILL {
		return nil
	}
	return fmt.Errorf("the manager had exited by itself before the kill: %s", cmd.ProcessState)
}

// Stop stops the manager gracefully (SIGTERM), as a rolling update does, and fails unless it
// exits successfully within 15s.
func (m *Manager) Stop() error {
	if m.cmd == nil {
		return nil
	}
	cmd := m.cmd
	m.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-m.exited
		return fmt.Errorf("the manager did not stop within 15s of SIGTERM")
	}
	if !cmd.ProcessState.Success() {
		return fmt.Errorf("the manager stopped with %s", cmd.ProcessState)
	}
	return nil
}

// Running reports whether the manager process is alive.
func (m *Manager) Running() bool {
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// MetricsAddr is the host:port of the running manager's metrics server (plain HTTP), where
// the evidence API is served too.
func (m *Manager) MetricsAddr() string { return m.metricsAddr }

var httpClient = http.Client{Timeout: 2 * time.Second}

// Probe GETs a probe path (/readyz, /healthz) and returns its status code.
func (m *Manager) Probe(path string) (int, error) {
	resp, err := httpClient.Get("http://" + m.probeAddr + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

// Metrics scrapes the metrics endpoint.
func (m *Manager) Metrics() (map[string]*dto.MetricFamily, error) {
	resp, err := httpClient.Get("http://" + m.metricsAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// Sweeps scrapes isms_control_sweeps_total by control.
func (m *Manager) Sweeps() (map[string]float64, error) {
	return m.byControl("isms_control_sweeps_total", func(metric *dto.Metric) float64 { return metric.GetCounter().GetValue() })
}

// LastSweepDurations scrapes isms_control_last_sweep_duration_seconds by control.
func (m *Manager) LastSweepDurations() (map[string]time.Duration, error) {
	seconds, err := m.byControl("isms_control_last_sweep_duration_seconds", func(metric *dto.Metric) float64 { return metric.GetGauge().GetValue() })
	out := map[string]time.Duration{}
	for control, s := range seconds {
		out[control] = time.Duration(s * float64(time.Second))
	}
	return out, err
}

func (m *Manager) byControl(family string, value func(*dto.Metric) float64) (map[string]float64, error) {
	families, err := m.Metrics()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, metric := range families[family].GetMetric() {
		for _, l := range metric.GetLabel() {
			if l.GetName() == "control" {
				out[l.GetValue()] = value(metric)
			}
		}
	}
	return out, nil
}

// Leading reports whether the manager holds the leader Lease, from controller-runtime's
// leader_election_master_status gauge.
func (m *Manager) Leading() (bool, error) {
	families, err := m.Metrics()
	if err != nil {
		return false, err
	}
	for _, metric := range families["leader_election_master_status"].GetMetric() {
		if metric.GetGauge().GetValue() == 1 {
			return true, nil
		}
	}
	return false, nil
}

// LogTail is the end of the manager's log, for a failure message.
func (m *Manager) LogTail(lines int) string { return TailFile(m.Log.Name(), lines) }

// TailFile is the last lines of a log, each cut to a readable length.
func TailFile(path string, lines int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	tail := all[max(0, len(all)-lines):]
	for i, line := range tail {
		if len(line) > 400 { // a reconcile error with its stack trace is several KB
			tail[i] = line[:400] + "..."
		}
	}
	return strings.Join(tail, "\n")
}
