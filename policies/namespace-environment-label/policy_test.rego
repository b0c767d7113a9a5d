package isms.library.namespace_environment_label_test

import data.isms.library.namespace_environment_label as policy

violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

namespace(labels) := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments", "labels": labels}}

test_each_default_environment_passes if {
	every env in ["production", "staging", "test", "development"] {
		count(violations(namespace({"isms.dev/environment": env}), {})) == 0
	}
}

test_missing_label_fails if {
	vs := violations(namespace({"team": "payments"}), {})
	count(vs) == 1
	some v in vs
	v.msg == "Namespace payments declares no environment: label isms.dev/environment is missing or empty (one of production, staging, test, development), so the controls for its environment do not select it"
	v.details == {"label": "isms.dev/environment"}
}

test_null_blank_and_absent_labels_are_missing if {
	count(violations(namespace({"isms.dev/environment": null}), {})) == 1
	count(violations(namespace({"isms.dev/environment": " "}), {})) == 1
	count(violations(namespace(null), {})) == 1
	count(violations({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}}, {})) == 1
}

test_unknown_value_fails if {
	vs := violations(namespace({"isms.dev/environment": "prodution"}), {})
	count(vs) == 1
	some v in vs
	v.msg == `Namespace payments declares environment "prodution", which is not one of production, staging, test, development`
	v.details.value == "prodution"
}

test_allowed_environments_parameter if {
	params := {"allowedEnvironments": ["production", "qa"]}
	count(violations(namespace({"isms.dev/environment": "qa"}), params)) == 0
	count(violations(namespace({"isms.dev/environment": "qa"}), {})) == 1
	count(violations(namespace({"isms.dev/environment": "staging"}), params)) == 1
}

test_environment_label_parameter if {
	params := {"environmentLabel": "example.com/env"}
	count(violations(namespace({"example.com/env": "test"}), params)) == 0
	count(violations(namespace({"isms.dev/environment": "test"}), params)) == 1
}
