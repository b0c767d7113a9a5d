package monitoring

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/template"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// The alerts' unit tests work as `promtool test rules` does: series in the promtool notation
// (`metric{labels} 1+0x30`, one sample per scrape interval), the rule evaluated by
// Prometheus's PromQL engine at every evaluation interval up to the time asked, and the
// alerts firing then compared. A rule's `for` holds as in Prometheus: an alert fires at the
// first evaluation at least `for` after the one its labels first appeared at without a
// gap. (Prometheus's rules package would pull the notifier and service discovery, and with
// them every cloud SDK, into go.mod: the engine and this loop are what the tests need.)

// scrapeInterval spaces the input samples; the rules are evaluated every evalInterval.
const scrapeInterval = time.Minute

// floatSample is one input sample.
type floatSample struct {
	t int64
	f float64
}

func (s floatSample) T() int64                      { return s.t }
func (s floatSample) ST() int64                     { return 0 }
func (s floatSample) F() float64                    { return s.f }
func (s floatSample) H() *histogram.Histogram       { return nil }
func (s floatSample) FH() *histogram.FloatHistogram { return nil }
func (s floatSample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s floatSample) Copy() chunks.Sample           { return s }

// loadSeries parses the input series into a queryable storage.
func loadSeries(t *testing.T, input []string) storage.Queryable {
	t.Helper()
	p := parser.NewParser(parser.Options{})
	var all []storage.Series
	for _, desc := range input {
		lset, values, err := p.ParseSeriesDesc(desc)
		if err != nil {
			t.Fatalf("series %q: %v", desc, err)
		}
		var samples []chunks.Sample
		for i, v := range values {
			if !v.Omitted {
				samples = append(samples, floatSample{t: int64(i) * scrapeInterval.Milliseconds(), f: v.Value})
			}
		}
		all = append(all, storage.NewListSeries(lset, samples))
	}
	return &storage.MockQueryable{MockQuerier: &storage.MockQuerier{
		SelectMockFunction: func(_ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
			var matched []storage.Series
			for _, s := range all {
				if matchesAll(s.Labels(), ms) {
					matched = append(matched, s)
				}
			}
			return &seriesSet{series: matched, i: -1}
		},
	}}
}

func matchesAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

type seriesSet struct {
	series []storage.Series
	i      int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i < len(s.series) }
func (s *seriesSet) At() storage.Series                { return s.series[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// firedAlert is an alert firing at the end of a test: its labels, and its annotations
// expanded as Prometheus would.
type firedAlert struct {
	labels      map[string]string
	annotations map[string]string
}

// evalAlert evaluates the alert every evalInterval from time 0 to at, and returns the alerts
// firing at at.
func evalAlert(t *testing.T, a Alert, q storage.Queryable, at time.Duration) []firedAlert {
	t.Helper()
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1_000_000, Timeout: 10 * time.Second, LookbackDelta: 5 * time.Minute})
	activeSince := map[uint64]time.Duration{}
	var firing []firedAlert
	for ts := time.Duration(0); ts <= at; ts += evalInterval {
		vec := instantQuery(t, engine, q, a.Expr, ts)
		seen := map[uint64]bool{}
		firing = firing[:0]
		for _, s := range vec {
			h := s.Metric.Hash()
			seen[h] = true
			if _, ok := activeSince[h]; !ok {
				activeSince[h] = ts
			}
			if ts-activeSince[h] >= a.For {
				firing = append(firing, fire(t, a, s, engine, q, ts))
			}
		}
		maps.DeleteFunc(activeSince, func(h uint64, _ time.Duration) bool { return !seen[h] })
	}
	return firing
}

func instantQuery(t *testing.T, engine *promql.Engine, q storage.Queryable, expr string, ts time.Duration) promql.Vector {
	t.Helper()
	query, err := engine.NewInstantQuery(context.Background(), q, nil, expr, time.Unix(0, 0).Add(ts))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	defer query.Close()
	res := query.Exec(context.Background())
	vec, err := res.Vector()
	if err != nil {
		t.Fatalf("%s at %s: %v", expr, ts, err)
	}
	return vec
}

// fire builds the alert of one result sample: the sample's labels, the rule's over them, and
// the annotations expanded with Prometheus's template engine.
func fire(t *testing.T, a Alert, s promql.Sample, engine *promql.Engine, q storage.Queryable, ts time.Duration) firedAlert {
	t.Helper()
	lbls := s.Metric.Map()
	delete(lbls, labels.MetricName)
	rule := alertRule(a)
	maps.Copy(lbls, rule.Labels)
	lbls[labels.AlertName] = a.Name
	data := template.AlertTemplateData(lbls, nil, "", s)
	query := func(ctx context.Context, qs string, at time.Time) (promql.Vector, error) {
		return instantQuery(t, engine, q, qs, at.Sub(time.Unix(0, 0))), nil
	}
	out := firedAlert{labels: lbls, annotations: map[string]string{}}
	for k, text := range rule.Annotations {
		exp := template.NewTemplateExpander(context.Background(), "{{$labels := .Labels}}{{$value := .Value}}"+text,
			"__alert_"+a.Name, data, model.TimeFromUnixNano(int64(ts)), query, nil, nil)
		v, err := exp.Expand()
		if err != nil || strings.Contains(v, "<no value>") {
			t.Errorf("%s: annotation %s %q expands to %q: %v", a.Name, k, text, v, err)
		}
		out.annotations[k] = v
	}
	return out
}

// alertByName finds one of Alerts.
func alertByName(t *testing.T, name string) Alert {
	t.Helper()
	for _, a := range Alerts() {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no alert %s", name)
	return Alert{}
}

func (f firedAlert) String() string { return fmt.Sprint(f.labels) }
