package isms.library.namespace_environment_label

# ISMS-LIB-004: every Namespace declares its environment with the label environmentLabel, and
# the value is one of allowedEnvironments.

label := object.get(input.parameters, "environmentLabel", "isms.dev/environment")

allowed := object.get(input.parameters, "allowedEnvironments", ["production", "staging", "test", "development"])

ns := input.review.object

# value is the label's value; missing, null and blank values are "".
value := trim_space(v) if {
	v := object.get(ns, ["metadata", "labels", label], null)
	is_string(v)
} else := ""

violation contains {"msg": msg, "details": {"label": label}} if {
	ns.kind == "Namespace"
	value == ""
	msg := sprintf("Namespace %s declares no environment: label %s is missing or empty (one of %s), so the controls for its environment do not select it", [ns.metadata.name, label, concat(", ", allowed)])
}

violation contains {"msg": msg, "details": {"label": label, "value": value}} if {
	ns.kind == "Namespace"
	value != ""
	not value in allowed
	msg := sprintf("Namespace %s declares environment %q, which is not one of %s", [ns.metadata.name, value, concat(", ", allowed)])
}
