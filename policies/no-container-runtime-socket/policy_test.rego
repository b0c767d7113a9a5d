package isms.library.no_container_runtime_socket_test

import data.isms.library.no_container_runtime_socket as policy

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

host_path(path) := {"volumes": [{"name": "sock", "hostPath": {"path": path}}], "containers": [container({})]}

test_other_host_path_passes if {
	count(violations(deployment(host_path("/var/log")), {})) == 0
}

test_docker_socket_fails if {
	vs := violations(deployment(host_path("/var/run/docker.sock")), {})
	count(vs) == 1
	some v in vs
	startswith(v.msg, `Deployment payments/api mounts /var/run/docker.sock (volume "sock")`)
}

test_parent_directory_fails if {
	vs := violations(cronjob(host_path("/run/containerd/")), {})
	some v in vs
	v.details.socket == "/run/containerd/containerd.sock"
}

test_root_fails if {
	count(violations(pod(host_path("/")), {})) > 0
}

test_parameter_sockets if {
	count(violations(deployment(host_path("/run/podman/podman.sock")), {"socketPaths": ["/run/podman/podman.sock"]})) == 1
}
