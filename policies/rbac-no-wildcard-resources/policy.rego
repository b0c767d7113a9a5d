package isms.library.rbac_no_wildcard_resources

# ISMS-LIB-011: roles grant named resources and API groups, never "*".

# subject names the object in messages, e.g. Role payments/deployer or ClusterRole admin.
subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name]) if {
	obj := input.review.object
	obj.metadata.namespace
} else := sprintf("%s %s", [input.review.object.kind, input.review.object.metadata.name])

allowed_roles := {r | some r in object.get(input.parameters, "allowedRoles", [])}

# in_scope holds for roles that are not bootstrap (system:) roles nor exempt.
in_scope(role) if {
	not startswith(role.metadata.name, "system:")
	not role.metadata.name in allowed_roles
}

violation contains {"msg": msg, "details": {"rule": i, "field": field}} if {
	role := input.review.object
	in_scope(role)
	some i, rule in role.rules
	some field in ["resources", "apiGroups"]
	"*" in object.get(rule, field, [])
	msg := sprintf("%s: rule %d grants %v on every item of %s (\"*\"), including ones added later; list them", [subject, i + 1, rule.verbs, field])
}
