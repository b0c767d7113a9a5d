package monitoring

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every query of the dashboard and every alert parses and names its metrics; that the names
// are the manager's is checked against a real scrape in controllers (TestDashboardAndAlertsUseExportedMetrics).
func TestExpressionsParse(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", DashboardPath))
	if err != nil {
		t.Fatal(err)
	}
	panels, err := DashboardExpressions(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(panels) < 10 {
		t.Fatalf("the dashboard has %d panels with queries", len(panels))
	}
	for _, set := range []map[string][]string{panels, RuleExpressions()} {
		for title, exprs := range set {
			for _, e := range exprs {
				names, err := MetricNames(e)
				if err != nil {
					t.Errorf("%s: %v", title, err)
				} else if len(names) == 0 {
					t.Errorf("%s: %q names no metric", title, e)
				}
			}
		}
	}
}

func TestMetricNames(t *testing.T) {
	tests := map[string]struct {
		expr, want, err string
	}{
		"a join":         {expr: `(a > 0) * on (control) group_left (owner) b{x="y"}`, want: "a,b"},
		"grafana ranges": {expr: `rate(c_bucket[$__rate_interval])`, want: "c_bucket"},
		"no name":        {expr: `{job="x"}`, err: "names no metric"},
		"syntax":         {expr: `sum by (`, err: "parse error"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := MetricNames(tc.expr)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != tc.want {
				t.Errorf("MetricNames = %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}
