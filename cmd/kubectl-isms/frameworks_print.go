package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/isms-operator/isms-operator/internal/frameworks"
)

func printFrameworkList(w io.Writer, list FrameworkList) {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREQUIREMENTS\tGROUPS\tSCOPE\tTITLE")
	for _, f := range list.Items {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", f.Name, f.Requirements, f.Groups, scope(f.Complete), f.Title)
	}
	_ = tw.Flush()
}

func scope(complete bool) string {
	if complete {
		return "complete"
	}
	return "library subset"
}

// printCatalog lists a catalog's requirements: id, group and title.
func printCatalog(w io.Writer, c *frameworks.Catalog) {
	fmt.Fprintf(w, "%s: %s, %d requirements\n", c.Name, c.Title, len(c.Requirements))
	if !c.Complete() {
		fmt.Fprintln(w, "The catalog lists only the requirements the policy library maps to in some groups.")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintf(tw, "ID\t%s\tTITLE\n", strings.ToUpper(c.GroupKind))
	for _, r := range c.Requirements {
		g, _ := c.Group(r.Group)
		fmt.Fprintf(tw, "%s\t%s %s\t%s\n", r.ID, g.ID, g.Title, r.Title)
	}
	_ = tw.Flush()
}

// printCoverage writes one framework's coverage: counts per group and in total, then the
// uncovered ids per group and the mapped ids the catalog lacks.
func printCoverage(w io.Writer, r FrameworkCoverageReport, cov frameworks.Coverage) {
	fmt.Fprintf(w, "%s: %s, by %d Control(s) read from the %s\n", cov.Framework, cov.Title, r.Controls, r.Source)
	if !cov.Complete {
		fmt.Fprintln(w, "The catalog lists only the requirements the policy library maps to in some groups: the counts are of those.")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintf(tw, "%s\tREQUIREMENTS\tAUTOMATED\tATTESTED\tUNCOVERED\n", strings.ToUpper(cov.GroupKind))
	for _, g := range cov.Groups {
		fmt.Fprintf(tw, "%s %s\t%d\t%d\t%d\t%d\n", g.ID, g.Title, g.Requirements, g.Automated, g.Attested, g.Uncovered)
	}
	t := cov.Totals
	fmt.Fprintf(tw, "Total\t%d\t%d\t%d\t%d\n", t.Requirements, t.Automated, t.Attested, t.Uncovered)
	_ = tw.Flush()

	if t.Uncovered > 0 {
		fmt.Fprintln(w, "\nUncovered:")
		for _, g := range cov.Groups {
			if len(g.UncoveredIDs) > 0 {
				fmt.Fprint(w, wrapList(fmt.Sprintf("  %s %s: ", g.ID, g.Title), g.UncoveredIDs, 100))
			}
		}
	}
	if len(cov.Unknown) > 0 {
		fmt.Fprintln(w, "\nMapped, but not in the catalog (not counted; see the Controls' FrameworksKnown condition):")
		for _, u := range cov.Unknown {
			fmt.Fprint(w, wrapList(fmt.Sprintf("  %q by ", u.Requirement), u.Sources, 100))
		}
	}
}

// printCoverageSummary writes one row per framework.
func printCoverageSummary(w io.Writer, r FrameworkCoverageReport) {
	fmt.Fprintf(w, "Coverage by %d Control(s) read from the %s:\n\n", r.Controls, r.Source)
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "FRAMEWORK\tREQUIREMENTS\tAUTOMATED\tATTESTED\tUNCOVERED\tUNKNOWN\tSCOPE")
	for _, c := range r.Frameworks {
		t := c.Totals
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%s\n", c.Framework, t.Requirements, t.Automated, t.Attested, t.Uncovered, len(c.Unknown), scope(c.Complete))
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nUNKNOWN: ids mapped that the catalog lacks (typos?). Per theme or family, with the ids: %s frameworks NAME --coverage\n", programName)
}

// wrapList writes prefix and the items, comma-separated, in lines of about width
// characters, the continuation lines indented under the first item.
func wrapList(prefix string, items []string, width int) string {
	var b strings.Builder
	b.WriteString(prefix)
	col := len(prefix)
	indent := strings.Repeat(" ", len(prefix))
	for i, it := range items {
		if i > 0 {
			b.WriteString(",")
			col++
			if col+1+len(it) > width {
				b.WriteString("\n" + indent)
				col = len(indent)
			} else {
				b.WriteString(" ")
				col++
			}
		}
		b.WriteString(it)
		col += len(it)
	}
	b.WriteString("\n")
	return b.String()
}
