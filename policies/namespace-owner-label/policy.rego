package isms.library.namespace_owner_label

# ISMS-LIB-001: every Namespace names its owner in a label (parameter labels).

required := object.get(input.parameters, "labels", ["isms.dev/owner"])

violation contains {"msg": msg, "details": {"missingLabel": label}} if {
	ns := input.review.object
	ns.kind == "Namespace"
	some label in required
	trim_space(object.get(ns, ["metadata", "labels", label], "")) == ""
	msg := sprintf("Namespace %s has no owner: label %s is missing or empty", [ns.metadata.name, label])
}
