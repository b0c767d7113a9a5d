package isms.library.prometheus_scrape_target_test

import data.isms.library.prometheus_scrape_target as policy

violations(obj, inv, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
		with data.inventory as inv
}

deployment(annotations, ports) := {
	"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "payments"},
	"spec": {"template": {
		"metadata": {"labels": {"app": "api", "tier": "backend"}, "annotations": annotations},
		"spec": {"containers": [{"name": "app", "image": "registry.example.com/api:1.0", "ports": ports}]},
	}},
}

metrics_port := [{"name": "metrics", "containerPort": 9090}]

service := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "payments", "labels": {"app": "api"}}, "spec": {"selector": {"app": "api"}}}

service_monitor(ns, selector, namespace_selector) := {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "api", "namespace": ns}, "spec": {"selector": selector, "namespaceSelector": namespace_selector, "endpoints": [{"port": "metrics"}]}}

pod_monitor(ns, selector) := {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": {"name": "api", "namespace": ns}, "spec": {"selector": selector, "podMetricsEndpoints": [{"port": "metrics"}]}}

# inventory places each object under its namespace and kind.
inventory(objs) := {"namespace": {ns: {gv: {kind: {o.metadata.name: o |
	some o in objs
	o.metadata.namespace == ns
	o.apiVersion == gv
	o.kind == kind
}} |
	some x in objs
	gv := x.apiVersion
	kind := x.kind
} |
	some y in objs
	ns := y.metadata.namespace
}}

test_no_declaration_is_not_checked if {
	count(violations(deployment({}, [{"name": "http", "containerPort": 8080}]), inventory([service]), {})) == 0
}

test_metrics_port_without_monitor_fails if {
	vs := violations(deployment({}, metrics_port), inventory([service]), {})
	count(vs) == 1
	some v in vs
	v.msg == "Deployment payments/api exposes metrics (port metrics of container app) but no PodMonitor, and no ServiceMonitor through one of its Services, in namespaces [\"monitoring\", \"payments\"] scrapes it"
}

test_annotation_declares if {
	count(violations(deployment({"prometheus.io/scrape": "true"}, []), inventory([]), {})) == 1
	count(violations(deployment({"prometheus.io/scrape": "false"}, []), inventory([]), {})) == 0
}

test_service_monitor_in_same_namespace_passes if {
	inv := inventory([service, service_monitor("payments", {"matchLabels": {"app": "api"}}, null)])
	count(violations(deployment({}, metrics_port), inv, {})) == 0
}

test_service_monitor_selecting_other_labels_fails if {
	inv := inventory([service, service_monitor("payments", {"matchLabels": {"app": "web"}}, null)])
	count(violations(deployment({}, metrics_port), inv, {})) == 1
}

test_monitor_namespace_needs_a_namespace_selector if {
	sel := {"matchLabels": {"app": "api"}}
	count(violations(deployment({}, metrics_port), inventory([service, service_monitor("monitoring", sel, null)]), {})) == 1
	count(violations(deployment({}, metrics_port), inventory([service, service_monitor("monitoring", sel, {"any": true})]), {})) == 0
	count(violations(deployment({}, metrics_port), inventory([service, service_monitor("monitoring", sel, {"matchNames": ["payments"]})]), {})) == 0
	count(violations(deployment({}, metrics_port), inventory([service, service_monitor("observability", sel, {"any": true})]), {})) == 1
	count(violations(deployment({}, metrics_port), inventory([service, service_monitor("observability", sel, {"any": true})]), {"monitorNamespaces": ["observability"]})) == 0
}

test_pod_monitor_with_expressions_passes if {
	sel := {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["backend"]}, {"key": "canary", "operator": "DoesNotExist"}]}
	count(violations(deployment({}, metrics_port), inventory([pod_monitor("payments", sel)]), {})) == 0
	bad := {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["backend"]}]}
	count(violations(deployment({}, metrics_port), inventory([pod_monitor("payments", bad)]), {})) == 1
}

test_metrics_port_names_parameter if {
	d := deployment({}, [{"name": "prom", "containerPort": 9100}])
	count(violations(d, inventory([]), {})) == 0
	count(violations(d, inventory([]), {"metricsPortNames": ["prom"]})) == 1
}

test_two_metrics_ports_do_not_conflict if {
	d := object.union(deployment({}, []), {"spec": {"template": {"spec": {"containers": [
		{"name": "a", "ports": metrics_port},
		{"name": "b", "ports": [{"name": "http-metrics", "containerPort": 9091}]},
	]}}}})
	count(violations(d, inventory([]), {})) == 1
}
