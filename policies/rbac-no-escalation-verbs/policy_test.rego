package isms.library.rbac_no_escalation_verbs_test

import data.isms.library.rbac_no_escalation_verbs as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

role(rules) := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "deployer", "namespace": "payments"}, "rules": rules}

cluster_role(name, rules) := {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules}

test_ordinary_role_passes if {
	count(violations(role([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["get", "create"]}]), {})) == 0
}

test_bind_fails if {
	vs := violations(role([{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind"]}]), {})
	some v in vs
	v.msg == `Role payments/deployer: rule 1 grants "bind" on ["clusterroles"], which lets its subjects obtain rights they were not granted`
}

test_impersonate_and_token_fail if {
	rules := [{"apiGroups": [""], "resources": ["users", "groups"], "verbs": ["impersonate"]}, {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}]
	count(violations(cluster_role("helper", rules), {})) == 2
}
