package isms.library.rbac_no_wildcard_verbs

# ISMS-LIB-010: roles grant named verbs, never "*".

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

violation contains {"msg": msg, "details": {"rule": i}} if {
	role := input.review.object
	in_scope(role)
	some i, rule in role.rules
	"*" in rule.verbs
	msg := sprintf("%s: rule %d grants every verb (\"*\") on %v; list the verbs needed", [subject, i + 1, object.get(rule, "resources", object.get(rule, "nonResourceURLs", []))])
}
