package isms.library.run_as_non_root_test

import data.isms.library.run_as_non_root as policy

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

test_pod_level_passes if {
	count(violations(deployment({"securityContext": {"runAsNonRoot": true}, "containers": [container({})]}), {})) == 0
}

test_container_level_passes if {
	count(violations(pod({"containers": [container({"securityContext": {"runAsNonRoot": true}})]}), {})) == 0
}

test_unset_fails if {
	vs := violations(deployment({"containers": [container({})]}), {})
	some v in vs
	v.msg == `Deployment payments/api: container "app" may run as root: runAsNonRoot is not true on the container or the pod`
}

test_container_overrides_pod if {
	spec := {"securityContext": {"runAsNonRoot": true}, "containers": [container({}), container({"name": "sidecar", "securityContext": {"runAsNonRoot": false}})]}
	vs := violations(cronjob(spec), {})
	count(vs) == 1
	some v in vs
	v.details.container == "sidecar"
}

test_null_container_setting_inherits_the_pods if {
	spec := {"securityContext": {"runAsNonRoot": true}, "containers": [container({"securityContext": {"runAsNonRoot": null}})]}
	count(violations(deployment(spec), {})) == 0
}

test_pod_level_false_fails_when_containers_set_true if {
	spec := {"securityContext": {"runAsNonRoot": false}, "containers": [container({"securityContext": {"runAsNonRoot": true}})]}
	vs := violations(deployment(spec), {})
	count(vs) == 1
	some v in vs
	v.details == {"level": "pod"}
}

test_pod_level_false_is_reported_once if {
	count(violations(deployment({"securityContext": {"runAsNonRoot": false}, "containers": [container({}), container({"name": "sidecar"})]}), {})) == 1
}

test_unset_at_every_container_level_fails if {
	spec := {"containers": [container({})], "initContainers": [container({"name": "setup"})], "ephemeralContainers": [container({"name": "debugger"})]}
	vs := violations(pod(spec), {})
	{v.details.containerType | some v in vs} == {"containers", "initContainers", "ephemeralContainers"}
}

test_exempt_user_namespaces if {
	spec := {"hostUsers": false, "containers": [container({})]}
	count(violations(pod(spec), {})) == 1
	count(violations(pod(spec), {"exemptUserNamespaces": true})) == 0
}
