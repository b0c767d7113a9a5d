package isms.library.rbac_no_anonymous_binding_test

import data.isms.library.rbac_no_anonymous_binding as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

binding(kind, role, subjects) := {
	"apiVersion": "rbac.authorization.k8s.io/v1",
	"kind": kind,
	"metadata": {"name": "grant", "namespace": "payments"},
	"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
	"subjects": subjects,
}

user(name) := {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}

group(name) := {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}

test_named_group_passes if {
	count(violations(binding("RoleBinding", "view", [group("team-payments")]), {})) == 0
}

test_anonymous_fails if {
	vs := violations(binding("ClusterRoleBinding", "view", [user("system:anonymous")]), {})
	some v in vs
	v.msg == "ClusterRoleBinding payments/grant grants ClusterRole view to user system:anonymous, i.e. to anyone who can reach the API server"
}

test_authenticated_fails_by_default if {
	count(violations(binding("RoleBinding", "edit", [group("system:authenticated")]), {})) == 1
	count(violations(binding("RoleBinding", "edit", [group("system:authenticated")]), {"forbiddenSubjects": ["system:anonymous"]})) == 0
}

test_default_discovery_binding_passes if {
	obj := object.union(binding("ClusterRoleBinding", "system:discovery", [group("system:authenticated")]), {"metadata": {"name": "system:discovery"}})
	count(violations(obj, {})) == 0
}

test_allowed_roles if {
	obj := binding("ClusterRoleBinding", "public-docs-reader", [group("system:authenticated")])
	count(violations(obj, {})) == 1
	count(violations(obj, {"allowedRoles": ["public-docs-*"]})) == 0
	count(violations(obj, {"allowedRoles": ["public-docs-reader"]})) == 0
	count(violations(obj, {"allowedRoles": ["public-docs-"]})) == 1
}
