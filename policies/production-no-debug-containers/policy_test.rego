package isms.library.production_no_debug_containers_test

import data.isms.library.production_no_debug_containers as policy

namespace(name, labels) := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}

inventory(namespaces) := {"cluster": {"v1": {"Namespace": {ns.metadata.name: ns | some ns in namespaces}}}}

production := inventory([namespace("payments", {"isms.dev/environment": "production"})])

violations(obj, inv, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
		with data.inventory as inv
}

app := {"name": "app", "image": "registry.example.com/payments/api:1.4.2"}

debugger := {"name": "debugger-x7k2p", "image": "busybox:1.36", "targetContainerName": "app"}

# pod is a Pod of a ReplicaSet, as kubectl debug finds it, with the given ephemeral containers.
pod(ephemeral) := {
	"apiVersion": "v1", "kind": "Pod",
	"metadata": {"name": "api-7d4b9-q2x8z", "namespace": "payments", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-7d4b9", "controller": true}]},
	"spec": {"containers": [app], "ephemeralContainers": ephemeral},
}

test_pod_without_debug_container_passes if {
	count(violations(pod([]), production, {})) == 0
	count(violations(pod(null), production, {})) == 0
	count(violations(json.remove(pod([]), ["spec/ephemeralContainers"]), production, {})) == 0
}

test_debug_container_in_owned_production_pod_fails if {
	vs := violations(pod([debugger]), production, {})
	count(vs) == 1
	some v in vs
	v.msg == `Pod payments/api-7d4b9-q2x8z: ephemeral container "debugger-x7k2p" (image busybox:1.36) was attached to this running production Pod (kubectl debug) in the processes of container "app": a privileged utility outside the reviewed manifest; delete the Pod once the investigation is over`
	v.details == {"container": "debugger-x7k2p", "containerType": "ephemeralContainers", "image": "busybox:1.36", "targetContainerName": "app"}
}

test_debug_container_without_target_fails if {
	some v in violations(pod([{"name": "debugger", "image": "busybox:1.36", "targetContainerName": null}]), production, {})
	contains(v.msg, "(kubectl debug): a privileged utility")
}

test_each_debug_container_is_reported if {
	count(violations(pod([debugger, {"name": "debugger-2", "image": "nicolaka/netshoot:v0.13"}]), production, {})) == 2
}

test_not_production_is_not_checked if {
	count(violations(pod([debugger]), inventory([namespace("payments", {"isms.dev/environment": "development"})]), {})) == 0
	count(violations(pod([debugger]), inventory([namespace("payments", null)]), {})) == 0
	count(violations(pod([debugger]), {}, {})) == 0
}

test_production_values_and_environment_label_parameters if {
	inv := inventory([namespace("payments", {"example.com/env": "live"})])
	count(violations(pod([debugger]), inv, {})) == 0
	count(violations(pod([debugger]), inv, {"environmentLabel": "example.com/env", "productionValues": ["live"]})) == 1
	count(violations(pod([debugger]), inventory([namespace("payments", {"isms.dev/environment": "prod"})]), {})) == 1
}

test_exempt_images_parameter if {
	count(violations(pod([debugger]), production, {"exemptImages": ["busybox:1.36"]})) == 0
	count(violations(pod([debugger]), production, {"exemptImages": ["busybox:*"]})) == 0
	count(violations(pod([debugger]), production, {"exemptImages": ["busybox:1.37"]})) == 1
	count(violations(pod([debugger]), production, {"exemptImages": ["registry.example.com/*"]})) == 1
}

test_break_glass_label_parameter if {
	inv := inventory([namespace("payments", {"isms.dev/environment": "production", "isms.dev/break-glass": "true"})])
	count(violations(pod([debugger]), inv, {})) == 1
	count(violations(pod([debugger]), inv, {"breakGlassLabel": "isms.dev/break-glass"})) == 0
	count(violations(pod([debugger]), production, {"breakGlassLabel": "isms.dev/break-glass"})) == 1
	other := inventory([namespace("payments", {"isms.dev/environment": "production", "isms.dev/break-glass": "false"})])
	count(violations(pod([debugger]), other, {"breakGlassLabel": "isms.dev/break-glass"})) == 1
}
