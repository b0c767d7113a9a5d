package isms.library.namespace_network_policy

# ISMS-LIB-070: every Namespace has a NetworkPolicy. A cross-resource check: the NetworkPolicys come
# from data.inventory, looked up by the namespace's name.

violation contains {"msg": msg, "details": {"namespace": name, "missing": "NetworkPolicy"}} if {
	input.review.object.kind == "Namespace"
	name := input.review.object.metadata.name
	count(object.get(data.inventory, ["namespace", name, "networking.k8s.io/v1", "NetworkPolicy"], {})) == 0
	msg := sprintf("Namespace %s has no NetworkPolicy, so every pod in the cluster can reach its pods", [name])
}
