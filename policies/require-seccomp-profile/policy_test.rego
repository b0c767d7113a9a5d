package isms.library.require_seccomp_profile_test

import data.isms.library.require_seccomp_profile as policy

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

test_pod_level_runtime_default_passes if {
	count(violations(deployment({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [container({})]}), {})) == 0
}

test_container_level_localhost_passes if {
	spec := {"containers": [container({"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}})]}
	count(violations(deployment(spec), {})) == 0
}

test_unset_fails if {
	vs := violations(deployment({"containers": [container({})]}), {})
	some v in vs
	startswith(v.msg, `Deployment payments/api: container "app" has no seccomp profile`)
}

test_container_overrides_pod_with_unconfined if {
	spec := {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [container({"securityContext": {"seccompProfile": {"type": "Unconfined"}}})]}
	vs := violations(cronjob(spec), {})
	some v in vs
	v.details.seccompProfile == "Unconfined"
}

test_parameter_restricts_types if {
	spec := {"containers": [container({"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}})]}
	count(violations(deployment(spec), {"allowedProfileTypes": ["RuntimeDefault"]})) == 1
}

test_null_container_profile_inherits_the_pods if {
	spec := {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [container({"securityContext": {"seccompProfile": null}})]}
	count(violations(deployment(spec), {})) == 0
}

test_unset_at_every_container_level_fails if {
	spec := {
		"containers": [container({})],
		"initContainers": [container({"name": "setup"})],
		"ephemeralContainers": [container({"name": "debugger"})],
	}
	vs := violations(pod(spec), {})
	{v.details.containerType | some v in vs} == {"containers", "initContainers", "ephemeralContainers"}
}

# Without the mode parameter, unset fails (test_unset_fails); in the baseline mode it passes,
# and Unconfined still fails.
test_baseline_mode_allows_unset if {
	count(violations(deployment({"containers": [container({})]}), {"mode": "baseline"})) == 0
}

test_baseline_mode_refuses_unconfined if {
	spec := {"containers": [container({"securityContext": {"seccompProfile": {"type": "Unconfined"}}})]}
	count(violations(deployment(spec), {"mode": "baseline"})) == 1
}

# Unconfined on the pod fails even when every container sets its own profile, as the Pod
# Security Standards say.
test_pod_level_unconfined_fails_when_containers_override_it if {
	spec := {"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [container({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}})]}
	vs := violations(deployment(spec), {"mode": "baseline"})
	count(vs) == 1
	some v in vs
	v.details == {"level": "pod", "seccompProfile": "Unconfined"}
	startswith(v.msg, "Deployment payments/api: the pod uses the seccomp profile Unconfined, which is not allowed")
}

localhost(name) := {"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": name}}}

test_allowed_localhost_profiles if {
	params := {"allowedLocalhostProfiles": ["profiles/audited/*", "profiles/api.json"]}
	count(violations(deployment({"containers": [container(localhost("profiles/audited/nginx.json"))]}), params)) == 0
	count(violations(deployment({"containers": [container(localhost("profiles/api.json"))]}), params)) == 0
	vs := violations(deployment({"containers": [container(localhost("profiles/unconfined.json"))]}), params)
	count(vs) == 1
	some v in vs
	contains(v.msg, `uses the Localhost seccomp profile "profiles/unconfined.json", which is not in allowedLocalhostProfiles`)
}

test_allowed_localhost_profiles_apply_to_the_pod if {
	spec := object.union(localhost("profiles/any.json"), {"containers": [container({})]})
	count(violations(deployment(spec), {})) == 0
	count(violations(deployment(spec), {"allowedLocalhostProfiles": ["profiles/audited/*"]})) == 1
}

# The legacy annotations do not count (the kubelet ignores them since v1.27); the message says so.
test_legacy_annotation_is_not_a_profile if {
	obj := object.union(deployment({"containers": [container({})]}), {"spec": {"template": {"metadata": {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "runtime/default"}}}}})
	vs := violations(obj, {})
	count(vs) == 1
	some v in vs
	contains(v.msg, "(its seccomp annotations are ignored since Kubernetes v1.27)")
}
