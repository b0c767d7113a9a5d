package isms.library.rbac_no_escalation_verbs

# ISMS-LIB-016: roles do not grant escalate, bind or impersonate, nor create on
# serviceaccounts/token, the verbs that let a subject acquire rights it was not given.

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

escalation_verbs := {"escalate", "bind", "impersonate"}

violation contains {"msg": msg, "details": {"rule": i, "verb": verb}} if {
	role := input.review.object
	in_scope(role)
	some i, rule in role.rules
	some verb in rule.verbs
	verb in escalation_verbs
	msg := sprintf("%s: rule %d grants %q on %v, which lets its subjects obtain rights they were not granted", [subject, i + 1, verb, rule.resources])
}

violation contains {"msg": msg, "details": {"rule": i, "verb": "create", "resource": "serviceaccounts/token"}} if {
	role := input.review.object
	in_scope(role)
	some i, rule in role.rules
	some verb in rule.verbs
	verb in {"create", "*"}
	"serviceaccounts/token" in rule.resources
	msg := sprintf("%s: rule %d lets its subjects create tokens for ServiceAccounts and act as them", [subject, i + 1])
}
