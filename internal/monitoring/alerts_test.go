package monitoring

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

// target is the labels Prometheus gives every series of the manager.
const target = `job="isms-operator", instance="10.0.0.7:8443"`

func result(control, id, severity, result, values string) string {
	return `isms_control_result{` + target + `, control="` + control + `", id="` + id + `", severity="` + severity +
		`", owner="team-` + control + `", result="` + result + `"} ` + values
}

func perControl(metric, control, values string) string {
	return metric + `{` + target + `, control="` + control + `"} ` + values
}

// onTarget adds the target's labels to those of an alert on a per-Control series.
func onTarget(l map[string]string) map[string]string {
	l["job"], l["instance"] = "isms-operator", "10.0.0.7:8443"
	return l
}

type alertCase struct {
	series []string
	at     time.Duration
	// want are the labels of the alerts firing at at (alertname implied), in any order.
	want []map[string]string
}

var alertCases = map[string]map[string]alertCase{
	"IsmsControlFailing": {
		"a high control failing for 15m pages its owner": {
			series: []string{result("no-priv", "K8S-001", "high", "Fail", "1x30"), result("low-one", "K8S-009", "low", "Fail", "1x30")},
			at:     20 * time.Minute,
			want:   []map[string]string{onTarget(map[string]string{"control": "no-priv", "id": "K8S-001", "severity": "high", "owner": "team-no-priv", "result": "Fail"})},
		},
		"not before 15 minutes": {
			series: []string{result("no-priv", "K8S-001", "critical", "Fail", "1x30")},
			at:     14 * time.Minute,
		},
		"a control passing again stops it": {
			series: []string{result("no-priv", "K8S-001", "critical", "Fail", "1x20"), result("no-priv", "K8S-001", "critical", "Pass", "_x20 1x10")},
			at:     28 * time.Minute,
		},
	},
	"IsmsFindingsOverdue": {
		"overdue Findings carry the control's owner": {
			series: []string{perControl("isms_control_findings_overdue", "a", "0x5 2x20"), perControl("isms_control_findings_overdue", "b", "0x30"),
				result("a", "A-1", "medium", "Fail", "1x30"), result("b", "B-1", "high", "Fail", "1x30")},
			at:   15 * time.Minute,
			want: []map[string]string{onTarget(map[string]string{"control": "a", "id": "A-1", "severity": "medium", "owner": "team-a"})},
		},
	},
	"IsmsControlError": {
		"Error for 15 minutes": {
			series: []string{result("bad-rego", "X-1", "low", "Error", "1x30")},
			at:     16 * time.Minute,
			want:   []map[string]string{onTarget(map[string]string{"control": "bad-rego", "id": "X-1", "severity": "low", "owner": "team-bad-rego", "result": "Error"})},
		},
	},
	"IsmsEvaluationErrors": {
		"subjects erroring for 30 minutes": {
			series: []string{perControl("isms_control_errored_subjects", "a", "3x40"), result("a", "A-1", "high", "Fail", "1x40")},
			at:     31 * time.Minute,
			want:   []map[string]string{onTarget(map[string]string{"control": "a", "id": "A-1", "severity": "high", "owner": "team-a"})},
		},
		"not for 29": {
			series: []string{perControl("isms_control_errored_subjects", "a", "3x40"), result("a", "A-1", "high", "Fail", "1x40")},
			at:     29 * time.Minute,
		},
	},
	"IsmsControlStuckPending": {
		"Pending for 30 minutes": {
			series: []string{result("waits", "W-1", "medium", "Pending", "1x40"), result("fine", "F-1", "medium", "Pending", "1x5"), result("fine", "F-1", "medium", "Pass", "_x5 1x35")},
			at:     35 * time.Minute,
			want:   []map[string]string{onTarget(map[string]string{"control": "waits", "id": "W-1", "severity": "medium", "owner": "team-waits", "result": "Pending"})},
		},
	},
	"IsmsOperatorDown": {
		"no target scraped for 10 minutes": {
			series: []string{`up{` + target + `} 1x5 0x20`},
			at:     16 * time.Minute,
			want:   []map[string]string{{"severity": "critical", "owner": OperatorOwner}},
		},
		"one of two replicas up is enough": {
			series: []string{`up{` + target + `} 0x20`, `up{job="isms-operator", instance="10.0.0.8:8443"} 1x20`},
			at:     15 * time.Minute,
		},
		"no series at all": {
			series: []string{`up{job="other"} 1x20`},
			at:     11 * time.Minute,
			want:   []map[string]string{{"severity": "critical", "owner": OperatorOwner}},
		},
	},
	"IsmsSweepsLate": {
		// The last sweep at time 0; interval 5m, so late after 15m, firing 15m later.
		"an evaluated control not swept in three intervals": {
			series: []string{perControl("isms_control_last_sweep_timestamp_seconds", "a", "0x40"), perControl("isms_control_sweep_interval_seconds", "a", "300x40"),
				result("a", "A-1", "high", "Pass", "1x40"),
				perControl("isms_control_last_sweep_timestamp_seconds", "b", "0x40"), perControl("isms_control_sweep_interval_seconds", "b", "300x40"),
				result("b", "B-1", "high", "Error", "1x40")},
			at:   31 * time.Minute,
			want: []map[string]string{{"job": "isms-operator", "severity": "high", "owner": OperatorOwner}},
		},
		"a control swept on time": {
			series: []string{perControl("isms_control_last_sweep_timestamp_seconds", "a", "0+60x40"), perControl("isms_control_sweep_interval_seconds", "a", "300x40"),
				result("a", "A-1", "high", "Pass", "1x40")},
			at: 35 * time.Minute,
		},
	},
	"IsmsEvidenceLedgerBehind": {
		"appends lag": {
			series: []string{`isms_evidence_append_lag_seconds{` + target + `} 0x5 45x20`, `isms_evidence_queue_length{` + target + `} 10x25`},
			at:     16 * time.Minute,
			want:   []map[string]string{{"job": "isms-operator", "instance": "10.0.0.7:8443", "severity": "high", "owner": OperatorOwner}},
		},
		"keeping up": {
			series: []string{`isms_evidence_append_lag_seconds{` + target + `} 0.3x25`, `isms_evidence_queue_length{` + target + `} 100x25`},
			at:     20 * time.Minute,
		},
	},
	"IsmsEvidenceLedgerFailing": {
		"failed commits": {
			series: []string{`isms_evidence_failed_batches_total{` + target + `} 0x5 1+1x20`, `isms_evidence_leaves_dropped_total{` + target + `} 0x25`},
			at:     15 * time.Minute,
			want:   []map[string]string{{"job": "isms-operator", "instance": "10.0.0.7:8443", "severity": "high", "owner": OperatorOwner}},
		},
		"none": {
			series: []string{`isms_evidence_failed_batches_total{` + target + `} 3x25`, `isms_evidence_leaves_dropped_total{` + target + `} 0x25`},
			at:     20 * time.Minute,
		},
	},
}

func TestAlerts(t *testing.T) {
	for _, a := range Alerts() {
		cases, ok := alertCases[a.Name]
		if !ok {
			t.Errorf("alert %s has no test cases", a.Name)
			continue
		}
		for name, tc := range cases {
			t.Run(a.Name+"/"+name, func(t *testing.T) {
				got := evalAlert(t, a, loadSeries(t, tc.series), tc.at)
				compareAlerts(t, a, got, tc.want)
			})
		}
	}
	for name := range alertCases {
		alertByName(t, name) // a case for an alert that no longer exists
	}
}

func compareAlerts(t *testing.T, a Alert, got []firedAlert, want []map[string]string) {
	t.Helper()
	var gotLabels, wantLabels []string
	for _, f := range got {
		gotLabels = append(gotLabels, model.LabelSet(toLabelSet(f.labels)).String())
		if f.labels["owner"] == "" {
			t.Errorf("%s fired without an owner: %v", a.Name, f.labels)
		}
		if u := f.annotations["runbook_url"]; u != a.RunbookURL() {
			t.Errorf("%s: runbook_url %q", a.Name, u)
		}
	}
	for _, w := range want {
		l := maps.Clone(w)
		l["alertname"] = a.Name
		wantLabels = append(wantLabels, model.LabelSet(toLabelSet(l)).String())
	}
	slices.Sort(gotLabels)
	slices.Sort(wantLabels)
	if !slices.Equal(gotLabels, wantLabels) {
		t.Errorf("%s firing:\n got %v\nwant %v", a.Name, gotLabels, wantLabels)
	}
}

func toLabelSet(m map[string]string) model.LabelSet {
	ls := model.LabelSet{}
	for k, v := range m {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls
}

// The generated PrometheusRule is what Prometheus itself accepts as a rule file.
func TestRulesAreValidRuleFiles(t *testing.T) {
	groups, err := yaml.Marshal(PrometheusRule().Spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, errs := rulefmt.Parse(groups, false, model.UTF8Validation, parser.NewParser(parser.Options{}), nil); len(errs) > 0 {
		t.Fatalf("rulefmt: %v", errs)
	}
}

// TestManifestsAreGenerated fails when config/prometheus is stale: run
// `go run ./hack/gen-prometheus`.
func TestManifestsAreGenerated(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range FileNames(files) {
		path := filepath.Join("..", "..", "config", "prometheus", name)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(files[name]) {
			t.Errorf("%s is stale: run `go run ./hack/gen-prometheus`", path)
		}
	}
}

// Every alert's runbook_url points at a section of docs/operations.md that exists.
func TestRunbooksExist(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(doc), -1) {
		anchors[Anchor(m[1])] = true
	}
	for _, a := range Alerts() {
		if !strings.HasPrefix(a.RunbookURL(), RunbookBase+"#") || !anchors[Anchor(a.Name)] {
			t.Errorf("%s: docs/operations.md has no section %q for its runbook_url", a.Name, a.Name)
		}
	}
}
