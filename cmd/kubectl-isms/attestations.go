package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/attestation"
	"github.com/isms-operator/isms-operator/internal/evidenceclient"
)

// AttestationsReport is the output of `attestations -o json`: every attested Control with
// where it stands, most urgent first, and the attestations awaiting a decision.
type AttestationsReport struct {
	Controls []AttestedRow `json:"controls"`
	Awaiting []AwaitingRow `json:"awaiting"`
}

// AttestedRow is one attested Control at the moment of the report.
type AttestedRow struct {
	Name     string               `json:"name"`
	ID       string               `json:"id"`
	Owner    string               `json:"owner"`
	Standing attestation.Standing `json:"standing"`
	Current  string               `json:"current,omitempty"`
	DueAt    *time.Time           `json:"dueAt,omitempty"`
	FailsAt  *time.Time           `json:"failsAt,omitempty"`
	Awaiting int                  `json:"awaiting"`
}

// AwaitingRow is one attestation no one has decided yet.
type AwaitingRow struct {
	Name        string    `json:"name"`
	Control     string    `json:"control"`
	SubmittedBy string    `json:"submittedBy"`
	SubmittedAt time.Time `json:"submittedAt"`
}

type attestationsOptions struct {
	cluster *clusterFlags
	output  string
}

func newAttestationsCommand() *cobra.Command {
	o := &attestationsOptions{cluster: newClusterFlags()}
	cmd := &cobra.Command{
		Use:   "attestations",
		Short: "List the attested Controls that are due, overdue or awaiting approval",
		Long: `Read the attested Controls and their Attestations from the cluster and say where each
stands now, as the operator decides it: Expired (overdue: the control fails), NeverAttested
(no approved attestation yet), InGrace (the period is over, the grace is not), RenewalDue
(renew now) or Current, most urgent first; then the attestations awaiting an approver.`,
		Example: `  kubectl isms attestations
  kubectl isms attestations -o json`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.output != "text" && o.output != "json" {
				return usagef("--output must be text or json; got %q", o.output)
			}
			c, err := o.cluster.client()
			if err != nil {
				return err
			}
			report, err := readAttestations(cmd.Context(), c, time.Now())
			if err != nil {
				return err
			}
			if o.output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(report)
			}
			printAttestations(cmd.OutOrStdout(), report, time.Now())
			return nil
		},
	}
	f := cmd.Flags()
	o.cluster.addFlags(f)
	f.StringVarP(&o.output, "output", "o", "text", "Output format: text or json.")
	return cmd
}

// readAttestations lists the Controls and Attestations and evaluates every attested Control.
func readAttestations(ctx context.Context, c client.Reader, now time.Time) (*AttestationsReport, error) {
	var controls ismsv1.ControlList
	if err := c.List(ctx, &controls); err != nil {
		return nil, fmt.Errorf("listing Controls: %w", err)
	}
	var list ismsv1.AttestationList
	if err := c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing Attestations: %w", err)
	}
	return attestationsReport(controls.Items, list.Items, now), nil
}

// attestationsReport decides where each attested Control stands at now (attestation.Evaluate,
// as the operator does), most urgent first, and lists the undecided attestations, oldest first.
func attestationsReport(controls []ismsv1.Control, items []ismsv1.Attestation, now time.Time) *AttestationsReport {
	byControl := map[string][]attestation.Record{}
	report := &AttestationsReport{Controls: []AttestedRow{}, Awaiting: []AwaitingRow{}}
	for i := range items {
		a := &items[i]
		byControl[a.Spec.Control] = append(byControl[a.Spec.Control], attestation.RecordOf(a))
		if a.Spec.Decision == nil {
			report.Awaiting = append(report.Awaiting, AwaitingRow{Name: a.Name, Control: a.Spec.Control,
				SubmittedBy: a.Spec.SubmittedBy, SubmittedAt: a.CreationTimestamp.UTC()})
		}
	}
	for i := range controls {
		c := &controls[i]
		if !c.IsAttested() {
			continue
		}
		sched, err := attestation.ScheduleOf(c.Spec.Attestation)
		if err != nil {
			continue // the API server's CEL rules refuse such a schedule
		}
		st := attestation.Evaluate(sched, byControl[c.Name], now)
		row := AttestedRow{Name: c.Name, ID: c.Spec.ID, Owner: c.Spec.Owner, Standing: st.Standing, Awaiting: len(st.Awaiting)}
		if st.Current != nil {
			row.Current, row.DueAt, row.FailsAt = st.Current.Name, &st.DueAt, &st.FailsAt
		}
		report.Controls = append(report.Controls, row)
	}
	slices.SortStableFunc(report.Controls, func(a, b AttestedRow) int {
		if c := urgency(a.Standing) - urgency(b.Standing); c != 0 {
			return c
		}
		if a.FailsAt != nil && b.FailsAt != nil && !a.FailsAt.Equal(*b.FailsAt) {
			return a.FailsAt.Compare(*b.FailsAt)
		}
		return strings.Compare(a.Name, b.Name)
	})
	slices.SortStableFunc(report.Awaiting, func(a, b AwaitingRow) int {
		if c := a.SubmittedAt.Compare(b.SubmittedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return report
}

// urgency orders standings: overdue first, current last.
func urgency(s attestation.Standing) int {
	return slices.Index([]attestation.Standing{attestation.Expired, attestation.NeverAttested, attestation.InGrace,
		attestation.RenewalDue, attestation.Current}, s)
}

func printAttestations(w io.Writer, r *AttestationsReport, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "CONTROL\tID\tSTANDING\tCURRENT\tDUE\tFAILS\tAWAITING\tOWNER\n")
	for _, c := range r.Controls {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", clean(c.Name), clean(c.ID), c.Standing, orNone(clean(c.Current)),
			when(c.DueAt, now), when(c.FailsAt, now), c.Awaiting, clean(c.Owner))
	}
	_ = tw.Flush()
	if len(r.Awaiting) == 0 {
		fmt.Fprintln(w, "\nNo attestation awaits approval.")
		return
	}
	fmt.Fprintln(w, "\nAwaiting approval:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ATTESTATION\tCONTROL\tSUBMITTED BY\tAGE\n")
	for _, a := range r.Awaiting {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", clean(a.Name), clean(a.Control), orNone(clean(a.SubmittedBy)), duration.HumanDuration(now.Sub(a.SubmittedAt)))
	}
	_ = tw.Flush()
}

// when is a time relative to now: "in 3d" or "2d ago"; "-" when unset.
func when(t *time.Time, now time.Time) string {
	switch {
	case t == nil:
		return "-"
	case t.After(now):
		return "in " + duration.HumanDuration(t.Sub(now))
	}
	return duration.HumanDuration(now.Sub(*t)) + " ago"
}

// clean makes a cluster-supplied string safe for one table cell: one line, no control
// characters, at most 80 bytes.
func clean(s string) string {
	return evidenceclient.Clean(truncate(s, 80), 80)
}
