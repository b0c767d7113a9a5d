package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/evidenceclient"
)

type soaOptions struct {
	output  string
	cluster *clusterFlags
}

var soaFormats = []string{"table", "md", "html", "csv", "json"}

func newSoACommand() *cobra.Command {
	o := &soaOptions{cluster: newClusterFlags()}
	cmd := &cobra.Command{
		Use:   "soa [NAME]",
		Short: "Print a Statement of Applicability from its live status",
		Long: `Read a StatementOfApplicability from the cluster and print it as the operator computed it:
for every requirement of its framework, whether it applies and why (or why not), its owner,
its implementation state from the mapped Controls (Implemented, Attested, Partial,
NotImplemented, NotEvaluated, NotApplicable, NotAssessed), the Controls with their results,
open Findings, exceptions in force and the Risks they treat; totals and the approval first.
Without NAME, the cluster's only statement is printed (name it when there are several).`,
		Example: `  kubectl isms soa
  kubectl isms soa platform -o md > soa.md
  kubectl isms soa platform -o html > soa.html
  kubectl isms soa platform -o csv > soa.csv`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !contains(soaFormats, o.output) {
				return usagef("--output must be one of %s; got %q", strings.Join(soaFormats, ", "), o.output)
			}
			c, err := o.cluster.client()
			if err != nil {
				return err
			}
			s, err := readSoA(cmd.Context(), c, args)
			if err != nil {
				return err
			}
			return printSoA(cmd.OutOrStdout(), o.output, soaReportOf(s))
		},
	}
	o.cluster.addFlags(cmd.Flags())
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table, md, html, csv or json")
	return cmd
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// readSoA gets the named statement, or the only one.
func readSoA(ctx context.Context, c client.Client, args []string) (*ismsv1.StatementOfApplicability, error) {
	if len(args) == 1 {
		var s ismsv1.StatementOfApplicability
		if err := c.Get(ctx, types.NamespacedName{Name: args[0]}, &s); err != nil {
			return nil, fmt.Errorf("reading statement of applicability %q: %w", args[0], err)
		}
		return &s, nil
	}
	var list ismsv1.StatementOfApplicabilityList
	if err := c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing statements of applicability: %w", err)
	}
	switch len(list.Items) {
	case 0:
		return nil, fmt.Errorf("the cluster has no StatementOfApplicability (see docs/soa.md)")
	case 1:
		return &list.Items[0], nil
	}
	names := make([]string, len(list.Items))
	for i, s := range list.Items {
		names[i] = s.Name
	}
	return nil, usagef("the cluster has %d statements of applicability (%s): name one", len(names), strings.Join(names, ", "))
}

// SoAReport is a statement as the commands print it (and -o json writes it).
type SoAReport struct {
	Name      string           `json:"name"`
	Framework string           `json:"framework"`
	Scope     string           `json:"scope"`
	Version   string           `json:"version"`
	EditedBy  string           `json:"editedBy,omitempty"`
	Approval  string           `json:"approval"`
	Approved  bool             `json:"approved"`
	Totals    ismsv1.SoATotals `json:"totals"`
	Unknown   []string         `json:"unknownRequirements,omitempty"`
	Stale     bool             `json:"stale,omitempty"`
	Rows      []SoARow         `json:"requirements"`
}

// SoARow is one requirement: the decision from the spec, the state from the status.
type SoARow struct {
	ID            string                    `json:"id"`
	Title         string                    `json:"title"`
	Applicable    string                    `json:"applicable"` // yes, no, or "" when not assessed
	Justification string                    `json:"justification,omitempty"`
	Owner         string                    `json:"owner,omitempty"`
	State         ismsv1.SoAImplementation  `json:"state"`
	Controls      []ismsv1.SoAControlResult `json:"controls,omitempty"`
	ControlCount  int32                     `json:"controlCount"`
	OpenFindings  int32                     `json:"openFindings"`
	Exceptions    []string                  `json:"exceptions,omitempty"`
	Risks         []string                  `json:"risks,omitempty"`
}

// soaReportOf joins a statement's spec (the decisions) with its status (the live states).
func soaReportOf(s *ismsv1.StatementOfApplicability) SoAReport {
	r := SoAReport{Name: s.Name, Framework: s.Spec.Framework, Scope: s.Spec.Scope, Version: s.Spec.Version, EditedBy: s.Spec.EditedBy,
		Totals: s.Status.Totals, Unknown: s.Status.UnknownRequirements, Stale: s.Status.ObservedGeneration != s.Generation,
		Approval: "not computed yet"}
	if c := meta.FindStatusCondition(s.Status.Conditions, ismsv1.SoAConditionApproved); c != nil {
		r.Approval, r.Approved = c.Message, c.Status == "True"
	}
	entries := map[string]ismsv1.SoAEntry{}
	for _, e := range s.Spec.Entries {
		entries[e.Requirement] = e
	}
	for _, st := range s.Status.Requirements {
		row := SoARow{ID: st.ID, Title: st.Title, State: st.State, Controls: st.Controls, ControlCount: st.ControlCount,
			OpenFindings: st.OpenFindings, Exceptions: st.Exceptions, Risks: st.Risks}
		if e, ok := entries[st.ID]; ok {
			row.Applicable, row.Owner, row.Justification = "no", e.Owner, e.ExclusionJustification
			if e.Applicable {
				row.Applicable, row.Justification = "yes", inclusionText(e.Inclusions)
			}
		}
		r.Rows = append(r.Rows, row)
	}
	return r
}

// inclusionText is the inclusion reasons in words: "RiskAssessment (risk-a, risk-b); Regulatory: GDPR".
func inclusionText(inclusions []ismsv1.SoAInclusion) string {
	parts := make([]string, 0, len(inclusions))
	for _, in := range inclusions {
		p := string(in.Reason)
		if len(in.Risks) > 0 {
			p += " (" + strings.Join(in.Risks, ", ") + ")"
		}
		if in.Note != "" {
			p += ": " + in.Note
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

func controlsText(row SoARow) string {
	parts := make([]string, 0, len(row.Controls)+1)
	for _, c := range row.Controls {
		parts = append(parts, fmt.Sprintf("%s (%s)", c.Name, orDash(string(c.Result))))
	}
	if more := int(row.ControlCount) - len(row.Controls); more > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(parts, ", ")
}

func printSoA(w io.Writer, format string, r SoAReport) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "csv":
		return writeSoACSV(w, r)
	case "md":
		return writeSoAMarkdown(w, r)
	case "html":
		return soaHTML.Execute(w, r)
	}
	return writeSoATable(w, r)
}

func soaHeadline(r SoAReport) string {
	t := r.Totals
	return fmt.Sprintf("%d requirements: %d applicable (%d implemented, %d attested, %d partial, %d not implemented, %d not evaluated), %d not applicable, %d not assessed",
		t.Requirements, t.Applicable, t.Implemented, t.Attested, t.Partial, t.NotImplemented, t.NotEvaluated, t.NotApplicable, t.NotAssessed)
}

func writeSoATable(w io.Writer, r SoAReport) error {
	fmt.Fprintf(w, "Statement of Applicability %s, version %s (%s)\n%s\nApproval: %s\n",
		soaText(r.Name), soaText(r.Version), soaText(r.Framework), soaHeadline(r), soaText(r.Approval))
	if r.Stale {
		fmt.Fprintln(w, "The status does not describe the latest spec yet: the operator has not reconciled it.")
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAPPLICABLE\tSTATE\tCONTROLS\tFINDINGS\tOWNER\tTITLE")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", row.ID, orDash(row.Applicable), row.State, row.ControlCount,
			row.OpenFindings, orDash(clean(row.Owner)), row.Title)
	}
	return tw.Flush()
}

var soaColumns = []string{"ID", "Title", "Applicable", "Justification", "Owner", "State", "Controls", "Open findings", "Exceptions", "Risks"}

func (row SoARow) cells() []string {
	return []string{row.ID, row.Title, row.Applicable, row.Justification, row.Owner, string(row.State), controlsText(row),
		fmt.Sprint(row.OpenFindings), strings.Join(row.Exceptions, ", "), strings.Join(row.Risks, ", ")}
}

func writeSoACSV(w io.Writer, r SoAReport) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(soaColumns); err != nil {
		return err
	}
	for _, row := range r.Rows {
		cells := row.cells()
		for i := range cells {
			cells[i] = csvCell(cells[i])
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeSoAMarkdown(w io.Writer, r SoAReport) error {
	fmt.Fprintf(w, "# Statement of Applicability: %s\n\n", mdCell(r.Name))
	fmt.Fprintf(w, "- Framework: %s\n- Version: %s\n- Scope: %s\n- Approval: %s\n- %s\n\n",
		mdCell(r.Framework), mdCell(r.Version), mdCell(r.Scope), mdCell(r.Approval), soaHeadline(r))
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(soaColumns, " | "), strings.Repeat("---|", len(soaColumns)))
	for _, row := range r.Rows {
		cells := row.cells()
		for i := range cells {
			cells[i] = mdCell(cells[i])
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	return nil
}

// csvCell keeps user text from reading as a spreadsheet formula (=, +, -, @ first), and on
// one line.
func csvCell(s string) string {
	s = soaText(s)
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}

// mdCell keeps user text inside its table cell: no pipes, no line breaks, no markup.
func mdCell(s string) string {
	s = strings.NewReplacer("\\", "\\\\", "|", "\\|", "\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;", "`", "\\`", "*", "\\*", "_", "\\_", "[", "\\[").Replace(s)
	return soaText(s)
}

// soaText makes a cluster-supplied string one line without control characters, at most 4 KiB.
func soaText(s string) string { return evidenceclient.Clean(s, 4096) }

// soaHTML is one self-contained page: inline CSS, no scripts or external assets; html/template
// escapes every value.
var soaHTML = template.Must(template.New("soa").Funcs(template.FuncMap{"controls": controlsText, "join": strings.Join, "headline": soaHeadline}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Statement of Applicability: {{.Name}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%;table-layout:fixed;font-size:.85em}
th,td{border:1px solid #bbb;padding:.3em .4em;vertical-align:top;overflow-wrap:anywhere}
th{background:#eee;text-align:left}
.Implemented,.Attested{background:#e6f4e6}.Partial{background:#fff6d6}.NotImplemented{background:#fbe3e3}
.NotEvaluated,.NotAssessed{background:#f0f0f0}
@media print{body{margin:0}tr{break-inside:avoid}}
</style></head><body>
<h1>Statement of Applicability: {{.Name}}</h1>
<p>Framework {{.Framework}}, version {{.Version}}. {{headline .}}</p>
<p>Scope: {{.Scope}}</p>
<p>Approval: {{.Approval}}</p>
<table><thead><tr><th style="width:5em">ID</th><th>Title</th><th style="width:5em">Applicable</th><th>Justification</th><th>Owner</th><th style="width:8em">State</th><th>Controls</th><th style="width:4em">Open findings</th><th>Exceptions</th><th>Risks</th></tr></thead><tbody>
{{range .Rows}}<tr class="{{.State}}"><td>{{.ID}}</td><td>{{.Title}}</td><td>{{.Applicable}}</td><td>{{.Justification}}</td><td>{{.Owner}}</td><td>{{.State}}</td><td>{{controls .}}</td><td>{{.OpenFindings}}</td><td>{{join .Exceptions ", "}}</td><td>{{join .Risks ", "}}</td></tr>
{{end}}</tbody></table>
</body></html>
`))
