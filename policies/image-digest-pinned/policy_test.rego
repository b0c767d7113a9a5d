package isms.library.image_digest_pinned_test

import data.isms.library.image_digest_pinned as policy

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

test_digest_passes if {
	count(violations(deployment({"containers": [container({})]}), {})) == 0
}

test_tag_fails if {
	vs := violations(deployment({"containers": [container({"image": "nginx:1.27.3"})]}), {})
	some v in vs
	v.msg == `Deployment payments/api: container "app" uses image "nginx:1.27.3", which is not pinned by digest (name@sha256:...)`
}

test_allow_tags_accepts_release_tags if {
	params := {"allowTags": true}
	count(violations(cronjob({"containers": [container({"image": "registry.example.com:5000/app:v1.2.3"})]}), params)) == 0
	count(violations(cronjob({"containers": [container({"image": "registry.example.com:5000/app:main"})]}), params)) == 1
	count(violations(cronjob({"containers": [container({"image": "registry.example.com:5000/app"})]}), params)) == 1
}

test_tag_pattern_parameter if {
	params := {"allowTags": true, "tagPattern": "^[0-9]{8}-[0-9a-f]{7}$"}
	count(violations(pod({"containers": [container({"image": "app:20250101-abcdef1"})]}), params)) == 0
}
