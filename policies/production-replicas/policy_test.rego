package isms.library.production_replicas_test

import data.isms.library.production_replicas as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

inventory(env) := {"cluster": {"v1": {"Namespace": {"payments": {"metadata": {"name": "payments", "labels": {"isms.dev/environment": env}}}}}}}

workload(replicas) := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "payments"}, "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "api", "tier": "web"}}}}}

test_enough_replicas_pass if {
	vs := violations(workload(3), {}) with data.inventory as inventory("production")
	count(vs) == 0
}

test_single_replica_in_production_fails if {
	vs := violations(workload(1), {}) with data.inventory as inventory("production")
	some v in vs
	v.msg == "Deployment payments/api runs 1 replica(s) in a production namespace, fewer than 2: one node failure or rollout makes it unavailable"
}

test_non_production_passes if {
	vs := violations(workload(1), {}) with data.inventory as inventory("staging")
	count(vs) == 0
}

test_parameters if {
	params := {"environmentLabel": "isms.dev/environment", "productionValues": ["live"], "minReplicas": 3}
	vs := violations(workload(2), params) with data.inventory as inventory("live")
	count(vs) == 1
}

prod_violations(replicas, params) := vs if {
	vs := violations(workload(replicas), params) with data.inventory as inventory("production")
}

test_max_replicas if {
	count(prod_violations(50, {})) == 0
	vs := prod_violations(50, {"maxReplicas": 20})
	count(vs) == 1
	some v in vs
	v.msg == "Deployment payments/api runs 50 replicas in a production namespace, more than the maximum of 20"
	count(prod_violations(20, {"maxReplicas": 20})) == 0
}

# replicas: null is unset, which the API server defaults to 1.
test_null_replicas_is_one if {
	some v in prod_violations(null, {})
	v.details == {"replicas": 1, "minReplicas": 2}
}
