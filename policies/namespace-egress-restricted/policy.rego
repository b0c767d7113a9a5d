package isms.library.namespace_egress_restricted

# ISMS-LIB-074: every Namespace has a NetworkPolicy that restricts the egress of all its pods
# (podSelector {}, Egress in policyTypes), and no such policy opens web access (a rule that
# allows any destination on a web port). The namespace's NetworkPolicies are read from
# data.inventory by namespace.

ns := input.review.object.metadata.name

web_ports := object.get(input.parameters, "webPorts", [80, 443])

network_policies := object.get(data.inventory, ["namespace", ns, "networking.k8s.io/v1", "NetworkPolicy"], {})

# value_at is the value at path in obj, or fallback when it is missing or null: the API
# server reads a null field as unset.
value_at(obj, path, fallback) := v if {
	v := object.get(obj, path, null)
	v != null
} else := fallback

exempt if {
	some pattern in object.get(input.parameters, "exemptNamespaces", [])
	prefix_glob_match(pattern, ns)
}

prefix_glob_match(pattern, value) if pattern == value

prefix_glob_match(pattern, value) if {
	endswith(pattern, "*")
	startswith(value, trim_suffix(pattern, "*"))
}

# policy_types are a policy's types; unset, the API server's default: Ingress, and Egress
# when the policy has egress rules.
policy_types(np) := types if {
	types := value_at(np, ["spec", "policyTypes"], [])
	count(types) > 0
} else := ["Ingress", "Egress"] if {
	count(value_at(np, ["spec", "egress"], [])) > 0
} else := ["Ingress"]

# all_pod_egress are the names of the policies that restrict the egress of every pod.
all_pod_egress contains name if {
	some name, np in network_policies
	count(value_at(np, ["spec", "podSelector"], {})) == 0
	"Egress" in policy_types(np)
}

# any_destination holds for a rule that allows every address.
any_destination(rule) if count(value_at(rule, ["to"], [])) == 0

any_destination(rule) if {
	some peer in rule.to
	value_at(peer, ["ipBlock", "cidr"], "") in {"0.0.0.0/0", "::/0"}
}

# web_port holds for a rule that allows one of web_ports: all ports when it lists none, or
# an entry without a port, or a numeric port (range up to endPort) that includes one.
web_port(rule) if count(value_at(rule, ["ports"], [])) == 0

web_port(rule) if {
	some entry in rule.ports
	value_at(entry, ["port"], null) == null
}

web_port(rule) if {
	some entry in rule.ports
	first := entry.port
	is_number(first)
	last := value_at(entry, ["endPort"], first)
	some w in web_ports
	first <= w
	w <= last
}

# open_rules are the indexes of the rules of policy name that open web access.
open_rules(name) := [i |
	some i, rule in value_at(network_policies[name], ["spec", "egress"], [])
	any_destination(rule)
	web_port(rule)
]

violation contains {"msg": msg, "details": {"namespace": ns}} if {
	input.review.object.kind == "Namespace"
	not exempt
	count(all_pod_egress) == 0
	msg := sprintf("Namespace %s has no NetworkPolicy that restricts the egress of all its pods (podSelector {} with Egress in policyTypes), so its pods can reach any web site", [ns])
}

violation contains {"msg": msg, "details": {"namespace": ns, "networkPolicy": name, "rules": rules, "webPorts": web_ports}} if {
	input.review.object.kind == "Namespace"
	not exempt
	some name in all_pod_egress
	rules := open_rules(name)
	count(rules) > 0
	msg := sprintf("Namespace %s: NetworkPolicy %s allows all its pods egress to any destination on web ports (spec.egress[%d]), so outbound web access is not restricted", [ns, name, rules[0]])
}
