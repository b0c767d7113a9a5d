package isms.library.no_default_service_account_test

import data.isms.library.no_default_service_account as policy

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

test_dedicated_service_account_passes if {
	count(violations(deployment({"serviceAccountName": "api", "containers": [container({})]}), {})) == 0
}

test_unset_fails if {
	vs := violations(deployment({"containers": [container({})]}), {})
	some v in vs
	v.msg == "Deployment payments/api runs under the namespace's default ServiceAccount; give it a dedicated ServiceAccount with only the permissions it needs"
}

test_explicit_default_fails if {
	count(violations(cronjob({"serviceAccountName": "default", "containers": [container({})]}), {})) == 1
}

test_deprecated_field_is_read if {
	count(violations(pod({"serviceAccount": "debug", "containers": [container({})]}), {})) == 0
}

test_null_or_empty_service_account_is_default if {
	count(violations(deployment({"serviceAccountName": null, "containers": [container({})]}), {})) == 1
	count(violations(deployment({"serviceAccountName": "", "containers": [container({})]}), {})) == 1
	count(violations(deployment({"serviceAccountName": null, "serviceAccount": "api", "containers": [container({})]}), {})) == 0
}
