package isms.library.rbac_no_cluster_admin_binding_test

import data.isms.library.rbac_no_cluster_admin_binding as policy

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

test_system_masters_passes if {
	count(violations(binding("ClusterRoleBinding", "cluster-admin", [group("system:masters")]), {})) == 0
}

test_user_fails if {
	vs := violations(binding("ClusterRoleBinding", "cluster-admin", [user("alice@example.com")]), {})
	some v in vs
	v.msg == "ClusterRoleBinding payments/grant binds cluster-admin to User/alice@example.com, which gives it unrestricted control of the whole cluster"
}

test_service_account_in_role_binding_fails if {
	vs := violations(binding("RoleBinding", "cluster-admin", [{"kind": "ServiceAccount", "name": "ci", "namespace": "payments"}]), {})
	some v in vs
	v.details.subject == "ServiceAccount/payments/ci"
}

test_allowed_subject_passes if {
	count(violations(binding("ClusterRoleBinding", "cluster-admin", [group("platform-break-glass")]), {"allowedSubjects": ["Group/platform-break-glass"]})) == 0
}

test_other_roles_pass if {
	count(violations(binding("ClusterRoleBinding", "view", [user("alice")]), {})) == 0
}
