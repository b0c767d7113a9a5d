package isms.library.velero_backup_retention_test

import data.isms.library.velero_backup_retention as policy

violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
}

schedule(template) := {"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": {"name": "daily", "namespace": "velero"}, "spec": {"schedule": "0 2 * * *", "template": template}}

backup(spec, status) := {
	"apiVersion": "velero.io/v1", "kind": "Backup",
	"metadata": {"name": "daily-20260301020000", "namespace": "velero", "creationTimestamp": "2026-03-01T01:59:59Z", "labels": {"velero.io/schedule-name": "daily"}},
	"spec": spec, "status": status,
}

completed(expiration) := {"phase": "Completed", "startTimestamp": "2026-03-01T02:00:00Z", "completionTimestamp": "2026-03-01T02:10:00Z", "expiration": expiration}

test_schedule_within_maximum_passes if {
	count(violations(schedule({"ttl": "720h0m0s"}), {})) == 0
	count(violations(schedule({"ttl": "9600h"}), {})) == 0
}

test_schedule_above_maximum_fails if {
	vs := violations(schedule({"ttl": "9624h0m0s"}), {})
	count(vs) == 1
	some v in vs
	v.msg == "Schedule velero/daily keeps backups for 9624h0m0s (401 days, spec.template.ttl), more than the maximum of 400 days: the data they hold outlives its retention period"
	v.details == {"field": "spec.template.ttl", "ttl": "9624h0m0s", "maxRetentionDays": 400}
}

test_max_retention_days_parameter if {
	count(violations(schedule({"ttl": "2232h"}), {})) == 0
	count(violations(schedule({"ttl": "2232h"}), {"maxRetentionDays": 90})) == 1
	count(violations(schedule({"ttl": "2160h"}), {"maxRetentionDays": 90})) == 0
}

test_unset_null_and_zero_ttl_pass_by_default if {
	count(violations(schedule({}), {})) == 0
	count(violations(schedule({"ttl": null}), {})) == 0
	count(violations(schedule({"ttl": "0s"}), {})) == 0
	count(violations(object.remove(schedule({}), ["spec"]), {})) == 0
	count(violations(object.union(schedule({}), {"spec": {"template": null}}), {})) == 0
}

test_require_explicit_ttl_parameter if {
	params := {"requireExplicitTTL": true}
	some v in violations(schedule({"ttl": null}), params)
	v.msg == "Schedule velero/daily sets no spec.template.ttl: its backups are kept for the Velero server's --default-backup-ttl (720h unless changed), which the object does not state"
	count(violations(schedule({}), params)) == 1
	count(violations(schedule({"ttl": "0s"}), params)) == 1
	count(violations(schedule({"ttl": "720h"}), params)) == 0
	count(violations(backup({}, {"phase": "New"}), params)) == 1
}

test_ttl_that_is_not_a_duration_fails if {
	some v in violations(schedule({"ttl": "30d"}), {})
	v.msg == "Schedule velero/daily: spec.template.ttl 30d is not a duration (e.g. 720h0m0s), so its retention is unknown"
	count(violations(schedule({"ttl": 720}), {})) == 1
	count(violations(schedule({"ttl": "1.5h"}), {})) == 0
	count(violations(schedule({"ttl": "1h30m0.5s"}), {})) == 0
	count(violations(schedule({"ttl": "720"}), {})) == 1
	count(violations(schedule({"ttl": "h"}), {})) == 1
}

test_unstarted_backup_is_checked_by_its_ttl if {
	some v in violations(backup({"ttl": "10000h"}, {"phase": "New"}), {})
	contains(v.msg, "Backup velero/daily-20260301020000 keeps backups for 10000h (417 days, spec.ttl)")
	count(violations(backup({"ttl": "10000h"}, {}), {})) == 1
	count(violations(backup({"ttl": "10000h"}, null), {})) == 1
	count(violations(backup({}, {"phase": "New"}), {})) == 0
}

test_started_backup_is_checked_by_its_expiration if {
	count(violations(backup({"ttl": "720h0m0s"}, completed("2026-03-31T02:00:00Z")), {})) == 0
	vs := violations(backup({"ttl": "720h0m0s"}, completed("2027-06-01T02:00:00Z")), {})
	count(vs) == 1
	some v in vs
	v.msg == "Backup velero/daily-20260301020000 (made by Schedule daily) expires at 2027-06-01T02:00:00Z, 457 days after it started (2026-03-01T02:00:00Z), more than the maximum of 400 days: the data it holds outlives its retention period"
}

test_started_backup_without_start_uses_creation if {
	status := object.remove(completed("2027-06-01T02:00:00Z"), ["startTimestamp"])
	some v in violations(backup({}, status), {})
	contains(v.msg, "after it started (2026-03-01T01:59:59Z)")
}

test_started_backup_without_expiration_fails if {
	some v in violations(backup({"ttl": "720h"}, completed(null)), {})
	v.msg == "Backup velero/daily-20260301020000 (made by Schedule daily) is Completed but has no status.expiration, so Velero's garbage collection never deletes it"
	manual := json.remove(backup({}, {"phase": "Failed"}), ["metadata/labels"])
	some w in violations(manual, {})
	w.msg == "Backup velero/daily-20260301020000 is Failed but has no status.expiration, so Velero's garbage collection never deletes it"
}

test_deleting_backup_is_not_checked if {
	count(violations(backup({}, {"phase": "Deleting", "expiration": "2030-01-01T00:00:00Z", "startTimestamp": "2026-03-01T02:00:00Z"}), {})) == 0
}
