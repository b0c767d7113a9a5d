package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/offline"
	"github.com/isms-operator/isms-operator/internal/policy"
)

// StatusReport is the output of `status -o json|yaml`: every item, not only the first rows.
type StatusReport struct {
	Controls ControlsStatus `json:"controls"`
	Findings FindingsStatus `json:"findings"`
	Risks    RisksStatus    `json:"risks"`
}

// ControlsStatus counts the Controls by result and lists those that need attention (Fail,
// Error, Pending), worst first.
type ControlsStatus struct {
	Total     int                          `json:"total"`
	ByResult  map[ismsv1.ControlResult]int `json:"byResult"`
	Attention []ControlRow                 `json:"attention"`
}

// ControlRow is one Control that needs attention.
type ControlRow struct {
	Name         string               `json:"name"`
	ID           string               `json:"id"`
	Severity     ismsv1.Severity      `json:"severity"`
	Result       ismsv1.ControlResult `json:"result"`
	Failing      int32                `json:"failing"`
	OpenFindings int32                `json:"openFindings"`
	LastSweep    *metav1.Time         `json:"lastSweep,omitempty"`
}

// FindingsStatus counts the open Findings by severity and lists them, worst first.
type FindingsStatus struct {
	Open       int                     `json:"open"`
	BySeverity map[ismsv1.Severity]int `json:"bySeverity"`
	Items      []FindingRow            `json:"items"`
}

// FindingRow is one open Finding.
type FindingRow struct {
	Namespace string          `json:"namespace"`
	Name      string          `json:"name"`
	ControlID string          `json:"controlID"`
	Severity  ismsv1.Severity `json:"severity"`
	Subjects  int32           `json:"subjects"`
	FirstSeen *metav1.Time    `json:"firstSeen,omitempty"`
}

// RisksStatus lists the Risks out of appetite (condition WithinAppetite False), worst first.
// Installed is false when the cluster serves no Risk kind.
type RisksStatus struct {
	Installed     bool      `json:"installed"`
	Total         int       `json:"total"`
	OutOfAppetite int       `json:"outOfAppetite"`
	Items         []RiskRow `json:"items"`
}

// RiskRow is one Risk out of appetite.
type RiskRow struct {
	Name          string           `json:"name"`
	Title         string           `json:"title"`
	Owner         string           `json:"owner"`
	ResidualScore int32            `json:"residualScore"`
	ResidualLevel ismsv1.RiskLevel `json:"residualLevel"`
	Appetite      int32            `json:"appetite"`
	Reason        string           `json:"reason"`
}

type statusOptions struct {
	cluster *clusterFlags
	output  string
	limit   int
}

func newStatusCommand() *cobra.Command {
	o := &statusOptions{cluster: newClusterFlags()}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Summarize a cluster's controls, open findings and risks out of appetite",
		Long: `Read the Controls, Findings and Risks of the cluster of the current kubeconfig context and
print them on one screen: the controls by result with those failing, in error or pending,
the open findings by severity, and the risks out of appetite (condition WithinAppetite
False), the worst items first. A cluster without the Risk CRD has no risks.

The cluster is reached as kubectl reaches it: --kubeconfig (else $KUBECONFIG, else
~/.kube/config), --context, --as and kubectl's other flags of cluster access.`,
		Example: `  kubectl isms status
  kubectl isms status --context prod --limit 20
  kubectl isms status -o json`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	o.cluster.addFlags(f)
	f.StringVarP(&o.output, "output", "o", "text", "Output format: text, json or yaml.")
	f.IntVar(&o.limit, "limit", 10, "Rows shown per section in text output (0: all).")
	return cmd
}

func (o *statusOptions) run(cmd *cobra.Command) error {
	if o.output != "text" && o.output != "json" && o.output != "yaml" {
		return usagef("--output must be text, json or yaml; got %q", o.output)
	}
	if o.limit < 0 {
		return usagef("--limit must not be negative")
	}
	cfg, err := o.cluster.restConfig()
	if err != nil {
		return err
	}
	report, err := readStatus(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	switch o.output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	case "yaml":
		js, err := json.Marshal(report)
		if err != nil {
			return err
		}
		y, err := yaml.JSONToYAML(js)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	}
	printStatus(w, report, o.limit, time.Now())
	return nil
}

// readStatus reads the Controls, Findings and Risks of the cluster.
func readStatus(ctx context.Context, cfg *rest.Config) (*StatusReport, error) {
	scheme := runtime.NewScheme()
	if err := ismsv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("connecting to the cluster: %w", err)
	}
	var controls ismsv1.ControlList
	if err := c.List(ctx, &controls); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("the cluster does not serve %s Controls: is the isms-operator installed? (%w)", ismsv1.GroupVersion, err)
		}
		return nil, fmt.Errorf("listing Controls: %w", err)
	}
	var findings ismsv1.FindingList
	if err := c.List(ctx, &findings); err != nil {
		return nil, fmt.Errorf("listing Findings: %w", err)
	}
	report := &StatusReport{}
	report.Controls = controlsStatus(controls.Items)
	report.Findings = findingsStatus(findings.Items)

	var risks ismsv1.RiskList
	switch err := c.List(ctx, &risks); {
	case err == nil:
		report.Risks = risksStatus(risks.Items)
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		report.Risks = RisksStatus{Items: []RiskRow{}} // no Risk CRD: no risks
	default:
		return nil, fmt.Errorf("listing Risks: %w", err)
	}
	return report, nil
}

var resultRank = map[ismsv1.ControlResult]int{
	ismsv1.ResultFail: 4, ismsv1.ResultError: 3, ismsv1.ResultPending: 2, "": 2,
}

func controlsStatus(items []ismsv1.Control) ControlsStatus {
	s := ControlsStatus{
		Total: len(items),
		ByResult: map[ismsv1.ControlResult]int{ismsv1.ResultFail: 0, ismsv1.ResultError: 0, ismsv1.ResultPending: 0,
			ismsv1.ResultPass: 0, ismsv1.ResultNotApplicable: 0},
		Attention: []ControlRow{},
	}
	for _, c := range items {
		result := c.Status.Result
		if result == "" {
			result = ismsv1.ResultPending // not reconciled yet
		}
		s.ByResult[result]++
		if resultRank[result] == 0 {
			continue
		}
		s.Attention = append(s.Attention, ControlRow{
			Name: c.Name, ID: c.Spec.ID, Severity: c.Spec.Severity, Result: result,
			Failing: c.Status.FailingSubjects, OpenFindings: c.Status.OpenFindings, LastSweep: c.Status.LastSweep,
		})
	}
	sort.SliceStable(s.Attention, func(i, j int) bool {
		a, b := s.Attention[i], s.Attention[j]
		if resultRank[a.Result] != resultRank[b.Result] {
			return resultRank[a.Result] > resultRank[b.Result]
		}
		if ra, rb := offline.SeverityRank(a.Severity), offline.SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.Failing != b.Failing {
			return a.Failing > b.Failing
		}
		return a.Name < b.Name
	})
	return s
}

func findingsStatus(items []ismsv1.Finding) FindingsStatus {
	s := FindingsStatus{
		BySeverity: map[ismsv1.Severity]int{ismsv1.SeverityCritical: 0, ismsv1.SeverityHigh: 0, ismsv1.SeverityMedium: 0,
			ismsv1.SeverityLow: 0, ismsv1.SeverityInfo: 0},
		Items: []FindingRow{},
	}
	for _, f := range items {
		if f.Status.State != ismsv1.FindingOpen {
			continue
		}
		s.Open++
		s.BySeverity[f.Spec.Severity]++
		s.Items = append(s.Items, FindingRow{
			Namespace: f.Namespace, Name: f.Name, ControlID: f.Spec.ControlID, Severity: f.Spec.Severity,
			Subjects: f.Status.SubjectCount, FirstSeen: f.Status.FirstSeen,
		})
	}
	sort.SliceStable(s.Items, func(i, j int) bool {
		a, b := s.Items[i], s.Items[j]
		if ra, rb := offline.SeverityRank(a.Severity), offline.SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.Subjects != b.Subjects {
			return a.Subjects > b.Subjects
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return s
}

func risksStatus(items []ismsv1.Risk) RisksStatus {
	s := RisksStatus{Installed: true, Total: len(items), Items: []RiskRow{}}
	for _, r := range items {
		cond := meta.FindStatusCondition(r.Status.Conditions, ismsv1.ConditionWithinAppetite)
		if cond == nil || cond.Status != metav1.ConditionFalse {
			continue
		}
		s.OutOfAppetite++
		s.Items = append(s.Items, RiskRow{
			Name: r.Name, Title: r.Spec.Title, Owner: r.Spec.Owner, ResidualScore: r.Status.ResidualScore,
			ResidualLevel: r.Status.ResidualLevel, Appetite: r.Spec.Appetite, Reason: cond.Reason,
		})
	}
	sort.SliceStable(s.Items, func(i, j int) bool {
		a, b := s.Items[i], s.Items[j]
		if da, db := a.ResidualScore-a.Appetite, b.ResidualScore-b.Appetite; da != db {
			return da > db
		}
		if a.ResidualScore != b.ResidualScore {
			return a.ResidualScore > b.ResidualScore
		}
		return a.Name < b.Name
	})
	return s
}

// printStatus writes the one-screen summary.
func printStatus(w io.Writer, r *StatusReport, limit int, now time.Time) {
	c := r.Controls
	fmt.Fprintf(w, "Controls: %d   Fail %d   Error %d   Pending %d   Pass %d   NotApplicable %d\n", c.Total,
		c.ByResult[ismsv1.ResultFail], c.ByResult[ismsv1.ResultError], c.ByResult[ismsv1.ResultPending],
		c.ByResult[ismsv1.ResultPass], c.ByResult[ismsv1.ResultNotApplicable])
	if len(c.Attention) > 0 {
		tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "  CONTROL\tID\tSEVERITY\tRESULT\tFAILING\tFINDINGS\tLAST SWEEP")
		for _, row := range head(c.Attention, limit) {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%s\n", row.Name, row.ID, row.Severity, row.Result, row.Failing, row.OpenFindings, age(row.LastSweep, now))
		}
		_ = tw.Flush()
		more(w, len(c.Attention), limit)
	}

	f := r.Findings
	fmt.Fprintf(w, "\nOpen findings: %d   critical %d   high %d   medium %d   low %d   info %d\n", f.Open,
		f.BySeverity[ismsv1.SeverityCritical], f.BySeverity[ismsv1.SeverityHigh], f.BySeverity[ismsv1.SeverityMedium],
		f.BySeverity[ismsv1.SeverityLow], f.BySeverity[ismsv1.SeverityInfo])
	if len(f.Items) > 0 {
		tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "  NAMESPACE\tFINDING\tCONTROL\tSEVERITY\tSUBJECTS\tOPEN FOR")
		for _, row := range head(f.Items, limit) {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\n", row.Namespace, row.Name, row.ControlID, row.Severity, row.Subjects, age(row.FirstSeen, now))
		}
		_ = tw.Flush()
		more(w, len(f.Items), limit)
	}

	k := r.Risks
	if !k.Installed {
		fmt.Fprintln(w, "\nRisks out of appetite: none (the cluster has no Risk CRD)")
		return
	}
	fmt.Fprintf(w, "\nRisks out of appetite: %d of %d\n", k.OutOfAppetite, k.Total)
	if len(k.Items) > 0 {
		tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
		fmt.Fprintln(tw, "  RISK\tOWNER\tRESIDUAL\tLEVEL\tAPPETITE\tREASON\tTITLE")
		for _, row := range head(k.Items, limit) {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%d\t%s\t%s\n", row.Name, row.Owner, row.ResidualScore, row.ResidualLevel, row.Appetite, row.Reason, truncate(row.Title, 60))
		}
		_ = tw.Flush()
		more(w, len(k.Items), limit)
	}
}

func head[T any](xs []T, limit int) []T {
	if limit > 0 && len(xs) > limit {
		return xs[:limit]
	}
	return xs
}

func more(w io.Writer, n, limit int) {
	if limit > 0 && n > limit {
		fmt.Fprintf(w, "  ... and %d more (--limit 0 shows all)\n", n-limit)
	}
}

func age(t *metav1.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func truncate(s string, n int) string {
	return policy.Truncate(strings.Join(strings.Fields(s), " "), n)
}
