package isms.library.rbac_restrict_secret_access_test

import data.isms.library.rbac_restrict_secret_access as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

role(rules) := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "deployer", "namespace": "payments"}, "rules": rules}

cluster_role(name, rules) := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}

test_configmap_access_passes if {
	count(violations(role([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]), {})) == 0
}

test_create_only_passes if {
	count(violations(role([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}]), {})) == 0
}

test_list_secrets_fails if {
	vs := violations(role([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "create"]}]), {})
	some v in vs
	v.msg == `Role payments/deployer: rule 1 lets its subjects ["get", "list"] Secrets of the whole scope`
}

test_wildcard_fails if {
	count(violations(cluster_role("everything", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]), {})) == 1
}

test_allowed_role if {
	count(violations(role([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]), {"allowedRoles": ["deployer"]})) == 0
}
