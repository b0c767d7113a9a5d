package isms.library.no_host_path_volumes_test

import data.isms.library.no_host_path_volumes as policy

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

pod_with_host_path(path, read_only) := {
	"volumes": [{"name": "host", "hostPath": {"path": path}}],
	"containers": [container({"volumeMounts": [{"name": "host", "mountPath": "/host", "readOnly": read_only}]})],
}

test_empty_dir_passes if {
	count(violations(deployment({"volumes": [{"name": "tmp", "emptyDir": {}}], "containers": [container({})]}), {})) == 0
}

test_host_path_fails if {
	vs := violations(deployment(pod_with_host_path("/etc", true)), {})
	some v in vs
	v.msg == `Deployment payments/api mounts the node's /etc as hostPath volume "host", which gives its containers access to the node's file system`
}

test_allowed_read_only_prefix_passes if {
	count(violations(deployment(pod_with_host_path("/var/log/pods", true)), {"allowedHostPaths": ["/var/log"]})) == 0
}

test_allowed_prefix_but_writable_fails if {
	count(violations(deployment(pod_with_host_path("/var/log", false)), {"allowedHostPaths": ["/var/log"]})) == 1
}

test_prefix_matches_whole_segments if {
	count(violations(cronjob(pod_with_host_path("/var/logs", true)), {"allowedHostPaths": ["/var/log"]})) == 1
}

# hostPath: null is no hostPath for the API server.
test_null_host_path_passes if {
	spec := {"containers": [container({})], "volumes": [{"name": "tmp", "hostPath": null, "emptyDir": {}}]}
	count(violations(deployment(spec), {})) == 0
}
