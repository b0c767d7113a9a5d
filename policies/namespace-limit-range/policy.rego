package isms.library.namespace_limit_range

# ISMS-LIB-053: every Namespace has a LimitRange. A cross-resource check: the LimitRanges come
# from data.inventory, looked up by the namespace's name.

violation contains {"msg": msg, "details": {"namespace": name, "missing": "LimitRange"}} if {
	input.review.object.kind == "Namespace"
	name := input.review.object.metadata.name
	count(object.get(data.inventory, ["namespace", name, "v1", "LimitRange"], {})) == 0
	msg := sprintf("Namespace %s has no LimitRange, so containers that set no requests or limits get no defaults", [name])
}
