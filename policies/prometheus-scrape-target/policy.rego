package isms.library.prometheus_scrape_target

# ISMS-LIB-104: a workload whose pods declare a scrape target (the prometheus.io/scrape
# annotation or a metrics port) is selected by a PodMonitor, or through one of its
# namespace's Services by a ServiceMonitor. Monitors and Services are read by namespace.

obj := input.review.object

ns := obj.metadata.namespace

subject := sprintf("%s %s/%s", [obj.kind, ns, obj.metadata.name])

template := object.get(obj, ["spec", "template"], {})

pod_labels := object.get(template, ["metadata", "labels"], {})

port_names := {n | n := object.get(input.parameters, "metricsPortNames", ["metrics", "http-metrics"])[_]}

monitor_namespaces := {ns} | {n | n := object.get(input.parameters, "monitorNamespaces", ["monitoring"])[_]}

metrics_ports := sort([sprintf("port %s of container %s", [p.name, c.name]) |
	some c in object.get(template, ["spec", "containers"], [])
	some p in object.get(c, "ports", [])
	p.name in port_names
])

declared_by := "the prometheus.io/scrape annotation" if {
	object.get(template, ["metadata", "annotations", "prometheus.io/scrape"], "") == "true"
} else := metrics_ports[0]

# selects holds when a LabelSelector selects labels; an empty selector selects everything,
# as in the Kubernetes API.
selects(selector, labels) if {
	every k, v in object.get(selector, "matchLabels", {}) {
		labels[k] == v
	}
	every e in object.get(selector, "matchExpressions", []) {
		expression_holds(e, labels)
	}
}

expression_holds(e, labels) if {
	e.operator == "In"
	labels[e.key] in e.values
}

expression_holds(e, labels) if {
	e.operator == "NotIn"
	not labels[e.key] in e.values
}

expression_holds(e, labels) if {
	e.operator == "Exists"
	labels[e.key]
}

expression_holds(e, labels) if {
	e.operator == "DoesNotExist"
	not labels[e.key]
}

# watches_namespace holds when a monitor in namespace mns scrapes the workload's namespace:
# without any or matchNames in its namespaceSelector, a monitor scrapes its own namespace.
watches_namespace(monitor, mns) if {
	mns == ns
	not other_namespaces(monitor)
}

other_namespaces(monitor) if monitor.spec.namespaceSelector.any == true

other_namespaces(monitor) if count(object.get(monitor, ["spec", "namespaceSelector", "matchNames"], [])) > 0

watches_namespace(monitor, _) if monitor.spec.namespaceSelector.any == true

watches_namespace(monitor, _) if ns in object.get(monitor, ["spec", "namespaceSelector", "matchNames"], [])

monitors(kind) := [[mns, m] |
	some mns in monitor_namespaces
	some m in object.get(data.inventory, ["namespace", mns, "monitoring.coreos.com/v1", kind], {})
]

scraped_by contains sprintf("PodMonitor %s/%s", [mns, m.metadata.name]) if {
	some [mns, m] in monitors("PodMonitor")
	watches_namespace(m, mns)
	selects(object.get(m, ["spec", "selector"], {}), pod_labels)
}

scraped_by contains sprintf("ServiceMonitor %s/%s via Service %s", [mns, m.metadata.name, svc.metadata.name]) if {
	some svc in object.get(data.inventory, ["namespace", ns, "v1", "Service"], {})
	svc_selector := object.get(svc, ["spec", "selector"], {})
	count(svc_selector) > 0
	every k, v in svc_selector {
		pod_labels[k] == v
	}
	some [mns, m] in monitors("ServiceMonitor")
	watches_namespace(m, mns)
	selects(object.get(m, ["spec", "selector"], {}), object.get(svc, ["metadata", "labels"], {}))
}

violation contains {"msg": msg, "details": {"declaredBy": declared_by, "monitorNamespaces": sort(monitor_namespaces)}} if {
	declared_by
	count(scraped_by) == 0
	msg := sprintf("%s exposes metrics (%s) but no PodMonitor, and no ServiceMonitor through one of its Services, in namespaces %v scrapes it", [subject, declared_by, sort(monitor_namespaces)])
}
