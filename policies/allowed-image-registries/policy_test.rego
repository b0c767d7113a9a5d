package isms.library.allowed_image_registries_test

import data.isms.library.allowed_image_registries as policy

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

params := {"registries": ["registry.example.com/", "ghcr.io/example-org/"]}

test_approved_registry_passes if {
	count(violations(deployment({"containers": [container({}), container({"name": "b", "image": "ghcr.io/example-org/tool:1.0"})]}), params)) == 0
}

test_docker_hub_short_name_fails if {
	vs := violations(deployment({"containers": [container({})], "initContainers": [container({"name": "init", "image": "busybox:1.36"})]}), params)
	some v in vs
	v.msg == `Deployment payments/api: init container "init" uses image "busybox:1.36", which is not from an approved registry ["registry.example.com/", "ghcr.io/example-org/"]`
}

test_prefix_is_literal if {
	count(violations(cronjob({"containers": [container({"image": "registry.example.com.evil.io/app:1"})]}), params)) == 1
}

test_no_registry_configured_rejects_all if {
	count(violations(pod({"containers": [container({})]}), {})) == 1
}
