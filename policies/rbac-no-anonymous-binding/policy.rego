package isms.library.rbac_no_anonymous_binding

# ISMS-LIB-013: no role is bound to anonymous or unauthenticated requests, nor, by default,
# to every authenticated user (parameter forbiddenSubjects).

# subject names the object in messages, e.g. Role payments/deployer or ClusterRole admin.
subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name]) if {
	obj := input.review.object
	obj.metadata.namespace
} else := sprintf("%s %s", [input.review.object.kind, input.review.object.metadata.name])

default_forbidden := ["system:anonymous", "system:unauthenticated", "system:authenticated"]

forbidden := {s | some s in object.get(input.parameters, "forbiddenSubjects", default_forbidden)}

# The discovery and health roles Kubernetes binds to everyone by default.
default_bindings := {"system:public-info-viewer", "system:discovery", "system:basic-user"}

# allowed_role holds when the parameter allowedRoles names the bound role: its name, or, for an
# entry that ends in "*", any name that starts with the rest (e.g. "public-docs-*").
allowed_role(name) if {
	some pattern in object.get(input.parameters, "allowedRoles", [])
	prefix_glob_match(pattern, name)
}

prefix_glob_match(pattern, value) if pattern == value

prefix_glob_match(pattern, value) if {
	endswith(pattern, "*")
	startswith(value, trim_suffix(pattern, "*"))
}

violation contains {"msg": msg, "details": {"role": binding.roleRef.name, "subject": s.name}} if {
	binding := input.review.object
	not binding.metadata.name in default_bindings
	not allowed_role(binding.roleRef.name)
	some s in binding.subjects
	s.kind in {"User", "Group"}
	s.name in forbidden
	msg := sprintf("%s grants %s %s to %s %s, i.e. to %s", [subject, binding.roleRef.kind, binding.roleRef.name, lower(s.kind), s.name, who(s.name)])
}

who("system:anonymous") := "anyone who can reach the API server"

who("system:unauthenticated") := "anyone who can reach the API server"

who(name) := "every authenticated identity, including every ServiceAccount" if not name in {"system:anonymous", "system:unauthenticated"}
