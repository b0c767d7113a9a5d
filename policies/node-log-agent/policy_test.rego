package isms.library.node_log_agent_test

import data.isms.library.node_log_agent as policy

violations(obj, inv, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
		with data.inventory as inv
}

node(name, labels, taints) := {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}}

agent(name, node_selector, tolerations, status) := {
	"apiVersion": "apps/v1", "kind": "DaemonSet",
	"metadata": {"name": name, "namespace": "logging", "labels": {"app.kubernetes.io/name": "fluent-bit"}},
	"spec": {"template": {"spec": {"nodeSelector": node_selector, "tolerations": tolerations, "containers": [{"name": "fluent-bit", "image": "fluent/fluent-bit:3.0"}]}}},
	"status": status,
}

inventory(daemonsets) := {"namespace": {"logging": {"apps/v1": {"DaemonSet": {ds.metadata.name: ds | some ds in daemonsets}}}}}

gpu_taint := {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}

test_node_with_agent_passes if {
	count(violations(node("n1", {}, []), inventory([agent("fluent-bit", {}, [], {})]), {})) == 0
}

test_node_without_any_agent_fails if {
	vs := violations(node("n1", {}, []), inventory([]), {})
	count(vs) == 1
	some v in vs
	startswith(v.msg, "Node n1: no log agent DaemonSet")
}

test_untolerated_taint_fails_tolerated_passes if {
	n := node("gpu-1", {}, [gpu_taint])
	vs := violations(n, inventory([agent("fluent-bit", {}, [], {})]), {})
	some v in vs
	v.msg == "Node gpu-1 runs none of the log agents [\"logging/fluent-bit\"]: their nodeSelector excludes it or they do not tolerate its taints [\"nvidia.com/gpu\"]"
	count(violations(n, inventory([agent("fluent-bit", {}, [{"operator": "Exists"}], {})]), {})) == 0
	count(violations(n, inventory([agent("fluent-bit", {}, [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}], {})]), {})) == 0
	count(violations(n, inventory([agent("fluent-bit", {}, [{"key": "nvidia.com/gpu", "value": "absent"}], {})]), {})) == 1
}

test_controller_tolerated_and_soft_taints_do_not_block if {
	taints := [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}, {"key": "spot", "effect": "PreferNoSchedule"}]
	count(violations(node("n1", {}, taints), inventory([agent("fluent-bit", {}, [], {})]), {})) == 0
}

test_node_selector_excludes_node if {
	inv := inventory([agent("fluent-bit", {"kubernetes.io/os": "linux"}, [], {})])
	count(violations(node("win-1", {"kubernetes.io/os": "windows"}, []), inv, {})) == 1
	count(violations(node("lin-1", {"kubernetes.io/os": "linux"}, []), inv, {})) == 0
}

test_other_daemonsets_are_not_agents if {
	other := object.union(agent("kube-proxy", {}, [], {}), {"metadata": {"labels": {"app.kubernetes.io/name": "kube-proxy"}}})
	count(violations(node("n1", {}, []), inventory([other]), {})) == 1
	count(violations(node("n1", {}, []), inventory([other]), {"agentNames": ["kube-proxy"]})) == 0
}

test_agent_namespaces_parameter if {
	inv := {"namespace": {"telemetry": {"apps/v1": {"DaemonSet": {"fluent-bit": agent("fluent-bit", {}, [], {})}}}}}
	count(violations(node("n1", {}, []), inv, {})) == 1
	count(violations(node("n1", {}, []), inv, {"agentNamespaces": ["telemetry"]})) == 0
}

test_daemonset_not_ready_everywhere_fails if {
	ds := agent("fluent-bit", {}, [], {"desiredNumberScheduled": 5, "numberReady": 4, "numberAvailable": 4})
	vs := violations(ds, inventory([]), {})
	count(vs) == 1
	some v in vs
	v.msg == "DaemonSet logging/fluent-bit (log agent) is ready on 4 and available on 4 of the 5 nodes it should run on: logs of the others are not collected"
	count(violations(agent("fluent-bit", {}, [], {"desiredNumberScheduled": 5, "numberReady": 5, "numberAvailable": 5}), inventory([]), {})) == 0
}

test_daemonset_that_is_not_an_agent_is_not_checked if {
	ds := object.union(agent("csi", {}, [], {"desiredNumberScheduled": 5, "numberReady": 0}), {"metadata": {"labels": {"app.kubernetes.io/name": "csi-driver"}}})
	count(violations(ds, inventory([]), {})) == 0
}
