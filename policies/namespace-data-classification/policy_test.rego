package isms.library.namespace_data_classification_test

import data.isms.library.namespace_data_classification as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

namespace(labels) := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments", "labels": labels}}

test_valid_level_passes if {
	count(violations(namespace({"isms.dev/data-classification": "confidential"}), {})) == 0
}

test_missing_fails if {
	vs := violations(namespace({}), {})
	some v in vs
	v.msg == `Namespace payments has no data classification: label isms.dev/data-classification is missing (one of ["public", "internal", "confidential", "restricted"])`
}

test_unknown_level_fails if {
	vs := violations(namespace({"isms.dev/data-classification": "secret"}), {})
	some v in vs
	v.details.value == "secret"
}

test_parameters if {
	count(violations(namespace({"dataclass": "c2"}), {"label": "dataclass", "levels": ["c1", "c2", "c3"]})) == 0
}
