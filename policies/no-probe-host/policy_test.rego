package isms.library.no_probe_host_test

import data.isms.library.no_probe_host as policy

violations(obj) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": {}}
}

image := "registry.example.com/payments/api@sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108"

container(extra) := object.union({"name": "app", "image": image}, extra)

deployment(spec) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "api", "namespace": "payments"},
	"spec": {"template": {"metadata": {"labels": {"app": "api"}}, "spec": spec}},
}

# handler_with_host sets host on the handler at path (a probe or a lifecycle hook).
handler_with_host(path, action, host) := {path[0]: {action: {"port": 8080, "host": host}}} if count(path) == 1

handler_with_host(path, action, host) := {path[0]: {path[1]: {action: {"port": 8080, "host": host}}}} if count(path) == 2

paths := [["livenessProbe"], ["readinessProbe"], ["startupProbe"], ["lifecycle", "postStart"], ["lifecycle", "preStop"]]

test_probes_without_host_pass if {
	c := container({
		"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
		"readinessProbe": {"tcpSocket": {"port": 8080}},
		"startupProbe": {"grpc": {"port": 9090}},
		"lifecycle": {"preStop": {"httpGet": {"path": "/drain", "port": 8080, "host": ""}}},
	})
	count(violations(deployment({"containers": [c]}))) == 0
}

test_empty_and_null_host_pass_everywhere if {
	every path in paths {
		every action in ["httpGet", "tcpSocket"] {
			every host in ["", null] {
				count(violations(deployment({"containers": [container(handler_with_host(path, action, host))]}))) == 0
			}
		}
	}
}

test_host_fails_everywhere if {
	every path in paths {
		every action in ["httpGet", "tcpSocket"] {
			count(violations(deployment({"containers": [container(handler_with_host(path, action, "169.254.169.254"))]}))) == 1
		}
	}
}

test_init_container_host_fails if {
	spec := {"containers": [container({})], "initContainers": [container(object.union({"name": "setup"}, handler_with_host(["startupProbe"], "httpGet", "10.0.0.1")))]}
	vs := violations(deployment(spec))
	count(vs) == 1
	some v in vs
	v.details == {"container": "setup", "containerType": "initContainers", "field": "startupProbe.httpGet.host", "host": "10.0.0.1"}
	v.msg == `Deployment payments/api: init container "setup" sets startupProbe.httpGet.host: 10.0.0.1, so the kubelet sends requests from the node to that host; remove it to probe the pod's own IP`
}
