package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// managerProcess is the real manager binary, run against the benchmark's control plane so that
// its memory is its own.
type managerProcess struct {
	cmd         *exec.Cmd
	metricsAddr string
	pprofAddr   string
	logPath     string
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func startManager(ctx context.Context, binary, kubeconfig, namespace, dir string, evidence bool) (*managerProcess, error) {
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	pprofAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, binary,
		"--namespace", namespace,
		"--metrics-bind-address", metricsAddr, "--metrics-secure=false",
		"--health-probe-bind-address", "0",
		"--pprof-bind-address", pprofAddr,
		// The benchmark's control plane has no webhook configuration or serving certificate.
		"--enable-webhooks=false",
		"--zap-log-level", "info",
		"--evidence="+strconv.FormatBool(evidence), "--evidence-dir", filepath.Join(dir, "evidence"),
	)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	m := &managerProcess{cmd: cmd, metricsAddr: metricsAddr, pprofAddr: pprofAddr, logPath: logPath}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := m.metrics(); err == nil {
			return m, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	m.stop()
	return nil, fmt.Errorf("the manager did not serve metrics within 60s; see %s", logPath)
}

func (m *managerProcess) stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	_ = m.cmd.Wait()
}

// scraper asks for uncompressed metrics: gzip would put the benchmark's polling into the
// manager's CPU profile.
var scraper = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}

// metrics scrapes the manager's metrics endpoint.
func (m *managerProcess) metrics() (map[string]*dto.MetricFamily, error) {
	resp, err := scraper.Get("http://" + m.metricsAddr + "/metrics")
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

// labelled returns the value of the gauge whose label has the given value.
func labelled(families map[string]*dto.MetricFamily, name, label, value string) (float64, bool) {
	for _, metric := range families[name].GetMetric() {
		for _, l := range metric.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return metric.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// unlabelled returns the value of a metric without labels, gauge or counter (0 if absent).
func unlabelled(families map[string]*dto.MetricFamily, name string) float64 {
	for _, metric := range families[name].GetMetric() {
		if metric.GetCounter() != nil {
			return metric.GetCounter().GetValue()
		}
		return metric.GetGauge().GetValue()
	}
	return 0
}

// perControl returns a metric's value by its control label.
func perControl(families map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	f, ok := families[name]
	if !ok {
		return out
	}
	for _, metric := range f.GetMetric() {
		var control string
		for _, l := range metric.GetLabel() {
			if l.GetName() == "control" {
				control = l.GetValue()
			}
		}
		switch {
		case metric.Gauge != nil:
			out[control] = metric.GetGauge().GetValue()
		case metric.Counter != nil:
			out[control] = metric.GetCounter().GetValue()
		}
	}
	return out
}

// heapAfterGC forces a collection in the manager and returns its live heap (HeapAlloc).
func (m *managerProcess) heapAfterGC() (uint64, error) {
	resp, err := http.Get("http://" + m.pprofAddr + "/debug/pprof/heap?debug=1&gc=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			_, _ = io.Copy(io.Discard, resp.Body)
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("no HeapAlloc in the heap profile")
}

// saveMemStats writes the manager's runtime.MemStats (the end of a debug heap profile): where
// its resident memory goes beyond the live heap.
func (m *managerProcess) saveMemStats(path string) error {
	resp, err := http.Get("http://" + m.pprofAddr + "/debug/pprof/heap?debug=1")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if i := bytes.Index(body, []byte("# runtime.MemStats")); i >= 0 {
		body = body[i:]
	}
	return os.WriteFile(path, body, 0o644)
}

// saveProfile writes one of the manager's pprof profiles (heap, allocs, goroutine, or
// profile?seconds=N for CPU).
func (m *managerProcess) saveProfile(name, path string) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s", m.pprofAddr, name))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// cpuProfile writes a CPU profile of the manager over the next seconds.
func (m *managerProcess) cpuProfile(path string, seconds int) error {
	return m.saveProfile(fmt.Sprintf("profile?seconds=%d", seconds), path)
}

// rss returns the manager's resident set now and at its peak, from /proc.
func (m *managerProcess) rss() (now, peak uint64, err error) { return rssOf(m.cmd.Process.Pid) }

// rssOf returns a process's resident set now and at its peak, from /proc/<pid>/status.
func rssOf(pid int) (now, peak uint64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	now, peak = parseRSS(data)
	return now, peak, nil
}

// parseRSS reads VmRSS and VmHWM (the peak) from the text of /proc/<pid>/status, in bytes.
func parseRSS(status []byte) (now, peak uint64) {
	for _, line := range strings.Split(string(status), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseUint(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			now = kb * 1024
		case "VmHWM:":
			peak = kb * 1024
		}
	}
	return now, peak
}

// processCPU returns the CPU seconds (user and system) used so far by the measured process
// (under name), the control plane's kube-apiserver and etcd (children of this process), and
// this process.
func processCPU(name string, pid int) map[string]float64 {
	out := map[string]float64{}
	if s, ok := cpuOf(pid); ok {
		out[name] = s
	}
	self := os.Getpid()
	if s, ok := cpuOf(self); ok {
		out["benchmark"] = s
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			continue
		}
		name := strings.TrimSpace(string(comm))
		if name != "kube-apiserver" && name != "etcd" {
			continue
		}
		if parent, ok := parentOf(pid); !ok || parent != self {
			continue
		}
		if s, ok := cpuOf(pid); ok {
			out[name] += s
		}
	}
	return out
}

// statFields returns the fields of /proc/<pid>/stat after the command name.
func statFields(pid int) ([]string, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	return parseStat(data)
}

// parseStat splits the text of /proc/<pid>/stat after the command name, which is in
// parentheses and may itself hold spaces and parentheses.
func parseStat(data []byte) ([]string, bool) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(string(data[i+1:])), true
}

func parentOf(pid int) (int, bool) {
	f, ok := statFields(pid)
	if !ok || len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

func cpuOf(pid int) (float64, bool) {
	f, ok := statFields(pid)
	if !ok {
		return 0, false
	}
	return statCPUSeconds(f)
}

// statCPUSeconds is utime + stime, fields 14 and 15 of /proc/<pid>/stat (11 and 12 after the
// command name), in seconds (USER_HZ is 100 on Linux).
func statCPUSeconds(f []string) (float64, bool) {
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (utime + stime) / 100, true
}

// apiserverRequests reads kube-apiserver's apiserver_request_total, summed by "VERB
// resource[/subresource]".
func apiserverRequests(ctx context.Context, cfg *rest.Config) (map[string]float64, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	raw, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading kube-apiserver metrics: %w", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parsing kube-apiserver metrics: %w", err)
	}
	out := map[string]float64{}
	fam := families["apiserver_request_total"]
	if fam == nil {
		return out, nil
	}
	for _, m := range fam.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		what := labels["verb"] + " " + labels["resource"]
		if sub := labels["subresource"]; sub != "" {
			what += "/" + sub
		}
		out[what] += m.GetCounter().GetValue()
	}
	return out, nil
}
