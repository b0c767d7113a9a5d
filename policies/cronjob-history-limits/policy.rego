package isms.library.cronjob_history_limits

# ISMS-LIB-090: CronJobs choose a concurrencyPolicy (parameter concurrencyPolicies) and keep
# the history of successful and failed runs (parameters min*JobsHistoryLimit).

# subject names the object in messages, e.g. Role payments/deployer or ClusterRole admin.
subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name]) if {
	obj := input.review.object
	obj.metadata.namespace
} else := sprintf("%s %s", [input.review.object.kind, input.review.object.metadata.name])

policies := object.get(input.parameters, "concurrencyPolicies", ["Forbid", "Replace"])

minimum := {
	"successfulJobsHistoryLimit": object.get(input.parameters, "minSuccessfulJobsHistoryLimit", 1),
	"failedJobsHistoryLimit": object.get(input.parameters, "minFailedJobsHistoryLimit", 1),
}

# Kubernetes' defaults, which apply when a field is unset.
defaults := {"concurrencyPolicy": "Allow", "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1}

# value_at is the value at path in obj, or fallback when it is missing or null: the API
# server reads a null field as unset.
value_at(obj, path, fallback) := v if {
	v := object.get(obj, path, null)
	v != null
} else := fallback

violation contains {"msg": msg, "details": {"field": "concurrencyPolicy"}} if {
	input.review.object.kind == "CronJob"
	policy := value_at(input.review.object.spec, ["concurrencyPolicy"], defaults.concurrencyPolicy)
	not policy in policies
	msg := sprintf("%s has concurrencyPolicy %s, so runs can overlap; set it to one of %v", [subject, policy, policies])
}

violation contains {"msg": msg, "details": {"field": field}} if {
	input.review.object.kind == "CronJob"
	some field, min in minimum
	value := value_at(input.review.object.spec, [field], defaults[field])
	value < min
	msg := sprintf("%s keeps %d runs (%s), fewer than the %d needed to review what its runs did", [subject, value, field, min])
}
