package isms.library.restrict_volume_types_test

import data.isms.library.restrict_volume_types as policy

violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

image := "registry.example.com/payments/api@sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108"

deployment(volumes) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": {"name": "api", "namespace": "payments"},
	"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}], "volumes": volumes}}},
}

restricted_volumes := [
	{"name": "config", "configMap": {"name": "api-config"}},
	{"name": "inline", "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": true}},
	{"name": "podinfo", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
	{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
	{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}},
	{"name": "data", "persistentVolumeClaim": {"claimName": "api-data"}},
	{"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}},
	{"name": "tls", "secret": {"secretName": "api-tls"}},
	{"name": "model", "image": {"reference": "registry.example.com/models/llm:1.0", "pullPolicy": "IfNotPresent"}},
]

test_every_restricted_type_passes if {
	count(violations(deployment(restricted_volumes), {})) == 0
}

test_null_source_reads_as_unset if {
	count(violations(deployment([{"name": "tmp", "hostPath": null, "emptyDir": {}}]), {})) == 0
}

test_other_types_fail if {
	every source in [
		{"hostPath": {"path": "/var/log"}},
		{"nfs": {"server": "nfs.example.com", "path": "/exports"}},
		{"iscsi": {"targetPortal": "10.0.0.1:3260", "iqn": "iqn.2024-01.com.example:disk", "lun": 0}},
		{"awsElasticBlockStore": {"volumeID": "vol-0123"}},
		{"gitRepo": {"repository": "https://git.example.com/repo.git"}},
	] {
		vs := violations(deployment([object.union({"name": "v"}, source)]), {})
		count(vs) == 1
	}
}

test_message_names_the_volume_and_type if {
	some v in violations(deployment([{"name": "exports", "nfs": {"server": "nfs.example.com", "path": "/"}}]), {})
	v.details == {"volume": "exports", "volumeType": "nfs"}
	startswith(v.msg, `Deployment payments/api: volume "exports" is of type nfs, which is not in the allowed volume types`)
}

# The parameter narrows (or widens) the list: without it, csi would pass and nfs fail.
test_allowed_volume_types_parameter if {
	params := {"allowedVolumeTypes": ["emptyDir", "nfs"]}
	count(violations(deployment([{"name": "inline", "csi": {"driver": "d"}}]), params)) == 1
	count(violations(deployment([{"name": "exports", "nfs": {"server": "s", "path": "/"}}]), params)) == 0
}
