package isms.library.trivy_critical_vulnerabilities_test

import data.isms.library.trivy_critical_vulnerabilities as policy

# 2026-03-01T00:00:00Z, the evaluation time of these tests.
now := time.parse_rfc3339_ns("2026-03-01T00:00:00Z")

violations(obj, params) := vs if {
	vs := policy.violation with input as {"review": {"object": obj}, "parameters": params}
		with time.now_ns as now
}

vuln(id, severity, published, fixed) := {"vulnerabilityID": id, "severity": severity, "publishedDate": published, "fixedVersion": fixed}

report_of(vulns) := {
	"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport",
	"metadata": {"name": "replicaset-api-7d9f-app", "namespace": "payments", "labels": {
		"trivy-operator.resource.kind": "ReplicaSet", "trivy-operator.resource.name": "api-7d9f",
		"trivy-operator.resource.namespace": "payments", "trivy-operator.container.name": "app",
	}},
	"report": {"updateTimestamp": "2026-02-28T12:00:00Z", "vulnerabilities": vulns},
}

test_old_critical_fails_naming_the_workload if {
	vs := violations(report_of([vuln("CVE-2025-0001", "CRITICAL", "2026-01-01T00:00:00Z", "1.2.3")]), {})
	count(vs) == 1
	some v in vs
	v.msg == "ReplicaSet payments/api-7d9f container app runs 1 CRITICAL vulnerabilit(ies) published more than 30 days ago and not fixed: CVE-2025-0001"
	v.details.vulnerabilities == ["CVE-2025-0001"]
}

test_recent_critical_passes if {
	count(violations(report_of([vuln("CVE-2026-0002", "CRITICAL", "2026-02-15T00:00:00Z", "1.2.3")]), {})) == 0
}

test_old_high_passes_by_default if {
	count(violations(report_of([vuln("CVE-2025-0003", "HIGH", "2025-01-01T00:00:00Z", "1.2.3")]), {})) == 0
}

test_severities_parameter_counts_high if {
	count(violations(report_of([vuln("CVE-2025-0003", "HIGH", "2025-01-01T00:00:00Z", "1.2.3")]), {"severities": ["CRITICAL", "HIGH"]})) == 1
}

test_max_age_days_parameter if {
	r := report_of([vuln("CVE-2026-0002", "CRITICAL", "2026-02-15T00:00:00Z", "1.2.3")])
	count(violations(r, {"maxAgeDays": 7})) == 1
	count(violations(r, {"maxAgeDays": 30})) == 0
}

test_unknown_publication_date_counts if {
	count(violations(report_of([{"vulnerabilityID": "CVE-X", "severity": "CRITICAL"}]), {})) == 1
	count(violations(report_of([vuln("CVE-Y", "CRITICAL", "not a date", "")]), {})) == 1
}

test_ignore_unfixed if {
	r := report_of([vuln("CVE-2025-0004", "CRITICAL", "2025-01-01T00:00:00Z", "")])
	count(violations(r, {})) == 1
	count(violations(r, {"ignoreUnfixed": true})) == 0
}

test_message_lists_at_most_ten if {
	vulns := [vuln(sprintf("CVE-2025-%04d", [i]), "CRITICAL", "2025-01-01T00:00:00Z", "2") | some i in numbers.range(1, 12)]
	some v in violations(report_of(vulns), {})
	count(v.details.vulnerabilities) == 10
	v.details.count == 12
	endswith(v.msg, " and 2 more")
}

test_stale_report_only_when_asked if {
	r := object.union(report_of([]), {"report": {"updateTimestamp": "2026-01-01T00:00:00Z", "vulnerabilities": []}})
	count(violations(r, {})) == 0
	vs := violations(r, {"maxReportAgeDays": 7})
	count(vs) == 1
	some v in vs
	contains(v.msg, "last updated at \"2026-01-01T00:00:00Z\"")
}

test_report_without_owner_labels_names_itself if {
	r := {"kind": "VulnerabilityReport", "metadata": {"name": "r1", "namespace": "ns1"}, "report": {"vulnerabilities": [vuln("CVE-1", "CRITICAL", "2020-01-01T00:00:00Z", "")]}}
	some v in violations(r, {})
	startswith(v.msg, "VulnerabilityReport ns1/r1 runs 1 CRITICAL")
}
