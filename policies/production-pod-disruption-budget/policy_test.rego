package isms.library.production_pod_disruption_budget_test

import data.isms.library.production_pod_disruption_budget as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

inventory(env) := {"cluster": {"v1": {"Namespace": {"payments": {"metadata": {"name": "payments", "labels": {"isms.dev/environment": env}}}}}}}

workload(replicas) := {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "payments"}, "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "api", "tier": "web"}}}}}

with_pdb(env, name, labels) := object.union(inventory(env), {"namespace": {"payments": {"policy/v1": {"PodDisruptionBudget": {name: {"metadata": {"name": name}, "spec": {"selector": {"matchLabels": labels}}}}}}}})

test_matching_pdb_passes if {
	vs := violations(workload(3), {}) with data.inventory as with_pdb("production", "api", {"app": "api"})
	count(vs) == 0
}

test_suffix_convention_passes if {
	vs := violations(workload(3), {}) with data.inventory as with_pdb("production", "api-pdb", {"app": "api"})
	count(vs) == 0
}

test_missing_pdb_fails if {
	vs := violations(workload(3), {}) with data.inventory as inventory("production")
	some v in vs
	v.msg == `Deployment payments/api runs in a production namespace without a PodDisruptionBudget (looked for ["api", "api-pdb"]), so a node drain can stop all its pods at once`
}

test_pdb_selecting_other_pods_fails if {
	vs := violations(workload(3), {}) with data.inventory as with_pdb("production", "api", {"app": "web"})
	some v in vs
	v.details.podDisruptionBudget == "api"
}

test_non_production_passes if {
	vs := violations(workload(3), {}) with data.inventory as inventory("dev")
	count(vs) == 0
}
