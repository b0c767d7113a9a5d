package isms.library.no_host_path_volumes

# ISMS-LIB-025: pods mount no hostPath volume, except read-only under the path prefixes of
# the parameter allowedHostPaths.

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

# The kinds of container a pod spec holds, with the words used in messages.
container_types := {
	"containers": "container",
	"initContainers": "init container",
	"ephemeralContainers": "ephemeral container",
}

# containers holds every container of the subject with its type.
containers contains {"container": c, "field": field, "label": label} if {
	spec := pod_spec(input.review.object)
	some field, label in container_types
	some c in object.get(spec, field, [])
}

allowed_prefixes := object.get(input.parameters, "allowedHostPaths", [])

# under holds when path is prefix or a path below it.
under(path, prefix) if trim_suffix(path, "/") == trim_suffix(prefix, "/")

under(path, prefix) if startswith(path, concat("", [trim_suffix(prefix, "/"), "/"]))

# writable holds when some container mounts the volume without readOnly: true.
writable(volume) if {
	some c in containers
	some mount in object.get(c.container, "volumeMounts", [])
	mount.name == volume
	object.get(mount, "readOnly", false) != true
}

allowed(volume) if {
	some prefix in allowed_prefixes
	under(volume.hostPath.path, prefix)
	not writable(volume.name)
}

violation contains {"msg": msg, "details": {"volume": volume.name, "path": volume.hostPath.path}} if {
	some volume in pod_spec(input.review.object).volumes
	# A null hostPath reads as unset, as the API server reads it.
	volume.hostPath != null
	not allowed(volume)
	msg := sprintf("%s mounts the node's %s as hostPath volume %q, which gives its containers access to the node's file system", [subject, volume.hostPath.path, volume.name])
}
