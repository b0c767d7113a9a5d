package isms.library.require_seccomp_profile_test

import data.isms.library.require_seccomp_profile as policy

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

test_pod_level_runtime_default_passes if {
	count(violations(deployment({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [container({})]}), {})) == 0
}

test_container_level_localhost_passes if {
	spec := {"containers": [container({"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}})]}
	count(violations(deployment(spec), {})) == 0
}

test_unset_fails if {
	vs := violations(deployment({"containers": [container({})]}), {})
	some v in vs
	startswith(v.msg, `Deployment payments/api: container "app" has no seccomp profile`)
}

test_container_overrides_pod_with_unconfined if {
	spec := {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [container({"securityContext": {"seccompProfile": {"type": "Unconfined"}}})]}
	vs := violations(cronjob(spec), {})
	some v in vs
	v.details.seccompProfile == "Unconfined"
}

test_parameter_restricts_types if {
	spec := {"containers": [container({"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}})]}
	count(violations(deployment(spec), {"allowedProfileTypes": ["RuntimeDefault"]})) == 1
}
