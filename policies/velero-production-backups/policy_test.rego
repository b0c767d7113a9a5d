package isms.library.velero_production_backups_test

import data.isms.library.velero_production_backups as policy

now := time.parse_rfc3339_ns("2026-03-01T12:00:00Z")

namespace(name, env) := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"isms.dev/environment": env}}}

schedule(included, excluded) := {"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": {"name": "daily", "namespace": "velero"}, "spec": {"schedule": "0 2 * * *", "template": {"includedNamespaces": included, "excludedNamespaces": excluded}}}

backup(name, phase, start, completion) := {"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": name, "namespace": "velero", "labels": {"velero.io/schedule-name": "daily"}}, "status": {"phase": phase, "startTimestamp": start, "completionTimestamp": completion}}

inventory(schedules, backups) := {"namespace": {"velero": {"velero.io/v1": {
	"Schedule": {s.metadata.name: s | some s in schedules},
	"Backup": {b.metadata.name: b | some b in backups},
}}}}

violations(obj, inv, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
		with data.inventory as inv
		with time.now_ns as now
}

good_backup := backup("daily-20260301020000", "Completed", "2026-03-01T02:00:00Z", "2026-03-01T02:10:00Z")

test_covered_with_recent_backup_passes if {
	count(violations(namespace("payments", "production"), inventory([schedule(["payments"], [])], [good_backup]), {})) == 0
}

test_star_and_empty_include_cover if {
	count(violations(namespace("payments", "production"), inventory([schedule(["*"], [])], [good_backup]), {})) == 0
	count(violations(namespace("payments", "production"), inventory([schedule([], [])], [good_backup]), {})) == 0
	count(violations(namespace("payments", "production"), inventory([schedule(["pay*"], [])], [good_backup]), {})) == 0
}

test_not_production_is_not_checked if {
	count(violations(namespace("sandbox", "dev"), inventory([], []), {})) == 0
}

test_no_schedule_fails if {
	vs := violations(namespace("payments", "production"), inventory([], []), {})
	count(vs) == 1
	some v in vs
	v.msg == "Namespace payments is production but no Velero Schedule in namespace velero backs it up (none includes it, or those that do exclude it or are paused)"
}

test_excluded_or_paused_schedule_does_not_cover if {
	count(violations(namespace("payments", "production"), inventory([schedule(["*"], ["payments"])], [good_backup]), {})) == 1
	paused := object.union(schedule(["*"], []), {"spec": {"paused": true}})
	count(violations(namespace("payments", "production"), inventory([paused], [good_backup]), {})) == 1
	count(violations(namespace("payments", "production"), inventory([schedule(["orders"], [])], [good_backup]), {})) == 1
}

test_latest_backup_failed_fails_even_if_an_older_one_succeeded if {
	older := backup("daily-20260228020000", "Completed", "2026-02-28T02:00:00Z", "2026-02-28T02:10:00Z")
	failed := backup("daily-20260301020000", "PartiallyFailed", "2026-03-01T02:00:00Z", "2026-03-01T02:30:00Z")
	vs := violations(namespace("payments", "production"), inventory([schedule(["payments"], [])], [older, failed]), {})
	count(vs) == 1
	some v in vs
	contains(v.msg, "daily: latest Backup daily-20260301020000 is PartiallyFailed")
}

test_old_backup_fails_and_max_age_parameter if {
	old := backup("daily-20260227020000", "Completed", "2026-02-27T02:00:00Z", "2026-02-27T02:10:00Z")
	inv := inventory([schedule(["payments"], [])], [old])
	vs := violations(namespace("payments", "production"), inv, {})
	count(vs) == 1
	some v in vs
	contains(v.msg, "completed at \"2026-02-27T02:10:00Z\", more than 26 hours ago")
	count(violations(namespace("payments", "production"), inv, {"maxBackupAgeHours": 72})) == 0
}

test_schedule_without_backup_fails if {
	vs := violations(namespace("payments", "production"), inventory([schedule(["payments"], [])], []), {})
	some v in vs
	contains(v.msg, "daily: no Backup yet")
}

test_velero_namespace_parameter if {
	inv := {"namespace": {"backup": {"velero.io/v1": {"Schedule": {"daily": schedule(["*"], [])}, "Backup": {"b": good_backup}}}}}
	count(violations(namespace("payments", "production"), inv, {})) == 1
	count(violations(namespace("payments", "production"), inv, {"veleroNamespace": "backup"})) == 0
}
