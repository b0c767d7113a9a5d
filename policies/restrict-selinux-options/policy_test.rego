package isms.library.restrict_selinux_options_test

import data.isms.library.restrict_selinux_options as policy

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

test_level_only_passes if {
	count(violations(deployment({"securityContext": {"seLinuxOptions": {"level": "s0:c1,c2"}}, "containers": [container({})]}), {})) == 0
}

test_container_type_passes if {
	count(violations(deployment({"containers": [container({"securityContext": {"seLinuxOptions": {"type": "container_init_t"}}})]}), {})) == 0
}

test_spc_t_fails if {
	vs := violations(deployment({"securityContext": {"seLinuxOptions": {"type": "spc_t"}}, "containers": [container({})]}), {})
	some v in vs
	v.msg == "Deployment payments/api: the pod sets the SELinux type spc_t, which can run it outside the container SELinux domain"
}

test_user_and_role_fail if {
	vs := violations(pod({"containers": [container({"securityContext": {"seLinuxOptions": {"user": "system_u", "role": "system_r"}}})]}), {})
	count(vs) == 2
	some v in vs
	v.details.container == "app"
}

test_parameter_allows_type if {
	spec := {"securityContext": {"seLinuxOptions": {"type": "spc_t"}}, "containers": [container({})]}
	count(violations(cronjob(spec), {"allowedTypes": ["spc_t"]})) == 0
}

# Null options and null fields read as unset, as the API server reads them.
test_null_options_pass if {
	spec := {
		"securityContext": {"seLinuxOptions": {"type": null, "user": null, "role": null, "level": "s0:c123,c456"}},
		"containers": [container({"securityContext": {"seLinuxOptions": null}})],
		"initContainers": [container({"name": "setup", "securityContext": {"seLinuxOptions": {"type": null}}})],
	}
	count(violations(pod(spec), {})) == 0
}

test_type_user_and_role_fail_at_every_level if {
	bad := {"securityContext": {"seLinuxOptions": {"type": "spc_t"}}}
	spec := object.union(bad, {
		"containers": [container(bad)],
		"initContainers": [container(object.union({"name": "setup"}, bad))],
		"ephemeralContainers": [container(object.union({"name": "debugger"}, {"securityContext": {"seLinuxOptions": {"user": "system_u", "role": "system_r"}}}))],
	})
	vs := violations(pod(spec), {})
	{v.details.container | some v in vs} == {"", "app", "setup", "debugger"}
	count(vs) == 5
}

test_container_engine_type_passes if {
	count(violations(pod({"containers": [container({"securityContext": {"seLinuxOptions": {"type": "container_engine_t"}}})]}), {})) == 0
}
