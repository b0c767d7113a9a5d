package isms.library.default_service_account_no_automount_test

import data.isms.library.default_service_account_no_automount as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

account(extra) := object.union({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "payments"}}, extra)

test_false_passes if {
	count(violations(account({"automountServiceAccountToken": false}), {})) == 0
}

test_unset_fails if {
	vs := violations(account({}), {})
	some v in vs
	v.msg == "ServiceAccount payments/default mounts its token into every pod that names no ServiceAccount; set automountServiceAccountToken: false"
}

test_other_accounts_are_skipped if {
	count(violations(account({"metadata": {"name": "api"}}), {})) == 0
}
