package isms.library.container_probes_test

import data.isms.library.container_probes as policy

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

probed := container({"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}, "readinessProbe": {"tcpSocket": {"port": 8080}}})

test_probes_pass if {
	count(violations(deployment({"containers": [probed], "initContainers": [container({"name": "init"})]}), {})) == 0
}

test_missing_probes_fail if {
	vs := violations(deployment({"containers": [container({})]}), {})
	count(vs) == 2
	some v in vs
	v.msg == `Deployment payments/api: container "app" has no readinessProbe, so failures are neither detected nor routed around`
}

test_cronjob_is_not_checked if {
	count(violations(cronjob({"containers": [container({})]}), {})) == 0
}

test_parameter_probes if {
	count(violations(pod({"containers": [container({"livenessProbe": {"exec": {"command": ["true"]}}})]}), {"probes": ["livenessProbe"]})) == 0
}

test_null_probe_is_no_probe if {
	vs := violations(deployment({"containers": [object.union(probed, {"livenessProbe": null})]}), {})
	count(vs) == 1
	some v in vs
	v.details.probe == "livenessProbe"
}
