package isms.library.no_latest_tag_test

import data.isms.library.no_latest_tag as policy

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

test_release_tag_and_digest_pass if {
	count(violations(deployment({"containers": [container({"image": "nginx:1.27.3"}), container({"name": "b"})]}), {})) == 0
}

test_latest_fails if {
	vs := violations(deployment({"containers": [container({"image": "nginx:latest"})]}), {})
	some v in vs
	v.msg == `Deployment payments/api: container "app": image "nginx:latest" uses the mutable tag "latest"; pin a release tag or a digest`
}

test_untagged_with_registry_port_fails if {
	vs := violations(cronjob({"containers": [container({"image": "registry.example.com:5000/report"})]}), {})
	some v in vs
	contains(v.msg, "has no tag")
}

test_parameter_tags if {
	count(violations(pod({"containers": [container({"image": "app:stable"})]}), {"disallowedTags": ["latest", "stable"]})) == 1
}
