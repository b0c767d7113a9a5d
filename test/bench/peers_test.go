package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestStatCPUSeconds(t *testing.T) {
	tests := map[string]struct {
		stat    string
		seconds float64
		ok      bool
	}{
		"plain command": {
			stat:    "4242 (gatekeeper) S 1 4242 4242 0 -1 4194560 9000 0 12 0 1234 567 0 0 20 0 31 0 100 2000000000 50000",
			seconds: 18.01, ok: true,
		},
		// The command name is the process's own choice: spaces and parentheses must not shift
		// the fields.
		"command with spaces and parentheses": {
			stat:    "7 (a b) (c) R 1 7 7 0 -1 0 0 0 0 0 250 50 0 0 20 0",
			seconds: 3, ok: true,
		},
		"truncated":   {stat: "7 (x) R 1 7 7 0 -1 0 0 0 0 0 250", ok: false},
		"no command":  {stat: "7 x R 1", ok: false},
		"not numbers": {stat: "7 (x) R 1 7 7 0 -1 0 0 0 0 0 u s", ok: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var seconds float64
			fields, ok := parseStat([]byte(tc.stat))
			if ok {
				seconds, ok = statCPUSeconds(fields)
			}
			if ok != tc.ok || (ok && seconds != tc.seconds) {
				t.Errorf("got %v, %t; want %v, %t", seconds, ok, tc.seconds, tc.ok)
			}
		})
	}
}

func TestParseRSS(t *testing.T) {
	status := "Name:\tgatekeeper\nVmPeak:\t 2000000 kB\nVmHWM:\t  201000 kB\nVmRSS:\t  150000 kB\nThreads:\t31\n"
	now, peak := parseRSS([]byte(status))
	if now != 150000*1024 || peak != 201000*1024 {
		t.Errorf("got now %d, peak %d; want %d, %d", now, peak, 150000*1024, 201000*1024)
	}
	if now, peak := parseRSS([]byte("Name:\tx\n")); now != 0 || peak != 0 {
		t.Errorf("without the fields: got %d, %d; want 0, 0", now, peak)
	}
}

func TestReadConstraintAudit(t *testing.T) {
	tests := map[string]struct {
		status string
		want   constraintAudit
		ok     bool
	}{
		"audited": {
			status: `{auditTimestamp: "2026-12-02T10:00:00Z", totalViolations: 101, violations: [{name: app-000010, namespace: bench-000, kind: Deployment}, {name: app-000020}]}`,
			want:   constraintAudit{timestamp: "2026-12-02T10:00:00Z", totalViolations: 101, listed: []string{"app-000010", "app-000020"}},
			ok:     true,
		},
		"audited, nothing violates": {
			status: `{auditTimestamp: "2026-12-02T10:00:00Z", totalViolations: 0}`,
			want:   constraintAudit{timestamp: "2026-12-02T10:00:00Z"},
			ok:     true,
		},
		// The status controller writes byPod before any audit did.
		"not audited yet": {status: `{byPod: [{id: gatekeeper-bench, enforced: true}]}`},
		"no total":        {status: `{auditTimestamp: "2026-12-02T10:00:00Z"}`},
		"total not a number": {
			status: `{auditTimestamp: "2026-12-02T10:00:00Z", totalViolations: "many"}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var status map[string]any
			if err := yaml.Unmarshal([]byte(tc.status), &status); err != nil {
				t.Fatal(err)
			}
			got, ok := readConstraintAudit(map[string]any{"status": status})
			if ok != tc.ok || got.timestamp != tc.want.timestamp || got.totalViolations != tc.want.totalViolations ||
				strings.Join(got.listed, ",") != strings.Join(tc.want.listed, ",") {
				t.Errorf("got %+v, %t; want %+v, %t", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseAuditFinished(t *testing.T) {
	tests := map[string]struct {
		line string
		want auditRun
		ok   bool
	}{
		"audit finished": {
			line: `{"level":"info","ts":1796138310.5,"logger":"controller","msg":"auditing is complete","process":"audit","event_type":"audit_finished","duration":"2.25s"}`,
			want: auditRun{start: 1796138308.25, end: 1796138310.5}, ok: true,
		},
		"audit started":     {line: `{"level":"info","ts":1796138310.4,"msg":"auditing constraints and violations","event_type":"audit_started"}`},
		"a violation":       {line: `{"level":"info","ts":1796138310.4,"msg":"privileged","event_type":"violation_audited","resource_name":"audit_finished"}`},
		"bad duration":      {line: `{"ts":1796138310.5,"event_type":"audit_finished","duration":"soon"}`},
		"negative":          {line: `{"ts":1796138310.5,"event_type":"audit_finished","duration":"-2s"}`},
		"no time":           {line: `{"event_type":"audit_finished","duration":"2s"}`},
		"not JSON":          {line: `audit_finished in 2s`},
		"cut in the middle": {line: `{"ts":1796138310.5,"event_type":"audit_finished","dur`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, ok := parseAuditFinished([]byte(tc.line))
			if ok != tc.ok || got != tc.want {
				t.Errorf("got %+v, %t; want %+v, %t", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestAuditLogNext: a line Gatekeeper has only half written when the log is read counts once
// it is whole, and no audit is returned twice.
func TestAuditLogNext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatekeeper.log")
	finished := func(ts int) string {
		return fmt.Sprintf(`{"ts":%d,"event_type":"audit_finished","duration":"1s"}`+"\n", ts)
	}
	whole, half := finished(100), finished(200)
	if err := os.WriteFile(path, []byte(`{"ts":99,"event_type":"audit_started"}`+"\n"+whole+half[:20]), 0o644); err != nil {
		t.Fatal(err)
	}
	l := &auditLog{path: path}
	runs, err := l.next()
	if err != nil || len(runs) != 1 || runs[0] != (auditRun{start: 99, end: 100}) {
		t.Fatalf("first read: got %+v, %v; want the audit that ended at 100", runs, err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(half[20:]); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	runs, err = l.next()
	if err != nil || len(runs) != 1 || runs[0] != (auditRun{start: 199, end: 200}) {
		t.Fatalf("second read: got %+v, %v; want only the audit that ended at 200", runs, err)
	}
	if runs, err = l.next(); err != nil || len(runs) != 0 {
		t.Fatalf("third read: got %+v, %v; want nothing new", runs, err)
	}
}

func TestCPUBetween(t *testing.T) {
	samples := []cpuSample{{at: 10, process: 1, controlSet: 5}, {at: 11, process: 2, controlSet: 6},
		{at: 12, process: 4, controlSet: 9}, {at: 13, process: 4.5, controlSet: 9.5}}
	tests := map[string]struct {
		start, end            float64
		process, controlPlane float64
		ok                    bool
	}{
		"between samples":         {start: 10.5, end: 12.5, process: 3.5, controlPlane: 4.5, ok: true},
		"on samples":              {start: 11, end: 12, process: 2, controlPlane: 3, ok: true},
		"started before sampling": {start: 9, end: 12},
		"not ended in samples":    {start: 11, end: 14},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, c, ok := cpuBetween(samples, tc.start, tc.end)
			if ok != tc.ok || p != tc.process || c != tc.controlPlane {
				t.Errorf("got %v, %v, %t; want %v, %v, %t", p, c, ok, tc.process, tc.controlPlane, tc.ok)
			}
		})
	}
}
