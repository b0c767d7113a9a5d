package isms.library.node_log_agent

# ISMS-LIB-103: every Node runs a log agent DaemonSet, and every agent DaemonSet is ready on
# all the nodes it is scheduled on. Agents are found by label, by key in agentNamespaces.

obj := input.review.object

agent_label := object.get(input.parameters, "agentLabel", "app.kubernetes.io/name")

agent_names := object.get(input.parameters, "agentNames", ["fluent-bit", "fluentd", "vector", "promtail", "alloy", "grafana-agent", "filebeat", "auditbeat", "opentelemetry-collector"])

agent_namespaces := object.get(input.parameters, "agentNamespaces", ["logging", "monitoring", "observability", "kube-system"])

agent(ds) if object.get(ds, ["metadata", "labels", agent_label], "") in agent_names

agents contains sprintf("%s/%s", [ns, name]) if {
	some ns in agent_namespaces
	some name, ds in object.get(data.inventory, ["namespace", ns, "apps/v1", "DaemonSet"], {})
	agent(ds)
}

agent_object(key) := data.inventory.namespace[ns]["apps/v1"].DaemonSet[name] if {
	[ns, name] := split(key, "/")
}

# blocking_taints are the Node's taints that keep pods off it, except those the DaemonSet
# controller tolerates for every DaemonSet.
blocking_taints contains t if {
	some t in object.get(obj, ["spec", "taints"], [])
	t.effect in {"NoSchedule", "NoExecute"}
	not startswith(t.key, "node.kubernetes.io/")
}

effect_matches(tol, taint) if object.get(tol, "effect", "") in {"", taint.effect}

tolerated(tol, taint) if {
	effect_matches(tol, taint)
	tol.operator == "Exists"
	object.get(tol, "key", "") in {"", taint.key}
}

tolerated(tol, taint) if {
	effect_matches(tol, taint)
	object.get(tol, "operator", "Equal") == "Equal"
	tol.key == taint.key
	object.get(tol, "value", "") == object.get(taint, "value", "")
}

runs_on_node(ds) if {
	spec := ds.spec.template.spec
	labels := object.get(obj, ["metadata", "labels"], {})
	every k, v in object.get(spec, "nodeSelector", {}) {
		labels[k] == v
	}
	tolerations := object.get(spec, "tolerations", [])
	every taint in blocking_taints {
		some tol in tolerations
		tolerated(tol, taint)
	}
}

violation contains {"msg": msg, "details": {"agentNamespaces": agent_namespaces}} if {
	obj.kind == "Node"
	count(agents) == 0
	msg := sprintf("Node %s: no log agent DaemonSet (label %s one of %v) exists in namespaces %v, so its logs are not collected", [obj.metadata.name, agent_label, agent_names, agent_namespaces])
}

violation contains {"msg": msg, "details": {"agents": listed, "taints": [t.key | some t in blocking_taints]}} if {
	obj.kind == "Node"
	count(agents) > 0
	not any_runs_on_node
	listed := array.slice(sort(agents), 0, 5)
	msg := sprintf("Node %s runs none of the log agents %v: their nodeSelector excludes it or they do not tolerate its taints %v", [obj.metadata.name, listed, sort([t.key | some t in blocking_taints])])
}

any_runs_on_node if {
	some key in agents
	runs_on_node(agent_object(key))
}

violation contains {"msg": msg, "details": {"desired": desired, "ready": ready, "available": available}} if {
	obj.kind == "DaemonSet"
	agent(obj)
	status := object.get(obj, "status", {})
	desired := object.get(status, "desiredNumberScheduled", 0)
	ready := object.get(status, "numberReady", 0)
	available := object.get(status, "numberAvailable", 0)
	min([ready, available]) < desired
	msg := sprintf("DaemonSet %s/%s (log agent) is ready on %d and available on %d of the %d nodes it should run on: logs of the others are not collected", [obj.metadata.namespace, obj.metadata.name, ready, available, desired])
}
