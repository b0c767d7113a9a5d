package isms.library.namespace_owner_label_test

import data.isms.library.namespace_owner_label as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

namespace(labels) := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments", "labels": labels}}

test_owner_passes if {
	count(violations(namespace({"isms.dev/owner": "team-payments"}), {})) == 0
}

test_missing_owner_fails if {
	vs := violations(namespace({"isms.dev/owner": ""}), {})
	some v in vs
	v.msg == "Namespace payments has no owner: label isms.dev/owner is missing or empty"
}

test_parameter_labels if {
	count(violations(namespace({"isms.dev/owner": "x"}), {"labels": ["isms.dev/owner", "cost-center"]})) == 1
}

test_null_owner_is_missing if {
	count(violations(namespace({"isms.dev/owner": null}), {})) == 1
}

# Presence is not enough once labelPatterns names the label.
test_label_patterns if {
	params := {"labelPatterns": {"isms.dev/owner": "^team-[a-z0-9-]+$"}}
	count(violations(namespace({"isms.dev/owner": "team-payments"}), params)) == 0
	count(violations(namespace({"isms.dev/owner": "bob"}), {})) == 0
	vs := violations(namespace({"isms.dev/owner": "bob"}), params)
	count(vs) == 1
	some v in vs
	v.msg == `Namespace payments: label isms.dev/owner is "bob", which does not match ^team-[a-z0-9-]+$`
}

test_invalid_label_pattern_is_reported if {
	vs := violations(namespace({"isms.dev/owner": "team-payments"}), {"labelPatterns": {"isms.dev/owner": "^team-("}})
	some v in vs
	startswith(v.msg, "parameter labelPatterns: the pattern")
}
