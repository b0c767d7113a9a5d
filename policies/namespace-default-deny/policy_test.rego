package isms.library.namespace_default_deny_test

import data.isms.library.namespace_default_deny as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

namespace := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}}

inventory(policies) := {"namespace": {"payments": {"networking.k8s.io/v1": {"NetworkPolicy": policies}}}}

deny_all := {"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}

test_default_deny_passes if {
	vs3 := violations(namespace, {}) with data.inventory as inventory({"deny": deny_all})
	count(vs3) == 0
	vs4 := violations(namespace, {"requireEgress": true}) with data.inventory as inventory({"deny": deny_all})
	count(vs4) == 0
}

test_no_policy_fails if {
	vs := violations(namespace, {}) with data.inventory as {"cluster": {}}
	some v in vs
	startswith(v.msg, "Namespace payments has no default-deny ingress NetworkPolicy")
}

test_allow_all_is_not_a_default_deny if {
	allow := {"spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}}
	vs5 := violations(namespace, {}) with data.inventory as inventory({"allow": allow})
	count(vs5) == 1
}

test_selective_policy_is_not_a_default_deny if {
	np := {"spec": {"podSelector": {"matchLabels": {"app": "api"}}, "policyTypes": ["Ingress"]}}
	vs6 := violations(namespace, {}) with data.inventory as inventory({"api": np})
	count(vs6) == 1
}

test_require_egress if {
	ingress_only := {"spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
	vs := violations(namespace, {"requireEgress": true}) with data.inventory as inventory({"deny": ingress_only})
	count(vs) == 1
	some v in vs
	v.details.policyType == "Egress"
}

# A null podSelector or rule list is empty, as the API server reads it.
test_null_selector_and_rules_deny if {
	np := {"spec": {"podSelector": null, "policyTypes": ["Ingress", "Egress"], "ingress": null, "egress": null}}
	vs := violations(namespace, {"requireEgress": true}) with data.inventory as inventory({"deny": np})
	count(vs) == 0
}
