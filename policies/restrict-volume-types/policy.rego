package isms.library.restrict_volume_types

# ISMS-LIB-039: pods use only the volume types of the Pod Security Standards' restricted
# profile (parameter allowedVolumeTypes).

# pod_spec is the pod spec of the subject: the pod template of a workload, the job template
# of a CronJob, or the spec of a Pod. ReplicaSets, Jobs and Pods that a controller owns are
# skipped: their owner is evaluated instead, so each problem is reported once.
pod_spec(obj) := obj.spec.template.spec if {
	obj.kind in {"Deployment", "StatefulSet", "DaemonSet"}
}

pod_spec(obj) := obj.spec.template.spec if {
	obj.kind in {"ReplicaSet", "Job"}
	not controlled(obj)
}

pod_spec(obj) := obj.spec.jobTemplate.spec.template.spec if obj.kind == "CronJob"

pod_spec(obj) := obj.spec if {
	obj.kind == "Pod"
	not controlled(obj)
}

controlled(obj) if {
	some ref in obj.metadata.ownerReferences
	ref.controller == true
}

# subject names the object in messages, e.g. Deployment payments/api.
subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name]) if {
	obj := input.review.object
	obj.metadata.namespace
} else := sprintf("%s %s", [input.review.object.kind, input.review.object.metadata.name])

default_allowed := [
	"configMap",
	"csi",
	"downwardAPI",
	"emptyDir",
	"ephemeral",
	"image",
	"persistentVolumeClaim",
	"projected",
	"secret",
]

allowed := {t | some t in object.get(input.parameters, "allowedVolumeTypes", default_allowed)}

# A volume is its name and one source field, whose name is the volume's type. A null source
# reads as unset, as the API server reads it.
violation contains {"msg": msg, "details": {"volume": volume.name, "volumeType": type}} if {
	some volume in pod_spec(input.review.object).volumes
	some type, source in volume
	type != "name"
	source != null
	not type in allowed
	msg := sprintf("%s: volume %q is of type %s, which is not in the allowed volume types %v; use a PersistentVolumeClaim or a CSI volume", [subject, volume.name, type, sort(allowed)])
}
