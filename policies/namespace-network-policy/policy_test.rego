package isms.library.namespace_network_policy_test

import data.isms.library.namespace_network_policy as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

namespace(labels) := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments", "labels": labels}}

test_present_passes if {
	inv := {"namespace": {"payments": {"networking.k8s.io/v1": {"NetworkPolicy": {"x": {}}}}}, "cluster": {}}
	vs1 := violations(namespace({}), {}) with data.inventory as inv
	count(vs1) == 0
}

test_missing_fails if {
	vs := violations(namespace({}), {}) with data.inventory as {"namespace": {"other": {"networking.k8s.io/v1": {"NetworkPolicy": {"x": {}}}}}}
	some v in vs
	v.msg == "Namespace payments has no NetworkPolicy, so every pod in the cluster can reach its pods"
}

test_empty_inventory_fails if {
	vs2 := violations(namespace({}), {}) with data.inventory as {"cluster": {}}
	count(vs2) == 1
}
