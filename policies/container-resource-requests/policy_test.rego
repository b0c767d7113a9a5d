package isms.library.container_resource_requests_test

import data.isms.library.container_resource_requests as policy

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

test_requests_pass if {
	count(violations(deployment({"containers": [container({"resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}})]}), {})) == 0
}

test_missing_requests_fail if {
	vs := violations(deployment({"containers": [container({"resources": {"requests": {"memory": "128Mi"}}})], "initContainers": [container({"name": "init"})]}), {})
	count(vs) == 3
	some v in vs
	v.msg == `Deployment payments/api: container "app" has no cpu request, so the scheduler cannot reserve capacity for it`
}

test_ephemeral_containers_are_ignored if {
	spec := {"containers": [container({"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}})], "ephemeralContainers": [container({"name": "debug"})]}
	count(violations(pod(spec), {})) == 0
}

test_parameter_resources if {
	count(violations(cronjob({"containers": [container({"resources": {"requests": {"memory": "1Gi"}}})]}), {"resources": ["memory"]})) == 0
}

# with_requests is a Deployment whose container app has the given resources.requests (plus what the
# presence check needs, so that only the maximum is tested).
with_requests(values) := deployment({"containers": [container({"resources": {"requests": object.union({"cpu": "100m", "memory": "64Mi"}, values)}})]})

# Quantities compare by value, with the API's suffixes; without the parameter nothing is
# compared (the first case).
test_maxRequests_compares_quantities if {
	count(violations(with_requests({"cpu": "4", "memory": "64Gi"}), {})) == 0
	max := {"maxRequests": {"cpu": "1", "memory": "1Gi"}}
	count(violations(with_requests({"cpu": "500m", "memory": "1Gi"}), max)) == 0
	count(violations(with_requests({"cpu": "1", "memory": "1024Mi"}), max)) == 0
	count(violations(with_requests({"cpu": "0.5", "memory": "1073741824"}), max)) == 0
	count(violations(with_requests({"cpu": "1500m"}), max)) == 1
	count(violations(with_requests({"cpu": "1001m"}), max)) == 1
	count(violations(with_requests({"memory": "1025Mi"}), max)) == 1
	count(violations(with_requests({"memory": "2G"}), max)) == 1
	count(violations(with_requests({"memory": "129e7"}), max)) == 1
	count(violations(with_requests({"cpu": "900000u", "memory": "1000M"}), max)) == 0
	count(violations(with_requests({"cpu": 2}), max)) == 1
}

test_maxRequests_1Gi_is_more_than_1G if {
	count(violations(with_requests({"memory": "1Gi"}), {"maxRequests": {"memory": "1G"}})) == 1
	count(violations(with_requests({"memory": "1G"}), {"maxRequests": {"memory": "1Gi"}})) == 0
}

test_maxRequests_message if {
	vs := violations(with_requests({"cpu": "1500m"}), {"maxRequests": {"cpu": "1"}})
	some v in vs
	v.details.resource == "cpu"
	endswith(v.msg, "1500m of cpu, more than the maximum of 1")
}

test_maxRequests_not_a_quantity_is_reported if {
	vs := violations(with_requests({"memory": "lots"}), {"maxRequests": {"memory": "1Gi"}})
	some v in vs
	endswith(v.msg, "lots of memory, which is not a Kubernetes quantity")
}

test_null_requests_read_as_unset if {
	vs := violations(deployment({"containers": [container({"resources": {"requests": {"cpu": null, "memory": null}}})]}), {"requireCpuLimit": true})
	some v in vs
	v.details.resource == "memory"
}
