package isms.library.bad_policy_test

import data.isms.library.bad_policy as policy

test_labelled_passes if {
	count(policy.violation) == 0 with input as {"review": {"object": {"metadata": {"name": "a", "namespace": "n", "labels": {"team": "x"}}}}}
}

test_unlabelled_fails if {
	count(policy.violation) == 1 with input as {"review": {"object": {"metadata": {"name": "a", "namespace": "n"}}}}
}

test_wrong_expectation if {
	count(policy.violation) == 0 with input as {"review": {"object": {"metadata": {"name": "a", "namespace": "n"}}}}
}
