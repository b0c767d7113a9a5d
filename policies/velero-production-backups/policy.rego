package isms.library.velero_production_backups

# ISMS-LIB-101: every production Namespace is covered by a Velero Schedule whose latest Backup
# completed within maxBackupAgeHours. Schedules and Backups are read by key from the Velero
# namespace only.

ns := input.review.object.metadata.name

label := object.get(input.parameters, "environmentLabel", "isms.dev/environment")

production_values := object.get(input.parameters, "productionValues", ["production", "prod"])

velero_ns := object.get(input.parameters, "veleroNamespace", "velero")

max_hours := object.get(input.parameters, "maxBackupAgeHours", 26)

production if input.review.object.metadata.labels[label] in production_values

schedules := object.get(data.inventory, ["namespace", velero_ns, "velero.io/v1", "Schedule"], {})

backups := object.get(data.inventory, ["namespace", velero_ns, "velero.io/v1", "Backup"], {})

# matches holds when one of Velero's namespace patterns names ns ("*" and globs included).
matches(patterns) if {
	some p in patterns
	glob.match(p, [], ns)
}

included(template) if count(object.get(template, "includedNamespaces", [])) == 0

included(template) if matches(template.includedNamespaces)

covers(schedule) if {
	not object.get(schedule, ["spec", "paused"], false)
	template := object.get(schedule, ["spec", "template"], {})
	included(template)
	not matches(object.get(template, "excludedNamespaces", []))
}

covering := sort([name | some name, s in schedules; covers(s)])

started(b) := object.get(b, ["status", "startTimestamp"], object.get(b, ["metadata", "creationTimestamp"], ""))

# latest is the name of the schedule's newest Backup (by start time, then name).
latest(schedule) := pairs[count(pairs) - 1][1] if {
	pairs := sort([[started(b), name] |
		some name, b in backups
		object.get(b, ["metadata", "labels", "velero.io/schedule-name"], "") == schedule
	])
	count(pairs) > 0
}

hour_ns := (60 * 60) * 1000000000

recent(ts) if ((time.now_ns() - time.parse_rfc3339_ns(ts)) / hour_ns) <= max_hours

succeeded(schedule) if {
	b := backups[latest(schedule)]
	b.status.phase == "Completed"
	recent(b.status.completionTimestamp)
}

# state says, for a covering Schedule, why its latest Backup is not evidence enough.
state(schedule) := sprintf("%s: no Backup yet", [schedule]) if {
	not latest(schedule)
} else := sprintf("%s: latest Backup %s is %s", [schedule, name, object.get(b, ["status", "phase"], "without a phase")]) if {
	name := latest(schedule)
	b := backups[name]
	object.get(b, ["status", "phase"], "") != "Completed"
} else := sprintf("%s: latest Backup %s completed at %q, more than %d hours ago", [schedule, name, object.get(backups[name], ["status", "completionTimestamp"], ""), max_hours]) if {
	name := latest(schedule)
}

violation contains {"msg": msg, "details": {"veleroNamespace": velero_ns}} if {
	production
	count(covering) == 0
	msg := sprintf("Namespace %s is production but no Velero Schedule in namespace %s backs it up (none includes it, or those that do exclude it or are paused)", [ns, velero_ns])
}

violation contains {"msg": msg, "details": {"schedules": listed, "maxBackupAgeHours": max_hours}} if {
	production
	count(covering) > 0
	not any_succeeded
	listed := array.slice(covering, 0, 5)
	msg := sprintf("Namespace %s is production but no Velero Schedule that covers it has a successful Backup from the last %d hours: %s", [ns, max_hours, concat("; ", [state(s) | some s in listed])])
}

any_succeeded if {
	some s in covering
	succeeded(s)
}
