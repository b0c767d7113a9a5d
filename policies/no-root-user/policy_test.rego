package isms.library.no_root_user_test

import data.isms.library.no_root_user as policy

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

test_non_root_ids_pass if {
	count(violations(deployment({"securityContext": {"runAsUser": 10001, "runAsGroup": 10001}, "containers": [container({})]}), {})) == 0
}

test_unset_passes if {
	count(violations(deployment({"containers": [container({})]}), {})) == 0
}

test_pod_level_root_user_fails if {
	vs := violations(deployment({"securityContext": {"runAsUser": 0}, "containers": [container({})]}), {})
	some v in vs
	v.msg == `Deployment payments/api: the pod runs with runAsUser: 0 (root); use a non-zero ID`
	count(vs) == 1
}

# The Pod Security Standards refuse runAsUser: 0 on the pod even when the containers override it.
test_pod_level_root_fails_when_containers_override_it if {
	spec := {"securityContext": {"runAsUser": 0}, "containers": [container({"securityContext": {"runAsUser": 1000}})]}
	vs := violations(deployment(spec), {})
	count(vs) == 1
	some v in vs
	v.details == {"level": "pod", "field": "runAsUser"}
}

test_container_root_at_every_level_fails if {
	root := {"securityContext": {"runAsUser": 0}}
	spec := {
		"containers": [container(root)],
		"initContainers": [container(object.union({"name": "setup"}, root))],
		"ephemeralContainers": [container(object.union({"name": "debugger"}, root))],
	}
	vs := violations(pod(spec), {})
	{v.details.containerType | some v in vs} == {"containers", "initContainers", "ephemeralContainers"}
}

test_null_reads_as_unset if {
	spec := {"securityContext": {"runAsUser": null}, "containers": [container({"securityContext": {"runAsUser": null, "runAsGroup": null}})]}
	count(violations(deployment(spec), {})) == 0
}

# hostUsers: false exempts the pod only when the parameter says so.
test_exempt_user_namespaces if {
	spec := {"hostUsers": false, "containers": [container({"securityContext": {"runAsUser": 0}})]}
	count(violations(pod(spec), {})) == 1
	count(violations(pod(spec), {"exemptUserNamespaces": true})) == 0
	count(violations(pod(object.union(spec, {"hostUsers": true})), {"exemptUserNamespaces": true})) == 1
}

test_root_group_parameter if {
	spec := {"containers": [container({"securityContext": {"runAsGroup": 0}})]}
	count(violations(cronjob(spec), {})) == 1
	count(violations(cronjob(spec), {"checkRunAsGroup": false})) == 0
}
