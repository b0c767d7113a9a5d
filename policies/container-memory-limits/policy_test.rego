package isms.library.container_memory_limits_test

import data.isms.library.container_memory_limits as policy

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

test_memory_limit_passes if {
	count(violations(deployment({"containers": [container({"resources": {"limits": {"memory": "256Mi"}}})]}), {})) == 0
}

test_missing_memory_limit_fails if {
	vs := violations(deployment({"containers": [container({"resources": {"requests": {"memory": "256Mi"}}})]}), {})
	some v in vs
	v.msg == `Deployment payments/api: container "app" has no memory limit, so it can exhaust the node and starve other workloads`
}

test_cpu_limit_parameter if {
	spec := {"containers": [container({"resources": {"limits": {"memory": "256Mi"}}})]}
	count(violations(cronjob(spec), {"requireCpuLimit": true})) == 1
	count(violations(cronjob(spec), {"requireCpuLimit": false})) == 0
}

# with_limits is a Deployment whose container app has the given resources.limits (plus what the
# presence check needs, so that only the maximum is tested).
with_limits(values) := deployment({"containers": [container({"resources": {"limits": object.union({"cpu": "100m", "memory": "64Mi"}, values)}})]})

# Quantities compare by value, with the API's suffixes; without the parameter nothing is
# compared (the first case).
test_maxLimits_compares_quantities if {
	count(violations(with_limits({"cpu": "4", "memory": "64Gi"}), {})) == 0
	max := {"maxLimits": {"cpu": "1", "memory": "1Gi"}}
	count(violations(with_limits({"cpu": "500m", "memory": "1Gi"}), max)) == 0
	count(violations(with_limits({"cpu": "1", "memory": "1024Mi"}), max)) == 0
	count(violations(with_limits({"cpu": "0.5", "memory": "1073741824"}), max)) == 0
	count(violations(with_limits({"cpu": "1500m"}), max)) == 1
	count(violations(with_limits({"cpu": "1001m"}), max)) == 1
	count(violations(with_limits({"memory": "1025Mi"}), max)) == 1
	count(violations(with_limits({"memory": "2G"}), max)) == 1
	count(violations(with_limits({"memory": "129e7"}), max)) == 1
	count(violations(with_limits({"cpu": "900000u", "memory": "1000M"}), max)) == 0
	count(violations(with_limits({"cpu": 2}), max)) == 1
}

test_maxLimits_1Gi_is_more_than_1G if {
	count(violations(with_limits({"memory": "1Gi"}), {"maxLimits": {"memory": "1G"}})) == 1
	count(violations(with_limits({"memory": "1G"}), {"maxLimits": {"memory": "1Gi"}})) == 0
}

test_maxLimits_message if {
	vs := violations(with_limits({"cpu": "1500m"}), {"maxLimits": {"cpu": "1"}})
	some v in vs
	v.details.resource == "cpu"
	endswith(v.msg, "1500m of cpu, more than the maximum of 1")
}

test_maxLimits_not_a_quantity_is_reported if {
	vs := violations(with_limits({"memory": "lots"}), {"maxLimits": {"memory": "1Gi"}})
	some v in vs
	endswith(v.msg, "lots of memory, which is not a Kubernetes quantity")
}

test_null_limits_read_as_unset if {
	vs := violations(deployment({"containers": [container({"resources": {"limits": {"cpu": null, "memory": null}}})]}), {"requireCpuLimit": true})
	some v in vs
	v.details.resource == "memory"
}
