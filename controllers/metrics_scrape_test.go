package controllers

import (
	"crypto/tls"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/monitoring"
)

// TestDashboardAndAlertsUseExportedMetrics scrapes a running manager's /metrics, as the
// ServiceMonitor of config/prometheus does (a ServiceAccount bound to the metrics-reader
// ClusterRole), with a failing Control, a Finding and an attested Control in the cluster, and
// checks that every metric the alerts and the dashboard query is served: a metric renamed in
// the operator breaks this test. It also counts the series per Control, for the cardinality
// table of docs/operations.md.
func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	requireAPIServer(t)
	addr := freeAddress(t)
	operator.stop()
	var err error
	if operator, err = startOperator(operatorSettings{restart: true, metricsAddr: addr}); err != nil {
		t.Fatal(err)
	}
	ns := uniqueName("metrics")
	createNamespace(t, ns, nil)
	g := NewWithT(t)
	g.Expect(k8s.Create(testCtx, deployment(ns, "web", true))).To(Succeed())
	failing := control(uniqueName("metrics-fail"), deploymentTargets(ns), privilegedPolicy)
	g.Expect(k8s.Create(testCtx, failing)).To(Succeed())
	attested := attestedControl(uniqueName("metrics-attested"), "1h", "10m", "approvers")
	g.Expect(k8s.Create(testCtx, attested)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getControl(g, failing.Name).Status.Result).To(Equal(ismsv1.ResultFail))
		g.Expect(getControl(g, attested.Name).Status.Result).To(Equal(ismsv1.ResultPending))
	}, eventually, poll).Should(Succeed())

	token := metricsReaderToken(t, ns)
	var families map[string]*dto.MetricFamily
	g.Eventually(func(g Gomega) {
		families = scrape(g, "https://"+addr+"/metrics", token)
		g.Expect(seriesOf(families, failing.Name)).To(ContainElement("isms_control_last_sweep_timestamp_seconds"))
		g.Expect(seriesOf(families, attested.Name)).To(ContainElement("isms_control_result"))
	}, eventually, poll).Should(Succeed())

	exported := exportedNames(families)
	checkQueriedMetrics(t, exported)
	evaluated, attestedSeries := seriesOf(families, failing.Name), seriesOf(families, attested.Name)
	t.Logf("series of an evaluated Control: %d %v", len(evaluated), evaluated)
	t.Logf("series of an attested Control: %d %v", len(attestedSeries), attestedSeries)
	all, isms := countSeries(families)
	t.Logf("series in the scrape: %d, of which isms_*: %d", all, isms)
	independent := independentSeries(families)
	t.Logf("isms_* series independent of Controls, by family: %v", independent)
	if n := sumOf(independent); n != seriesIndependentOfControls {
		t.Errorf("%d isms_* series independent of Controls; docs/operations.md says %d", n, seriesIndependentOfControls)
	}
	if len(evaluated) != seriesPerEvaluatedControl || len(attestedSeries) != seriesPerAttestedControl {
		t.Errorf("series per Control: %d evaluated, %d attested; docs/operations.md says %d and %d",
			len(evaluated), len(attestedSeries), seriesPerEvaluatedControl, seriesPerAttestedControl)
	}
}

// The series per Control, as docs/operations.md's cardinality table states them.
const (
	seriesPerEvaluatedControl = 9
	seriesPerAttestedControl  = 3
	// Every one of them starts at zero, so the scrape holds them all.
	seriesIndependentOfControls = 147
)

func sumOf(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// checkQueriedMetrics: every metric an alert or a dashboard panel queries is exported.
func checkQueriedMetrics(t *testing.T, exported map[string]bool) {
	t.Helper()
	dashboard, err := os.ReadFile(filepath.Join(repoRoot(), monitoring.DashboardPath))
	if err != nil {
		t.Fatal(err)
	}
	panels, err := monitoring.DashboardExpressions(dashboard)
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []map[string][]string{monitoring.RuleExpressions(), panels} {
		for title, exprs := range set {
			for _, e := range exprs {
				names, err := monitoring.MetricNames(e)
				if err != nil {
					t.Errorf("%s: %v", title, err)
				}
				for _, n := range names {
					if !exported[n] && !slices.Contains(monitoring.SyntheticMetrics, n) {
						t.Errorf("%s queries %s, which the manager does not export", title, n)
					}
				}
			}
		}
	}
}

// metricsReaderToken is a token of a ServiceAccount bound to config/rbac's metrics-reader.
func metricsReaderToken(t *testing.T, ns string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "config", "rbac", "metrics_reader_role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(data, &role); err != nil {
		t.Fatal(err)
	}
	role.Name = uniqueName(role.Name)
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: uniqueName("scraper")},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "scraper", Namespace: ns}}}
	if err := k8s.Create(testCtx, &role); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Create(testCtx, binding); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(testEnv.Config)
	if err != nil {
		t.Fatal(err)
	}
	token := serviceAccountToken(t, cs, ns, "scraper")
	awaitAllowed(t, cs, "system:serviceaccount:"+ns+":scraper", "/metrics")
	return token
}

// scrape reads the whole exposition (up to 16 MiB) and parses it.
func scrape(g Gomega, url, token string) map[string]*dto.MetricFamily {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, err := http.NewRequestWithContext(testCtx, http.MethodGet, url, nil)
	g.Expect(err).NotTo(HaveOccurred())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	g.Expect(err).NotTo(HaveOccurred(), "the metrics server is not serving yet")
	defer func() { _ = resp.Body.Close() }()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	g.Expect(err).NotTo(HaveOccurred())
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	g.Expect(err).NotTo(HaveOccurred())
	return families
}

// exportedNames are the names a query can select: a histogram's _bucket, _sum and _count.
func exportedNames(families map[string]*dto.MetricFamily) map[string]bool {
	names := map[string]bool{}
	for name, mf := range families {
		names[name] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM || mf.GetType() == dto.MetricType_SUMMARY {
			names[name+"_sum"], names[name+"_count"] = true, true
		}
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			names[name+"_bucket"] = true
		}
	}
	return names
}

// seriesOf returns the names of the series with the label control=name, sorted.
func seriesOf(families map[string]*dto.MetricFamily, control string) []string {
	var out []string
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "control" && l.GetValue() == control {
					out = append(out, name)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// independentSeries counts, by family, the isms_* series that belong to no Control and no
// framework (the cardinality table's "independent of Controls" row).
func independentSeries(families map[string]*dto.MetricFamily) map[string]int {
	out := map[string]int{}
	for name, mf := range families {
		if !strings.HasPrefix(name, "isms_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabel(m, "control") || hasLabel(m, "framework") {
				continue
			}
			_, n := countSeries(map[string]*dto.MetricFamily{name: {Name: mf.Name, Type: mf.Type, Metric: []*dto.Metric{m}}})
			out[name] += n
		}
	}
	return out
}

func hasLabel(m *dto.Metric, name string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return true
		}
	}
	return false
}

// countSeries counts the series Prometheus stores of a scrape: a histogram's buckets (+Inf
// included), _sum and _count each, a summary's quantiles, _sum and _count.
func countSeries(families map[string]*dto.MetricFamily) (all, isms int) {
	for name, mf := range families {
		n := 0
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetHistogram() != nil:
				buckets := m.GetHistogram().GetBucket()
				n += len(buckets) + 2
				if len(buckets) == 0 || !math.IsInf(buckets[len(buckets)-1].GetUpperBound(), 1) {
					n++ // the +Inf bucket, implicit
				}
			case m.GetSummary() != nil:
				n += len(m.GetSummary().GetQuantile()) + 2
			default:
				n++
			}
		}
		all += n
		if strings.HasPrefix(name, "isms_") {
			isms += n
		}
	}
	return all, isms
}
