package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/offline"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// The JUnit XML that CI systems read (Jenkins, GitLab, GitHub test reporters): the common
// schema of testsuites, testsuite, testcase and failure, error and skipped.
type junitTestsuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Skipped  int              `xml:"skipped,attr"`
	Suites   []junitTestsuite `xml:"testsuite"`
}

type junitTestsuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitTestcase `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitTestcase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitProblem `xml:"skipped,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// writeJUnit writes the report as JUnit XML: a test suite per Control, whose test cases are
// its failing subjects (a failure each, at the file and line of the manifest), the subjects
// a ControlException excepts (skipped), and, when no subject fails, the control itself:
// passed, skipped (NotApplicable, Pending) or in error. Every failing control is a failure,
// whatever --fail-on says; the exit code follows --fail-on. No timestamps or durations: the
// same inputs give the same bytes.
func writeJUnit(w io.Writer, r EvalReport, origin originFunc) error {
	out := junitTestsuites{Name: "kubectl isms eval", Suites: make([]junitTestsuite, 0, len(r.Controls))}
	for _, c := range r.Controls {
		suite := junitSuite(c, origin)
		out.Suites = append(out.Suites, suite)
		out.Tests += suite.Tests
		out.Failures += suite.Failures
		out.Errors += suite.Errors
		out.Skipped += suite.Skipped
	}
	b, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s%s\n", xml.Header, b)
	return err
}

// junitSuite is the test suite of one control.
func junitSuite(c offline.ControlResult, origin originFunc) junitTestsuite {
	suite := junitTestsuite{Name: c.Name, Properties: []junitProperty{
		{Name: "id", Value: c.ID}, {Name: "severity", Value: string(c.Severity)}, {Name: "result", Value: string(c.Result)},
		{Name: "evaluated", Value: fmt.Sprint(c.Evaluated)},
	}}
	for _, ns := range c.Namespaces {
		for _, s := range ns.Subjects {
			tc := junitSubjectCase(c, s, origin)
			tc.Failure = &junitProblem{Message: policy.Truncate(strings.Join(s.Messages, "; "), maxResultMessage),
				Type: string(c.Severity), Text: junitFailureText(c, s, tc)}
			suite.Cases = append(suite.Cases, tc)
			suite.Failures++
		}
		for _, s := range ns.Excepted {
			tc := junitSubjectCase(c, s.FailingSubject, origin)
			tc.Skipped = &junitProblem{Message: "excepted by ControlException " + s.Exception}
			suite.Cases = append(suite.Cases, tc)
			suite.Skipped++
		}
	}
	if suite.Failures == 0 {
		suite.Cases = append(suite.Cases, junitControlCase(c, &suite))
	}
	suite.Tests = len(suite.Cases)
	return suite
}

// junitSubjectCase is the test case of one subject of c, named after it, classed by the
// control's id.
func junitSubjectCase(c offline.ControlResult, s offline.FailingSubject, origin originFunc) junitTestcase {
	tc := junitTestcase{Name: s.Kind + " " + qualified(s.Namespace, s.Name), Classname: c.ID}
	if where, ok := origin(s); ok {
		tc.File, tc.Line = where.File, where.Line
	}
	return tc
}

// junitFailureText is the body of a failure: where the manifest is, and every message.
func junitFailureText(c offline.ControlResult, s offline.FailingSubject, tc junitTestcase) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s fails %s (%s, %s)", s.APIVersion, tc.Name, c.Name, c.ID, c.Severity)
	if tc.File != "" {
		fmt.Fprintf(&b, " in %s", tc.File)
		if tc.Line > 0 {
			fmt.Fprintf(&b, ":%d", tc.Line)
		}
	}
	b.WriteString(":")
	for _, m := range s.Messages {
		b.WriteString("\n- " + m)
	}
	return policy.Truncate(b.String(), maxResultMessage)
}

// junitControlCase is the test case of a control no subject fails, counted in suite.
func junitControlCase(c offline.ControlResult, suite *junitTestsuite) junitTestcase {
	tc := junitTestcase{Name: c.Name, Classname: c.ID}
	switch c.Result {
	case ismsv1.ResultError:
		tc.Error = &junitProblem{Message: policy.Truncate(c.Message, maxResultMessage), Type: c.Reason}
		suite.Errors++
	case ismsv1.ResultNotApplicable, ismsv1.ResultPending:
		tc.Skipped = &junitProblem{Message: policy.Truncate(fmt.Sprintf("%s (%s): %s", c.Result, c.Reason, c.Message), maxResultMessage)}
		suite.Skipped++
	}
	return tc
}
