package isms.library.velero_backup_retention

# ISMS-LIB-106: Velero Schedules and Backups keep backups for at most maxRetentionDays. A
# Schedule by its spec.template.ttl; a Backup by its status.expiration (what Velero's garbage
# collection acts on) once Velero has started it, by its spec.ttl before.

obj := input.review.object

subject := sprintf("%s %s/%s", [obj.kind, obj.metadata.namespace, obj.metadata.name])

max_days := object.get(input.parameters, "maxRetentionDays", 400)

require_explicit if input.parameters.requireExplicitTTL == true

day_ns := ((24 * 60) * 60) * 1000000000

# value_at is the value at path in obj, or fallback when it is missing or null: the API
# server reads a null field as unset.
value_at(x, path, fallback) := v if {
	v := object.get(x, path, null)
	v != null
} else := fallback

phase := value_at(obj, ["status", "phase"], "")

# Phases of a Backup that Velero has not started: it has no expiration yet.
unstarted_phases := {"", "New", "Queued", "ReadyToStart"}

# ttl_checked holds for the objects whose TTL field is their retention: Schedules, and Backups
# that Velero has not started. ttl_field names that field in messages.
ttl_checked if obj.kind == "Schedule"

ttl_checked if {
	obj.kind == "Backup"
	phase in unstarted_phases
}

ttl_field := "spec.template.ttl" if obj.kind == "Schedule"
else := "spec.ttl"

ttl := value_at(obj, ["spec", "template", "ttl"], "") if obj.kind == "Schedule"
else := value_at(obj, ["spec", "ttl"], "")

# ttl_ns is the TTL in nanoseconds when it is a Go duration, as Velero parses it
# (metav1.Duration): OPA's own parser also accepts units such as "d" that Velero refuses.
ttl_ns := time.parse_duration_ns(ttl) if {
	is_string(ttl)
	regex.match(`^[-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`, ttl)
}

# A zero TTL is unset for Velero: it applies the server's default.
ttl_unset if ttl == ""

ttl_unset if ttl_ns == 0

# days is a duration in whole days, rounded up, for messages.
days(ns) := ceil(ns / day_ns)

violation contains {"msg": msg, "details": {"field": ttl_field, "ttl": ttl, "maxRetentionDays": max_days}} if {
	ttl_checked
	ttl_ns > max_days * day_ns
	msg := sprintf("%s keeps backups for %s (%d days, %s), more than the maximum of %d days: the data they hold outlives its retention period", [subject, ttl, days(ttl_ns), ttl_field, max_days])
}

violation contains {"msg": msg, "details": {"field": ttl_field, "ttl": ttl}} if {
	ttl_checked
	ttl != ""
	not ttl_ns
	msg := sprintf("%s: %s %v is not a duration (e.g. 720h0m0s), so its retention is unknown", [subject, ttl_field, ttl])
}

violation contains {"msg": msg, "details": {"field": ttl_field}} if {
	ttl_checked
	require_explicit
	ttl_unset
	msg := sprintf("%s sets no %s: its backups are kept for the Velero server's --default-backup-ttl (720h unless changed), which the object does not state", [subject, ttl_field])
}

# A started Backup is deleted at status.expiration; its retention runs from its start.
expiration := value_at(obj, ["status", "expiration"], "")

started := value_at(obj, ["status", "startTimestamp"], value_at(obj, ["metadata", "creationTimestamp"], ""))

started_backup if {
	obj.kind == "Backup"
	not phase in unstarted_phases
	phase != "Deleting"
}

violation contains {"msg": msg, "details": {"expiration": expiration, "started": started, "maxRetentionDays": max_days}} if {
	started_backup
	retention_ns := time.parse_rfc3339_ns(expiration) - time.parse_rfc3339_ns(started)
	retention_ns > max_days * day_ns
	msg := sprintf("%s%s expires at %s, %d days after it started (%s), more than the maximum of %d days: the data it holds outlives its retention period", [subject, made_by, expiration, days(retention_ns), started, max_days])
}

violation contains {"msg": msg, "details": {"phase": phase}} if {
	started_backup
	expiration == ""
	msg := sprintf("%s%s is %s but has no status.expiration, so Velero's garbage collection never deletes it", [subject, made_by, phase])
}

# made_by names the Schedule that created a Backup, for messages.
made_by := sprintf(" (made by Schedule %s)", [name]) if {
	name := obj.metadata.labels["velero.io/schedule-name"]
	is_string(name)
	name != ""
} else := ""
