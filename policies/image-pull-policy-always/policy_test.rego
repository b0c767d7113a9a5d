package isms.library.image_pull_policy_always_test

import data.isms.library.image_pull_policy_always as policy

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

test_digest_with_if_not_present_passes if {
	count(violations(deployment({"containers": [container({"imagePullPolicy": "IfNotPresent"})]}), {})) == 0
}

test_tag_with_always_passes if {
	count(violations(deployment({"containers": [container({"image": "app:1.2.3", "imagePullPolicy": "Always"})]}), {})) == 0
}

test_tag_with_if_not_present_fails if {
	vs := violations(cronjob({"containers": [container({"image": "app:1.2.3", "imagePullPolicy": "IfNotPresent"})]}), {})
	some v in vs
	v.msg == `CronJob payments/report: container "app" uses the mutable image "app:1.2.3" with imagePullPolicy IfNotPresent; set Always or pin the image by digest`
}

test_tag_with_unset_policy_fails if {
	count(violations(pod({"containers": [container({"image": "app:1.2.3"})]}), {})) == 1
}

# Unset (or null) is what the API server defaults: Always for latest and untagged images, so a
# manifest gets the verdict its object gets in the cluster.
test_unset_policy_reads_as_the_api_default if {
	count(violations(deployment({"containers": [container({"image": "registry.example.com/payments/api:latest"})]}), {})) == 0
	count(violations(deployment({"containers": [container({"image": "registry.example.com:5000/payments/api", "imagePullPolicy": null})]}), {})) == 0
	vs := violations(deployment({"containers": [container({"image": "registry.example.com/payments/api:1.2.3"})]}), {})
	some v in vs
	v.details.imagePullPolicy == "IfNotPresent"
}
