package isms.library.service_exposure_justified_test

import data.isms.library.service_exposure_justified as policy

# violations evaluates the policy for obj with the parameters params.
violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

service(type, annotations) := {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "payments", "annotations": annotations}, "spec": {"type": type}}

test_cluster_ip_passes if {
	count(violations(service("ClusterIP", {}), {})) == 0
}

test_justified_load_balancer_passes if {
	count(violations(service("LoadBalancer", {"isms.dev/exposure-justification": "CHG-1"}), {})) == 0
}

test_unjustified_node_port_fails if {
	vs := violations(service("NodePort", {"isms.dev/exposure-justification": " "}), {})
	some v in vs
	v.msg == "Service payments/web is of type NodePort, which exposes it outside the cluster, without the annotation isms.dev/exposure-justification recording why and who approved it"
}

test_parameters if {
	count(violations(service("NodePort", {}), {"types": ["LoadBalancer"]})) == 0
	count(violations(service("LoadBalancer", {"x/approved": "yes"}), {"annotation": "x/approved"})) == 0
}

test_null_justification_is_missing if {
	count(violations(service("LoadBalancer", {"isms.dev/exposure-justification": null}), {})) == 1
}
