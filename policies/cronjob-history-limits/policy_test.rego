package isms.library.cronjob_history_limits_test

import data.isms.library.cronjob_history_limits as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

cronjob(spec) := {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "report", "namespace": "payments"}, "spec": spec}

test_configured_passes if {
	count(violations(cronjob({"concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3}), {})) == 0
}

test_defaults_fail_on_concurrency if {
	vs := violations(cronjob({}), {})
	count(vs) == 1
	some v in vs
	v.msg == `CronJob payments/report has concurrencyPolicy Allow, so runs can overlap; set it to one of ["Forbid", "Replace"]`
}

test_zero_history_fails if {
	vs := violations(cronjob({"concurrencyPolicy": "Replace", "failedJobsHistoryLimit": 0}), {})
	some v in vs
	v.details.field == "failedJobsHistoryLimit"
}

test_parameters if {
	params := {"concurrencyPolicies": ["Allow", "Forbid", "Replace"], "minFailedJobsHistoryLimit": 5}
	count(violations(cronjob({"failedJobsHistoryLimit": 3}), params)) == 1
}

# Null fields are unset, so Kubernetes' defaults apply (Allow fails, the history limits pass).
test_null_fields_read_as_unset if {
	vs := violations(cronjob({"schedule": "0 3 * * *", "concurrencyPolicy": null, "successfulJobsHistoryLimit": null, "failedJobsHistoryLimit": null}), {})
	count(vs) == 1
	some v in vs
	v.details.field == "concurrencyPolicy"
}
