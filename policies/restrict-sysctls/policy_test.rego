package isms.library.restrict_sysctls_test

import data.isms.library.restrict_sysctls as policy

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

test_safe_sysctl_passes if {
	spec := {"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]}, "containers": [container({})]}
	count(violations(deployment(spec), {})) == 0
}

test_unsafe_sysctls_fail if {
	spec := {"securityContext": {"sysctls": [{"name": "net.core.somaxconn", "value": "1024"}, {"name": "kernel.msgmax", "value": "1"}]}, "containers": [container({})]}
	vs := violations(deployment(spec), {})
	count(vs) == 2
	some v in vs
	v.msg == "Deployment payments/api sets the sysctl kernel.msgmax, which is not in the safe set and may affect other pods or the node"
}

test_parameter_allows_sysctl if {
	spec := {"securityContext": {"sysctls": [{"name": "net.core.somaxconn", "value": "1024"}]}, "containers": [container({})]}
	count(violations(cronjob(spec), {"allowedSysctls": ["net.core.somaxconn"]})) == 0
}

with_sysctls(sysctls) := deployment({"securityContext": {"sysctls": sysctls}, "containers": [container({})]})

# Users write net.* for a family: a trailing * is a prefix, anything else an exact name.
test_sysctl_glob if {
	params := {"allowedSysctls": ["net.ipv4.tcp_*", "kernel.shm_rmid_forced"]}
	count(violations(with_sysctls([{"name": "net.ipv4.tcp_keepalive_time", "value": "600"}]), params)) == 0
	count(violations(with_sysctls([{"name": "net.ipv4.ip_forward", "value": "1"}]), params)) == 1
	count(violations(with_sysctls([{"name": "kernel.shm_rmid_forced_x", "value": "1"}]), params)) == 1
}

test_v1_37_safe_set_passes if {
	names := ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"]
	count(violations(with_sysctls([{"name": n, "value": "1"} | some n in names]), {})) == 0
}
