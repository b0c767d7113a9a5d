package isms.library.namespace_resource_quota

# ISMS-LIB-052: every Namespace has a ResourceQuota. A cross-resource check: the ResourceQuotas come
# from data.inventory, looked up by the namespace's name.

violation contains {"msg": msg, "details": {"namespace": name, "missing": "ResourceQuota"}} if {
	input.review.object.kind == "Namespace"
	name := input.review.object.metadata.name
	count(object.get(data.inventory, ["namespace", name, "v1", "ResourceQuota"], {})) == 0
	msg := sprintf("Namespace %s has no ResourceQuota, so its workloads can consume the cluster's capacity without bound", [name])
}
