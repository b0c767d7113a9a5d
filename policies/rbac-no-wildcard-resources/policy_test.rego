package isms.library.rbac_no_wildcard_resources_test

import data.isms.library.rbac_no_wildcard_resources as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

role(rules) := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "deployer", "namespace": "payments"}, "rules": rules}

cluster_role(name, rules) := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}

test_named_resources_pass if {
	count(violations(role([{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get"]}]), {})) == 0
}

test_wildcard_resources_fail if {
	vs := violations(cluster_role("reader", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}]), {})
	count(vs) == 2
	some v in vs
	v.msg == `ClusterRole reader: rule 1 grants ["get", "list"] on every item of resources ("*"), including ones added later; list them`
}

test_system_role_is_skipped if {
	count(violations(cluster_role("system:aggregate-to-view", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]}]), {})) == 0
}
