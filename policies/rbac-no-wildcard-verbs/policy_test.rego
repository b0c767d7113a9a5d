package isms.library.rbac_no_wildcard_verbs_test

import data.isms.library.rbac_no_wildcard_verbs as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

role(rules) := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "deployer", "namespace": "payments"}, "rules": rules}

cluster_role(name, rules) := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}

test_named_verbs_pass if {
	count(violations(role([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]}]), {})) == 0
}

test_wildcard_verb_fails if {
	vs := violations(role([{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}]), {})
	some v in vs
	v.msg == `Role payments/deployer: rule 2 grants every verb ("*") on ["deployments"]; list the verbs needed`
}

test_system_roles_and_allowed_roles_are_skipped if {
	rules := [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
	count(violations(cluster_role("system:controller:foo", rules), {})) == 0
	count(violations(cluster_role("platform-break-glass", rules), {"allowedRoles": ["platform-break-glass"]})) == 0
	count(violations(cluster_role("platform-break-glass", rules), {})) == 1
}
