package isms.library.workload_owner_labels_test

import data.isms.library.workload_owner_labels as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

image := "registry.example.com/payments/api@sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108"

# container returns a container named app, with the fields of extra added.
container(extra) := object.union({"name": "app", "image": image}, extra)

deployment(spec) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "api", "namespace": "payments"},
	"spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "api"}}, "spec": spec}},
}

cronjob(spec) := {
	"apiVersion": "batch/v1",
	"kind": "CronJob",
	"metadata": {"name": "report", "namespace": "payments"},
	"spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": spec}}}},
}

pod(spec) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "payments"}, "spec": spec}

# owned_pod is a Pod created by a ReplicaSet: its owner is evaluated instead.
owned_pod(spec) := object.union(pod(spec), {"metadata": {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-7d4b9", "controller": true}]}})

labelled(obj, labels) := object.union(obj, {"metadata": {"labels": labels}})

test_labels_pass if {
	obj := labelled(deployment({"containers": [container({})]}), {"app.kubernetes.io/name": "api", "isms.dev/owner": "team-payments"})
	count(violations(obj, {})) == 0
}

test_missing_owner_fails if {
	vs := violations(labelled(deployment({"containers": [container({})]}), {"app.kubernetes.io/name": "api", "isms.dev/owner": " "}), {})
	some v in vs
	v.msg == "Deployment payments/api has no label isms.dev/owner (missing or empty), so it cannot be traced to an asset and its owner"
}

test_owned_pod_is_skipped if {
	count(violations(owned_pod({"containers": [container({})]}), {})) == 0
}

test_parameter_labels if {
	obj := labelled(cronjob({"containers": [container({})]}), {"team": "payments"})
	count(violations(obj, {"labels": ["team"]})) == 0
	count(violations(obj, {})) == 2
}

test_label_patterns if {
	obj := labelled(deployment({"containers": [container({})]}), {"app.kubernetes.io/name": "api", "isms.dev/owner": "Team Payments"})
	params := {"labelPatterns": {"isms.dev/owner": "^team-[a-z0-9-]+$", "app.kubernetes.io/name": "^[a-z0-9-]+$"}}
	count(violations(obj, {})) == 0
	vs := violations(obj, params)
	count(vs) == 1
	some v in vs
	v.details == {"label": "isms.dev/owner", "value": "Team Payments", "pattern": "^team-[a-z0-9-]+$"}
}

test_null_label_is_missing if {
	obj := labelled(deployment({"containers": [container({})]}), {"app.kubernetes.io/name": "api", "isms.dev/owner": null})
	count(violations(obj, {})) == 1
}
