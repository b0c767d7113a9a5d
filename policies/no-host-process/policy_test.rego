package isms.library.no_host_process_test

import data.isms.library.no_host_process as policy

violations(obj) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": {}}
}

image := "registry.example.com/windows/agent@sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108"

# container returns a container named app, with the fields of extra added.
container(extra) := object.union({"name": "app", "image": image}, extra)

host_process(value) := {"securityContext": {"windowsOptions": {"hostProcess": value}}}

daemonset(spec) := {
	"apiVersion": "apps/v1",
	"kind": "DaemonSet",
	"metadata": {"name": "agent", "namespace": "monitoring"},
	"spec": {"template": {"metadata": {"labels": {"app": "agent"}}, "spec": spec}},
}

pod(spec) := {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "monitoring"}, "spec": spec}

test_windows_pod_without_host_process_passes if {
	spec := {
		"securityContext": {"windowsOptions": {"runAsUserName": "ContainerUser"}},
		"containers": [container({})],
	}
	count(violations(daemonset(spec))) == 0
}

test_false_and_null_pass_at_every_level if {
	every value in [false, null] {
		spec := object.union(host_process(value), {
			"containers": [container(host_process(value))],
			"initContainers": [container(object.union({"name": "setup"}, host_process(value)))],
			"ephemeralContainers": [container(object.union({"name": "debugger"}, host_process(value)))],
		})
		count(violations(pod(spec))) == 0
	}
}

test_pod_level_host_process_fails if {
	vs := violations(daemonset(object.union(host_process(true), {"containers": [container({})]})))
	count(vs) == 1
	some v in vs
	v.details.level == "pod"
	v.msg == "DaemonSet monitoring/agent sets securityContext.windowsOptions.hostProcess: true for the pod, so every container runs as a process on the Windows node, with the node's file system and network"
}

test_container_host_process_fails if {
	vs := violations(daemonset({"containers": [container(host_process(true))]}))
	count(vs) == 1
	some v in vs
	v.details == {"container": "app", "containerType": "containers"}
}

test_init_container_host_process_fails if {
	spec := {"containers": [container({})], "initContainers": [container(object.union({"name": "setup"}, host_process(true)))]}
	some v in violations(daemonset(spec))
	v.details == {"container": "setup", "containerType": "initContainers"}
}

test_ephemeral_container_host_process_fails if {
	spec := {"containers": [container({})], "ephemeralContainers": [container(object.union({"name": "debugger"}, host_process(true)))]}
	some v in violations(pod(spec))
	v.details == {"container": "debugger", "containerType": "ephemeralContainers"}
}

test_owned_pod_is_skipped if {
	owned := object.union(pod({"containers": [container(host_process(true))]}), {"metadata": {"ownerReferences": [{"kind": "DaemonSet", "name": "agent", "controller": true}]}})
	count(violations(owned)) == 0
}
