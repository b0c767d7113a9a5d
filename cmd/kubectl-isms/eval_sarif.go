package main

import (
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/offline"
	"github.com/isms-operator/isms-operator/internal/policy"
	"github.com/isms-operator/isms-operator/internal/version"
)

// projectURL is the SARIF driver's informationUri.
const projectURL = "https://github.com/isms-operator/isms-operator"

// maxResultMessage bounds the text of one SARIF result or JUnit failure: the policy's
// messages are each bounded, but a subject may have many.
const maxResultMessage = 4096

// originFunc tells where a failing subject was read from; false when the inputs do not say.
type originFunc func(offline.FailingSubject) (location, bool)

// writeSARIF writes the report as a SARIF 2.1.0 log for code-scanning UIs: one rule per
// control id (spec.id), one result per failing subject, at the file and line of its
// manifest. A control that cannot be evaluated is a tool execution notification, not a
// result: no subject was found failing. Subjects excepted by a ControlException do not fail
// and are not results. Nothing in it depends on the time or the machine: the same inputs give
// the same bytes.
func writeSARIF(w io.Writer, r EvalReport, origin originFunc) error {
	log, err := sarif.New(sarif.Version210)
	if err != nil {
		return err
	}
	run := sarif.NewRunWithInformationURI("kubectl-isms", projectURL)
	run.Tool.Driver.WithVersion(version.Version())
	invocation := run.AddInvocation(true)
	for _, c := range r.Controls {
		addSARIFRule(run, c)
		if c.Result == ismsv1.ResultError {
			invocation.AddTToolExecutionNotification(sarif.NewNotification().WithLevel("error").
				WithTextMessage(policy.Truncate(fmt.Sprintf("Control %s (%s) cannot be evaluated (%s): %s", c.Name, c.ID, c.Reason, c.Message), maxResultMessage)).
				WithAssociatedRule(sarif.NewReportingDescriptorReference().WithId(c.ID)))
		}
		for _, s := range c.FailingSubjects() {
			run.AddResult(sarifResult(c, s, origin))
		}
	}
	log.AddRun(run)
	return log.PrettyWrite(w)
}

// addSARIFRule describes the control as a rule; Controls that share an id share the rule.
func addSARIFRule(run *sarif.Run, c offline.ControlResult) {
	rule := run.AddRule(c.ID)
	if rule.ShortDescription != nil {
		return
	}
	title := c.Title
	if title == "" {
		title = c.Name
	}
	rule.WithName(c.Name).WithDescription(title).
		WithDefaultConfiguration(&sarif.ReportingConfiguration{Level: sarifLevel(c.Severity)})
	rule.WithProperties(sarif.Properties{
		"severity": string(c.Severity),
		// GitHub code scanning ranks alerts by this score (0.0 to 10.0).
		"security-severity": securitySeverity(c.Severity),
	})
}

// sarifResult is one failing subject of c.
func sarifResult(c offline.ControlResult, s offline.FailingSubject, origin originFunc) *sarif.Result {
	subject := s.Kind + " " + qualified(s.Namespace, s.Name)
	text := fmt.Sprintf("%s fails %s: %s", subject, c.Name, strings.Join(s.Messages, "; "))
	result := sarif.NewRuleResult(c.ID).WithLevel(sarifLevel(c.Severity)).
		WithMessage(sarif.NewTextMessage(policy.Truncate(text, maxResultMessage)))
	logical := sarif.NewLogicalLocation().WithKind("resource").WithName(qualified(s.Namespace, s.Name)).
		WithFullyQualifiedName(strings.Join([]string{s.APIVersion, s.Kind, qualified(s.Namespace, s.Name)}, "/"))
	loc := sarif.NewLocation().WithLogicalLocations([]*sarif.LogicalLocation{logical})
	props := sarif.Properties{"control": c.Name}
	if where, ok := origin(s); ok {
		loc.WithPhysicalLocation(sarifPhysicalLocation(where))
		props["document"] = where.Document
		if where.Item > 0 {
			props["item"] = where.Item - 1
		}
	}
	result.AddLocation(loc)
	result.Properties = props
	return result
}

// sarifPhysicalLocation points at the file (a relative URI when the path given on the command
// line is relative, a file: URI when absolute; "-" for standard input) and the line the
// document starts on, when known.
func sarifPhysicalLocation(where location) *sarif.PhysicalLocation {
	uri := &url.URL{Path: filepath.ToSlash(where.File)}
	if filepath.IsAbs(where.File) {
		uri.Scheme = "file"
	}
	artifact := sarif.NewSimpleArtifactLocation(uri.String())
	if where.File == stdinName {
		artifact = sarif.NewSimpleArtifactLocation("-").WithDescriptionText("standard input")
	}
	pl := sarif.NewPhysicalLocation().WithArtifactLocation(artifact)
	if where.Line > 0 {
		pl.WithRegion(sarif.NewRegion().WithStartLine(where.Line))
	}
	return pl
}

// sarifLevel maps a control's severity to a SARIF level: what a reviewer must fix (error),
// should fix (warning) or may note.
func sarifLevel(s ismsv1.Severity) string {
	switch s {
	case ismsv1.SeverityCritical, ismsv1.SeverityHigh:
		return "error"
	case ismsv1.SeverityMedium:
		return "warning"
	default:
		return "note"
	}
}

// securitySeverity is GitHub's score for a severity: above 9.0 is critical, 7.0 to 8.9 high,
// 4.0 to 6.9 medium, below low.
func securitySeverity(s ismsv1.Severity) string {
	switch s {
	case ismsv1.SeverityCritical:
		return "9.5"
	case ismsv1.SeverityHigh:
		return "8.0"
	case ismsv1.SeverityMedium:
		return "5.5"
	case ismsv1.SeverityLow:
		return "3.0"
	default:
		return "0.0"
	}
}
