package isms.library.namespace_data_classification

# ISMS-LIB-002: every Namespace declares the classification of the data it holds, with one of
# the organisation's levels (parameters label and levels).

label := object.get(input.parameters, "label", "isms.dev/data-classification")

levels := object.get(input.parameters, "levels", ["public", "internal", "confidential", "restricted"])

violation contains {"msg": msg, "details": {"label": label}} if {
	ns := input.review.object
	ns.kind == "Namespace"
	not ns.metadata.labels[label]
	msg := sprintf("Namespace %s has no data classification: label %s is missing (one of %v)", [ns.metadata.name, label, levels])
}

violation contains {"msg": msg, "details": {"label": label, "value": value}} if {
	ns := input.review.object
	ns.kind == "Namespace"
	value := ns.metadata.labels[label]
	not value in levels
	msg := sprintf("Namespace %s is classified %q, which is not a classification level (one of %v)", [ns.metadata.name, value, levels])
}
