package isms.library.rbac_restrict_secret_access

# ISMS-LIB-014: roles do not let subjects read Secrets (get, list or watch secrets, directly or
# through "*"). Roles that need it are listed in the parameter allowedRoles.

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

read_verbs := {"get", "list", "watch", "*"}

covers_secrets(rule) if {
	some group in rule.apiGroups
	group in {"", "*"}
	some resource in rule.resources
	resource in {"secrets", "*"}
}

violation contains {"msg": msg, "details": {"rule": i, "verbs": verbs}} if {
	role := input.review.object
	in_scope(role)
	some i, rule in role.rules
	covers_secrets(rule)
	verbs := [v | some v in rule.verbs; v in read_verbs]
	count(verbs) > 0
	msg := sprintf("%s: rule %d lets its subjects %v Secrets%s", [subject, i + 1, verbs, names(rule)])
}

names(rule) := sprintf(" named %v", [rule.resourceNames]) if count(object.get(rule, "resourceNames", [])) > 0

else := " of the whole scope"
