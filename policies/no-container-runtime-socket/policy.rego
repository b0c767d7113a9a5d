package isms.library.no_container_runtime_socket

# ISMS-LIB-037: no pod mounts the container runtime's socket (Docker, containerd, CRI-O) or a
# directory that contains it.

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

default_sockets := [
	"/var/run/docker.sock",
	"/run/docker.sock",
	"/var/run/containerd/containerd.sock",
	"/run/containerd/containerd.sock",
	"/var/run/crio/crio.sock",
	"/run/crio/crio.sock",
	"/var/run/cri-dockerd.sock",
	"/run/k3s/containerd/containerd.sock",
]

sockets := object.get(input.parameters, "socketPaths", default_sockets)

# exposes holds when mounting path gives access to socket: the socket itself or a parent.
exposes(path, socket) if trim_suffix(path, "/") == socket

exposes(path, socket) if startswith(socket, concat("", [trim_suffix(path, "/"), "/"]))

violation contains {"msg": msg, "details": {"volume": volume.name, "path": volume.hostPath.path, "socket": socket}} if {
	some volume in pod_spec(input.review.object).volumes
	some socket in sockets
	exposes(volume.hostPath.path, socket)
	msg := sprintf("%s mounts %s (volume %q), which exposes the container runtime socket %s: whoever can use it controls every container on the node", [subject, volume.hostPath.path, volume.name, socket])
}
