package isms.library.namespace_owner_label

# ISMS-LIB-001: every Namespace names its owner in a label (parameter labels).

required := object.get(input.parameters, "labels", ["isms.dev/owner"])

violation contains {"msg": msg, "details": {"missingLabel": label}} if {
	ns := input.review.object
	ns.kind == "Namespace"
	some label in required
		blank(object.get(ns, ["metadata", "labels", label], ""))
	msg := sprintf("Namespace %s has no owner: label %s is missing or empty", [ns.metadata.name, label])
}

# The parameter labelPatterns maps a label to the regular expression its value must match
# (e.g. {"isms.dev/owner": "^team-[a-z0-9-]+$"}); a label it names is checked when present.
violation contains {"msg": msg, "details": {"label": label, "value": value, "pattern": pattern}} if {
	input.review.object.kind == "Namespace"
	some label, pattern in object.get(input.parameters, "labelPatterns", {})
	regex.is_valid(pattern)
	value := object.get(input.review.object, ["metadata", "labels", label], null)
	is_string(value)
	not regex.match(pattern, value)
	msg := sprintf("Namespace %s: label %s is %q, which does not match %s", [input.review.object.metadata.name, label, value, pattern])
}

violation contains {"msg": msg, "details": {"label": label, "pattern": pattern}} if {
	input.review.object.kind == "Namespace"
	some label, pattern in object.get(input.parameters, "labelPatterns", {})
	not regex.is_valid(pattern)
	msg := sprintf("parameter labelPatterns: the pattern %q of label %s is not a valid regular expression", [pattern, label])
}
# blank holds for a label value that is empty, only spaces, or null (which the API server reads
# as empty).
blank(value) if value == null

blank(value) if trim_space(value) == ""
