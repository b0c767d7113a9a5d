package isms.library.restrict_added_capabilities_test

import data.isms.library.restrict_added_capabilities as policy

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

test_allowed_capability_passes if {
	count(violations(deployment({"containers": [container({"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}})]}), {})) == 0
}

test_cap_prefix_is_normalised if {
	count(violations(deployment({"containers": [container({"securityContext": {"capabilities": {"add": ["cap_net_bind_service"]}}})]}), {})) == 0
}

test_disallowed_capabilities_fail if {
	vs := violations(deployment({"containers": [container({"securityContext": {"capabilities": {"add": ["NET_ADMIN", "SYS_ADMIN"]}}})]}), {})
	count(vs) == 2
	some v in vs
	v.details.capability == "SYS_ADMIN"
	v.msg == `Deployment payments/api: container "app" adds the capability SYS_ADMIN, which is not in the allowed list ["NET_BIND_SERVICE"]`
}

test_parameter_extends_allow_list if {
	spec := {"containers": [container({"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}})]}
	count(violations(deployment(spec), {"allowedCapabilities": ["NET_ADMIN"]})) == 0
}

test_empty_allow_list_rejects_everything if {
	spec := {"containers": [container({"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}})]}
	count(violations(pod(spec), {"allowedCapabilities": []})) == 1
}
