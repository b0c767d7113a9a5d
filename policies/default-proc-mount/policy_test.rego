package isms.library.default_proc_mount_test

import data.isms.library.default_proc_mount as policy

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

test_default_passes if {
	count(violations(deployment({"containers": [container({"securityContext": {"procMount": "Default"}})]}), {})) == 0
}

test_unset_passes if {
	count(violations(deployment({"containers": [container({})]}), {})) == 0
}

test_unmasked_fails if {
	vs := violations(pod({"containers": [container({"securityContext": {"procMount": "Unmasked"}})]}), {})
	some v in vs
	v.details.procMount == "Unmasked"
	startswith(v.msg, `Pod payments/debug: container "app" sets procMount: Unmasked`)
}

# procMount: null is unset for the API server; it used to be reported as "sets procMount: null".
test_null_proc_mount_passes_at_every_container_level if {
	unset := {"securityContext": {"procMount": null}}
	spec := {
		"containers": [container(unset)],
		"initContainers": [container(object.union({"name": "setup"}, unset))],
		"ephemeralContainers": [container(object.union({"name": "debugger"}, unset))],
	}
	count(violations(pod(spec), {})) == 0
}

test_unmasked_fails_at_every_container_level if {
	unmasked := {"securityContext": {"procMount": "Unmasked"}}
	spec := {
		"containers": [container(unmasked)],
		"initContainers": [container(object.union({"name": "setup"}, unmasked))],
		"ephemeralContainers": [container(object.union({"name": "debugger"}, unmasked))],
	}
	vs := violations(pod(spec), {})
	{v.details.containerType | some v in vs} == {"containers", "initContainers", "ephemeralContainers"}
}

# hostUsers: false exempts the pod only when the parameter says so (the baseline profile).
test_exempt_user_namespaces if {
	spec := {"hostUsers": false, "containers": [container({"securityContext": {"procMount": "Unmasked"}})]}
	count(violations(pod(spec), {})) == 1
	count(violations(pod(spec), {"exemptUserNamespaces": true})) == 0
	count(violations(pod(object.union(spec, {"hostUsers": true})), {"exemptUserNamespaces": true})) == 1
}
