package monitoring

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// DashboardPath is the Grafana dashboard, from the repository's root.
const DashboardPath = "config/grafana/isms-operator.json"

// SyntheticMetrics are the series Prometheus makes itself when it scrapes, which no exporter
// serves.
var SyntheticMetrics = []string{"up"}

// grafanaVariables stand in for the variables Grafana substitutes before it sends a query.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

// dashboardPanel is what the checks read of a panel: its queries, and a row's panels.
type dashboardPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

// DashboardExpressions returns the PromQL of every query of the dashboard, by panel title.
func DashboardExpressions(dashboard []byte) (map[string][]string, error) {
	var d struct {
		Panels []dashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(dashboard, &d); err != nil {
		return nil, fmt.Errorf("reading the dashboard: %w", err)
	}
	out := map[string][]string{}
	var walk func([]dashboardPanel)
	walk = func(panels []dashboardPanel) {
		for _, p := range panels {
			for _, t := range p.Targets {
				out[p.Title] = append(out[p.Title], t.Expr)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out, nil
}

// RuleExpressions returns the expression of every alert, by alert name.
func RuleExpressions() map[string][]string {
	out := map[string][]string{}
	for _, a := range Alerts() {
		out[a.Name] = []string{a.Expr}
	}
	return out
}

// MetricNames parses expr (with Grafana's variables substituted) and returns the metric
// names it selects, sorted; a selector without a name is an error, as it would select
// series of any exporter.
func MetricNames(expr string) ([]string, error) {
	parsed, err := parser.NewParser(parser.Options{}).ParseExpr(grafanaVariables.Replace(expr))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, matchers := range parser.ExtractSelectors(parsed) {
		name := ""
		for _, m := range matchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			return nil, fmt.Errorf("%s: a selector names no metric", expr)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}
