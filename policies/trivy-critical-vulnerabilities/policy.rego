package isms.library.trivy_critical_vulnerabilities

# ISMS-LIB-100: no workload runs a vulnerability of the listed severities (default CRITICAL)
# published more than maxAgeDays ago, as Trivy operator's VulnerabilityReports show.

report := input.review.object

labels := object.get(report, ["metadata", "labels"], {})

# workload names the scanned workload from the owner labels Trivy operator writes, e.g.
# ReplicaSet payments/api-7d9f; without them, the report itself.
workload := sprintf("%s %s/%s", [kind, ns, name]) if {
	kind := labels["trivy-operator.resource.kind"]
	name := labels["trivy-operator.resource.name"]
	ns := object.get(labels, "trivy-operator.resource.namespace", report.metadata.namespace)
} else := sprintf("VulnerabilityReport %s/%s", [report.metadata.namespace, report.metadata.name])

container := sprintf(" container %s", [labels["trivy-operator.container.name"]]) if {
	labels["trivy-operator.container.name"]
} else := ""

max_age_days := object.get(input.parameters, "maxAgeDays", 30)

severities := {upper(s) | some s in object.get(input.parameters, "severities", ["CRITICAL"])}

ignore_unfixed := object.get(input.parameters, "ignoreUnfixed", false)

max_report_age_days := object.get(input.parameters, "maxReportAgeDays", 0)

day_ns := ((24 * 60) * 60) * 1000000000

# age_days is undefined for a timestamp that is not RFC 3339.
age_days(ts) := (time.now_ns() - time.parse_rfc3339_ns(ts)) / day_ns

counts(v) if not ignore_unfixed

counts(v) if object.get(v, "fixedVersion", "") != ""

published_recently(v) if age_days(v.publishedDate) <= max_age_days

# overdue holds the IDs of the counted vulnerabilities published more than maxAgeDays ago, or
# whose publication date is missing or unreadable.
overdue contains object.get(v, "vulnerabilityID", "(no ID)") if {
	some v in object.get(report, ["report", "vulnerabilities"], [])
	upper(object.get(v, "severity", "")) in severities
	counts(v)
	not published_recently(v)
}

max_listed := 10

listed := array.slice(sort(overdue), 0, max_listed)

more := sprintf(" and %d more", [count(overdue) - max_listed]) if count(overdue) > max_listed else := ""

violation contains {"msg": msg, "details": {"vulnerabilities": listed, "count": count(overdue), "maxAgeDays": max_age_days}} if {
	count(overdue) > 0
	msg := sprintf("%s%s runs %d %s vulnerabilit(ies) published more than %d days ago and not fixed: %s%s", [workload, container, count(overdue), concat("/", sort(severities)), max_age_days, concat(", ", listed), more])
}

report_current(ts) if age_days(ts) <= max_report_age_days

violation contains {"msg": msg, "details": {"updateTimestamp": ts, "maxReportAgeDays": max_report_age_days}} if {
	max_report_age_days > 0
	ts := object.get(report, ["report", "updateTimestamp"], "")
	not report_current(ts)
	msg := sprintf("%s%s: its VulnerabilityReport was last updated at %q, more than %d days ago, so it is no evidence of the running image", [workload, container, ts, max_report_age_days])
}
