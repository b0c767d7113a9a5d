package isms.library.restrict_apparmor_profile_test

import data.isms.library.restrict_apparmor_profile as policy

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

test_runtime_default_passes if {
	spec := {"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}, "containers": [container({})]}
	count(violations(deployment(spec), {})) == 0
}

test_unset_passes if {
	count(violations(deployment({"containers": [container({})]}), {})) == 0
}

test_unconfined_pod_fails if {
	spec := {"securityContext": {"appArmorProfile": {"type": "Unconfined"}}, "containers": [container({})]}
	vs := violations(deployment(spec), {})
	some v in vs
	v.msg == "Deployment payments/api sets the pod's AppArmor profile to Unconfined; use RuntimeDefault or a Localhost profile"
}

test_unconfined_container_fails if {
	count(violations(cronjob({"containers": [container({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}})]}), {})) == 1
}

test_legacy_annotation if {
	obj := object.union(deployment({"containers": [container({})]}), {"spec": {"template": {"metadata": {"annotations": {
		"container.apparmor.security.beta.kubernetes.io/app": "unconfined",
		"container.apparmor.security.beta.kubernetes.io/sidecar": "runtime/default",
	}}}}})
	vs := violations(obj, {})
	count(vs) == 1
	some v in vs
	v.details.value == "unconfined"
}

test_legacy_annotation_on_pod if {
	obj := object.union(pod({"containers": [container({})]}), {"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "localhost/k8s-nginx"}}})
	count(violations(obj, {})) == 0
}

# An empty annotation value leaves the runtime's default profile, as the Pod Security Standards
# allow; a null profile type is unset.
test_empty_annotation_and_null_type_pass if {
	obj := object.union(pod({"securityContext": {"appArmorProfile": null}, "containers": [container({"securityContext": {"appArmorProfile": {"type": null}}})]}), {"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": ""}}})
	count(violations(obj, {})) == 0
}

test_unconfined_fails_at_every_level if {
	unconfined := {"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}
	spec := object.union(unconfined, {
		"containers": [container(unconfined)],
		"initContainers": [container(object.union({"name": "setup"}, unconfined))],
		"ephemeralContainers": [container(object.union({"name": "debugger"}, unconfined))],
	})
	count(violations(pod(spec), {})) == 4
}
