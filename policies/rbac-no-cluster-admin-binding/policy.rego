package isms.library.rbac_no_cluster_admin_binding

# ISMS-LIB-012: cluster-admin (parameter privilegedRoles) is bound only to system subjects and
# to the subjects of the parameter allowedSubjects (e.g. a break-glass group).

# subject names the object in messages, e.g. Role payments/deployer or ClusterRole admin.
subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name]) if {
	obj := input.review.object
	obj.metadata.namespace
} else := sprintf("%s %s", [input.review.object.kind, input.review.object.metadata.name])

privileged_roles := object.get(input.parameters, "privilegedRoles", ["cluster-admin"])

allowed_subjects := {s | some s in object.get(input.parameters, "allowedSubjects", [])}

# subject_name identifies a subject as Kind/name (ServiceAccounts as ServiceAccount/ns/name).
subject_name(s) := sprintf("ServiceAccount/%s/%s", [s.namespace, s.name]) if s.kind == "ServiceAccount"

subject_name(s) := sprintf("%s/%s", [s.kind, s.name]) if s.kind != "ServiceAccount"

system_subject(s) if startswith(s.name, "system:")

violation contains {"msg": msg, "details": {"role": binding.roleRef.name, "subject": name}} if {
	binding := input.review.object
	binding.roleRef.kind == "ClusterRole"
	binding.roleRef.name in privileged_roles
	some s in binding.subjects
	not system_subject(s)
	name := subject_name(s)
	not name in allowed_subjects
	msg := sprintf("%s binds %s to %s, which gives it unrestricted control of the %s", [subject, binding.roleRef.name, name, scope(binding.kind)])
}

scope("ClusterRoleBinding") := "whole cluster"

scope("RoleBinding") := "namespace"
