package isms.library.namespace_default_deny

# ISMS-LIB-071: every Namespace has a default-deny NetworkPolicy: podSelector {} (all pods),
# policyTypes including Ingress (and Egress with the parameter requireEgress) and no rule of
# those types. The namespace's NetworkPolicies are read from data.inventory by namespace.

required_types := ["Ingress", "Egress"] if input.parameters.requireEgress == true
else := ["Ingress"]

network_policies(namespace) := object.get(data.inventory, ["namespace", namespace, "networking.k8s.io/v1", "NetworkPolicy"], {})

# value_at is the value at path in obj, or fallback when it is missing or null: the API
# server reads a null field as unset.
value_at(obj, path, fallback) := v if {
	v := object.get(obj, path, null)
	v != null
} else := fallback

# denies holds when the policy selects every pod and allows nothing of this type. A null
# podSelector or rule list is empty, as the API server reads it.
denies(np, type) if {
	count(value_at(np.spec, ["podSelector"], {})) == 0
	type in np.spec.policyTypes
	count(value_at(np.spec, [lower(type)], [])) == 0
}

default_deny(namespace, type) if {
	some np in network_policies(namespace)
	denies(np, type)
}

violation contains {"msg": msg, "details": {"namespace": name, "policyType": type}} if {
	input.review.object.kind == "Namespace"
	name := input.review.object.metadata.name
	some type in required_types
	not default_deny(name, type)
	msg := sprintf("Namespace %s has no default-deny %s NetworkPolicy (podSelector {} with policyTypes [%s] and no rules), so traffic not explicitly allowed is not blocked", [name, lower(type), type])
}
