package isms.library.namespace_egress_restricted_test

import data.isms.library.namespace_egress_restricted as policy

namespace := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}}

inventory(policies) := {"namespace": {"payments": {"networking.k8s.io/v1": {"NetworkPolicy": policies}}}}

violations(policies, params) := vs if {
	vs := policy.violation with input as {"review": {"object": namespace}, "parameters": params}
		with data.inventory as inventory(policies)
}

egress(rules) := {"spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": rules}}

dns := {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}

proxy := {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "egress-proxy"}}}], "ports": [{"port": 3128}]}

partner := {"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}], "ports": [{"port": 443}]}

internet := {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}

test_deny_all_egress_passes if {
	count(violations({"deny": egress([])}, {})) == 0
	count(violations({"deny": {"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}}, {})) == 0
	count(violations({"deny": {"spec": {"podSelector": null, "policyTypes": ["Egress"], "egress": null}}}, {})) == 0
}

test_named_destinations_pass if {
	count(violations({"egress": egress([dns, proxy, partner])}, {})) == 0
}

test_no_network_policy_fails if {
	vs := violations({}, {})
	count(vs) == 1
	some v in vs
	v.msg == "Namespace payments has no NetworkPolicy that restricts the egress of all its pods (podSelector {} with Egress in policyTypes), so its pods can reach any web site"
}

test_ingress_only_or_some_pods_do_not_restrict if {
	count(violations({"ingress": {"spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}}, {})) == 1
	count(violations({"api": {"spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Egress"]}}}, {})) == 1
	# unset policyTypes: the API server's default is Ingress only without egress rules
	count(violations({"np": {"spec": {"podSelector": {}}}}, {})) == 1
}

test_unset_policy_types_with_egress_rules_restrict if {
	count(violations({"np": {"spec": {"podSelector": {}, "egress": [dns]}}}, {})) == 0
	count(violations({"np": {"spec": {"podSelector": {}, "policyTypes": null, "egress": [dns]}}}, {})) == 0
}

test_allow_all_egress_fails if {
	vs := violations({"allow-all": egress([{}])}, {})
	count(vs) == 1
	some v in vs
	v.msg == "Namespace payments: NetworkPolicy allow-all allows all its pods egress to any destination on web ports (spec.egress[0]), so outbound web access is not restricted"
	v.details.rules == [0]
	count(violations({"np": egress([dns, {"to": null, "ports": null}])}, {})) == 1
}

test_internet_on_web_ports_fails if {
	count(violations({"np": egress([dns, {"to": [{"ipBlock": internet}], "ports": [{"port": 443}]}])}, {})) == 1
	count(violations({"np": egress([{"to": [{"ipBlock": {"cidr": "::/0"}}], "ports": [{"port": 80, "protocol": "TCP"}]}])}, {})) == 1
	count(violations({"np": egress([{"to": [{"ipBlock": internet}], "ports": [{"protocol": "TCP"}]}])}, {})) == 1
	count(violations({"np": egress([{"to": [{"ipBlock": internet}], "ports": [{"port": 1, "endPort": 1024}]}])}, {})) == 1
}

test_any_destination_on_other_ports_passes if {
	count(violations({"np": egress([dns])}, {})) == 0
	count(violations({"np": egress([{"to": [{"ipBlock": internet}], "ports": [{"port": 5432}, {"port": "https"}]}])}, {})) == 0
	count(violations({"np": egress([{"to": [{"ipBlock": internet}], "ports": [{"port": 8000, "endPort": 8100}]}])}, {})) == 0
}

test_an_open_all_pod_policy_fails_beside_a_deny if {
	count(violations({"deny": egress([]), "open": egress([{}])}, {})) == 1
}

test_web_ports_parameter if {
	rule := {"to": [{"ipBlock": internet}], "ports": [{"port": 8443}]}
	count(violations({"np": egress([rule])}, {})) == 0
	count(violations({"np": egress([rule])}, {"webPorts": [80, 443, 8080, 8443]})) == 1
}

test_exempt_namespaces_parameter if {
	count(violations({}, {"exemptNamespaces": ["payments"]})) == 0
	count(violations({}, {"exemptNamespaces": ["pay*"]})) == 0
	count(violations({"open": egress([{}])}, {"exemptNamespaces": ["pay*"]})) == 0
	count(violations({}, {"exemptNamespaces": ["payments-*"]})) == 1
}
