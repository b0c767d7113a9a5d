package fault

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// manager runs the manager binary as a separate process, so that it can be SIGKILLed as a
// node failure or an OOM kill would: no deferred function, no graceful shutdown.
type manager struct {
	binary, kubeconfig, namespace, dir string
	evaluationTimeout                  string
	log                                *os.File
	cmd                                *exec.Cmd
	exited                             chan struct{} // closed once cmd has exited and been reaped
	metricsAddr                        string
	starts                             int
}

// buildManager builds cmd/manager into dir.
func buildManager(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", bin, "./cmd/manager")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the manager: %v\n%s", err, out)
	}
	return bin
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start starts the manager, appending to one log across restarts; it does not wait for it.
func (m *manager) start() error {
	if m.cmd != nil {
		return fmt.Errorf("the manager is already running")
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	m.starts++
	fmt.Fprintf(m.log, "\n===== fault test: start %d =====\n", m.starts)
	cmd := exec.Command(m.binary,
		"--namespace", m.namespace,
		"--metrics-bind-address", addr, "--metrics-secure=false",
		"--health-probe-bind-address", "0",
		"--enable-webhooks=false",                          // no serving certificate on envtest
		"--evidence-dir", filepath.Join(m.dir, "evidence"), // the ledger is killed mid-write too
		"--evaluation-timeout", m.evaluationTimeout,
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+m.kubeconfig)
	cmd.Stdout, cmd.Stderr = m.log, m.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", m.binary, err)
	}
	m.cmd, m.metricsAddr, m.exited = cmd, addr, make(chan struct{})
	go func(exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(m.exited)
	return nil
}

// kill SIGKILLs the manager and reaps it. A manager that had already exited by itself is an
// error: in a cluster that is a crash.
func (m *manager) kill() error {
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

// stop stops the manager gracefully (SIGTERM), as a rolling update does.
func (m *manager) stop() error {
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

// running reports whether the manager process is alive.
func (m *manager) running() bool {
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

// sweeps scrapes isms_control_sweeps_total by control.
func (m *manager) sweeps() (map[string]float64, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + m.metricsAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, metric := range families["isms_control_sweeps_total"].GetMetric() {
		for _, l := range metric.GetLabel() {
			if l.GetName() == "control" {
				out[l.GetValue()] = metric.GetCounter().GetValue()
			}
		}
	}
	return out, nil
}

// logTail is the end of the manager's log, for a failure message.
func (m *manager) logTail(lines int) string { return tailFile(m.log.Name(), lines) }

// tailFile is the last lines of a log, each cut to a readable length.
func tailFile(path string, lines int) string {
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
