package monitoring

import (
	"path/filepath"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func build(t *testing.T, dir string) resmap.ResMap {
	t.Helper()
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), filepath.Join("..", "..", dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return m
}

// config/default must come up on a cluster without prometheus-operator's CRDs; the overlay
// adds the monitoring objects, and the ServiceMonitor selects the metrics Service it renders
// and binds the ClusterRole it names.
func TestPrometheusOverlay(t *testing.T) {
	for _, r := range build(t, "config/default").Resources() {
		if r.GetGvk().Group == monitoringv1.SchemeGroupVersion.Group {
			t.Errorf("config/default has a %s: it would not apply without prometheus-operator", r.GetKind())
		}
	}
	res := build(t, "config/overlays/prometheus")
	byKindName := map[string]bool{}
	var metricsService map[string]string
	for _, r := range res.Resources() {
		byKindName[r.GetKind()+"/"+r.GetName()] = true
		if r.GetKind() == "Service" && r.GetName() == "isms-operator-controller-manager-metrics-service" {
			metricsService = r.GetLabels()
			if r.GetNamespace() != Namespace {
				t.Errorf("the metrics Service is in %s, the ServiceMonitor in %s", r.GetNamespace(), Namespace)
			}
		}
	}
	for _, want := range []string{"ServiceMonitor/isms-operator-metrics", "PrometheusRule/isms-operator-alerts",
		"ClusterRole/" + metricsReader, "ServiceAccount/" + scraper, "Secret/" + scraperToken} {
		if !byKindName[want] {
			t.Errorf("config/overlays/prometheus renders no %s", want)
		}
	}
	for k, v := range ServiceMonitor().Spec.Selector.MatchLabels {
		if metricsService[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s; the metrics Service has %v", k, v, metricsService)
		}
	}
}
