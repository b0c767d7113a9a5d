package isms.library.restrict_sysctls

# ISMS-LIB-036: pods set only safe sysctls (parameter allowedSysctls, by default the safe set
# of the Pod Security Standards).

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
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
	"net.ipv4.tcp_slow_start_after_idle",
	"net.ipv4.tcp_notsent_lowat",
]

allowed_patterns := object.get(input.parameters, "allowedSysctls", default_allowed)

# allowed holds when an entry of allowedSysctls names the sysctl: the same name, or, for an
# entry that ends in "*", any name that starts with the rest (e.g. "net.ipv4.tcp_*").
allowed(name) if {
	some pattern in allowed_patterns
	prefix_glob_match(pattern, name)
}

prefix_glob_match(pattern, value) if pattern == value

prefix_glob_match(pattern, value) if {
	endswith(pattern, "*")
	startswith(value, trim_suffix(pattern, "*"))
}

violation contains {"msg": msg, "details": {"sysctl": sysctl.name}} if {
	some sysctl in pod_spec(input.review.object).securityContext.sysctls
	not allowed(sysctl.name)
	msg := sprintf("%s sets the sysctl %s, which is not in the safe set and may affect other pods or the node", [subject, sysctl.name])
}
