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

# value_at is the value at path in obj, or fallback when it is missing or null: the API
# server reads a null field as unset.
value_at(obj, path, fallback) := v if {
	v := object.get(obj, path, null)
	v != null
} else := fallback

# replicas is the workload's spec.replicas; unset or null is 1, as the API server defaults it.
replicas := value_at(input.review.object, ["spec", "replicas"], 1)

violation contains {"msg": msg, "details": {"replicas": replicas, "minReplicas": min}} if {
	production
	min := object.get(input.parameters, "minReplicas", 2)
	replicas < min
	msg := sprintf("%s runs %d replica(s) in a production namespace, fewer than %d: one node failure or rollout makes it unavailable", [subject, replicas, min])
}

# The parameter maxReplicas (default none) bounds the capacity one workload may claim.
violation contains {"msg": msg, "details": {"replicas": replicas, "maxReplicas": max}} if {
	production
	max := input.parameters.maxReplicas
	replicas > max
	msg := sprintf("%s runs %d replicas in a production namespace, more than the maximum of %d", [subject, replicas, max])
}
