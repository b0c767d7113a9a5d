package isms.library.production_replicas

# ISMS-LIB-060: Deployments and StatefulSets in production namespaces run at least
# minReplicas replicas (default 2). A namespace is production when its label environmentLabel
# has one of productionValues.

# subject names the object in messages, e.g. Role payments/deployer or ClusterRole admin.
subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name]) if {
	obj := input.review.object
	obj.metadata.namespace
} else := sprintf("%s %s", [input.review.object.kind, input.review.object.metadata.name])

label := object.get(input.parameters, "environmentLabel", "isms.dev/environment")

production_values := object.get(input.parameters, "productionValues", ["production", "prod"])

# production holds when the subject's namespace, read from the inventory by name (the
# Control lists Namespaces in spec.inventory), is labelled as a production environment.
production if {
	ns := input.review.object.metadata.namespace
	data.inventory.cluster.v1.Namespace[ns].metadata.labels[label] in production_values
}

violation contains {"msg": msg, "details": {"replicas": replicas, "minReplicas": min}} if {
	production
	replicas := object.get(input.review.object.spec, "replicas", 1)
	min := object.get(input.parameters, "minReplicas", 2)
	replicas < min
	msg := sprintf("%s runs %d replica(s) in a production namespace, fewer than %d: one node failure or rollout makes it unavailable", [subject, replicas, min])
}
