package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidenceclient"
)

type evidenceLogOptions struct {
	*evidenceOptions
	control    string
	from, to   string
	heartbeats bool
	output     string
}

func newEvidenceLogCommand(eo *evidenceOptions) *cobra.Command {
	o := &evidenceLogOptions{evidenceOptions: eo}
	cmd := &cobra.Command{
		Use:   "log --control NAME [--from T] [--to T]",
		Short: "Print a control's changes over a period",
		Long: `Print every change recorded for a control in [--from, --to): its result and counts,
its failing subjects' transitions (started failing, passed again, excepted, errored), its
Findings' state changes, its ControlExceptions' phase changes, and the operator's starts
and stops. Each entry has its time, ledger index, the policy digest and control generation
in force, and its leaf hash. --heartbeats adds the leaves that only confirm an unchanged
state. Long periods are read page by page and printed as they come.

Times are RFC 3339 or a date (2026-01-01 is midnight UTC); --to is exclusive, so
--to 2027-01-01 includes the whole of 2026-12-31.`,
		Example: `  kubectl isms evidence log --control isms-k8s-001-no-privileged --from 2026-01-01 --to 2027-01-01
  kubectl isms evidence log --control isms-k8s-001-no-privileged -o json | jq '.[] | select(.leaf.kind=="subject")'`,
		Args: maxArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.control, "control", "", "Name of the Control (required).")
	f.StringVar(&o.from, "from", "", "Start of the period, inclusive (RFC 3339 or a date; default: the beginning).")
	f.StringVar(&o.to, "to", "", "End of the period, exclusive (RFC 3339 or a date; default: now).")
	f.BoolVar(&o.heartbeats, "heartbeats", false, "Include heartbeat leaves (the state confirmed unchanged).")
	f.StringVarP(&o.output, "output", "o", "table", "Output format: table or json.")
	return cmd
}

func (o *evidenceLogOptions) query() (evidenceclient.LogQuery, error) {
	q := evidenceclient.LogQuery{Control: o.control, Heartbeats: o.heartbeats}
	if o.control == "" {
		return q, usagef("--control is required")
	}
	if len(o.control) > evidence.MaxNameLen {
		return q, usagef("--control is longer than %d bytes", evidence.MaxNameLen)
	}
	if o.output != "table" && o.output != "json" {
		return q, usagef("--output must be table or json; got %q", truncate(o.output, 40))
	}
	var err error
	if q.From, err = parseTime("--from", o.from); err != nil {
		return q, err
	}
	if q.To, err = parseTime("--to", o.to); err != nil {
		return q, err
	}
	if !q.To.IsZero() && !q.From.Before(q.To) {
		return q, usagef("--from must be before --to")
	}
	return q, nil
}

func (o *evidenceLogOptions) run(cmd *cobra.Command) error {
	q, err := o.query()
	if err != nil {
		return err
	}
	c, closeConn, err := o.connect(cmd.Context(), cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer closeConn()
	w := cmd.OutOrStdout()
	var p logPrinter = &tableLog{w: w}
	if o.output == "json" {
		p = &jsonLog{w: w}
	}
	if err := c.Log(cmd.Context(), q, p.page); err != nil {
		return explain(err)
	}
	return p.end()
}

// logPrinter prints the entries page by page.
type logPrinter interface {
	page([]evidence.Entry) error
	end() error
}

// jsonLog writes one JSON array, an entry at a time.
type jsonLog struct {
	w io.Writer
	n int
}

func (p *jsonLog) page(entries []evidence.Entry) error {
	for _, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		sep := ",\n  "
		if p.n == 0 {
			sep = "[\n  "
		}
		p.n++
		if _, err := fmt.Fprintf(p.w, "%s%s", sep, b); err != nil {
			return err
		}
	}
	return nil
}

func (p *jsonLog) end() error {
	if p.n == 0 {
		_, err := fmt.Fprintln(p.w, "[]")
		return err
	}
	_, err := fmt.Fprintln(p.w, "\n]")
	return err
}

// tableLog writes fixed-width columns, so pages printed apart still line up; the change,
// of any length, comes last.
type tableLog struct {
	w io.Writer
	n int
}

const logRowFormat = "%-24s  %9s  %-16s  %-19s  %4s  %-16s  %s\n"

func (p *tableLog) page(entries []evidence.Entry) error {
	if p.n == 0 && len(entries) > 0 {
		fmt.Fprintf(p.w, logRowFormat, "TIME", "INDEX", "KIND", "DIGEST", "GEN", "LEAF HASH", "CHANGE")
	}
	for _, e := range entries {
		p.n++
		gen := "-"
		if e.Generation != 0 {
			gen = fmt.Sprint(e.Generation)
		}
		_, err := fmt.Fprintf(p.w, logRowFormat, e.Leaf.Time.UTC().Format("2006-01-02T15:04:05.000Z"), fmt.Sprint(e.Index),
			e.Leaf.Kind, shortDigest(e.Digest), gen, shortHash(e.LeafHash), describeLeaf(e.Leaf))
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *tableLog) end() error {
	if p.n == 0 {
		_, err := fmt.Fprintln(p.w, "No entries in this period.")
		return err
	}
	return nil
}

// shortDigest cuts "sha256:<hex>" to 12 hex digits, as a short commit id (-o json has it whole).
func shortDigest(d string) string {
	if d == "" {
		return "-"
	}
	return evidenceclient.Clean(d, len("sha256:")+12)
}

// shortHash is the first 8 bytes of a leaf hash in hex (-o json has it whole).
func shortHash(h []byte) string {
	return hex.EncodeToString(h[:min(8, len(h))])
}

// describeLeaf says in one line what a leaf records, with the text it carries cleaned.
func describeLeaf(l evidence.Leaf) string {
	var s string
	switch {
	case l.State != nil:
		s = describeState(l.Kind, l.State)
	case l.Subject != nil:
		s = fmt.Sprintf("%s: %s -> %s (failing %d)", l.Subject.ID, l.Subject.From, l.Subject.To, l.Subject.Counts.Failing)
		if l.Subject.Message != "" {
			s += ": " + l.Subject.Message
		}
	case l.Finding != nil:
		s = fmt.Sprintf("Finding %s: %s -> %s", objectName(l.Finding.Namespace, l.Finding.Name), orNone(l.Finding.From), l.Finding.To)
		if l.Finding.Open {
			s += " (open)"
		}
	case l.Exception != nil:
		s = fmt.Sprintf("ControlException %s: %s -> %s", objectName(l.Exception.Namespace, l.Exception.Name), orNone(l.Exception.From), l.Exception.To)
	case l.Operator != nil:
		s = describeOperator(l.Kind, l.Operator)
	case l.Attestation != nil:
		s = describeAttestation(l.Attestation)
	case l.SoA != nil:
		s = fmt.Sprintf("StatementOfApplicability %s version %s %s by %s (%s)", l.SoA.Name, l.SoA.Version, l.SoA.Decision, l.SoA.DecidedBy, l.SoA.Digest)
	}
	return evidenceclient.Clean(s, 200)
}

// describeAttestation: "Attestation q3 Approved by bob (submitted by alice), 2 artifact(s)".
func describeAttestation(a *evidence.AttestationChange) string {
	s := fmt.Sprintf("Attestation %s %s", a.Name, a.Step)
	if a.DecidedBy != "" && a.Step != evidence.StepSubmitted && a.Step != evidence.StepExpired {
		s += " by " + a.DecidedBy
	}
	if a.SubmittedBy != "" {
		s += " (submitted by " + a.SubmittedBy + ")"
	}
	return s + fmt.Sprintf(", %d artifact(s)", len(a.Artifacts))
}

func describeState(kind evidence.Kind, st *evidence.State) string {
	prefix := "result"
	if kind == evidence.KindHeartbeat {
		prefix = "unchanged"
	}
	s := fmt.Sprintf("%s %s: failing %d, excepted %d, errored %d", prefix, st.Result, st.Counts.Failing, st.Counts.Excepted, st.Counts.Errored)
	if st.Message != "" {
		s += ": " + st.Message
	}
	return s
}

func describeOperator(kind evidence.Kind, op *evidence.OperatorEvent) string {
	if kind == evidence.KindOperatorStopped {
		return "operator stopped"
	}
	var details []string
	if op.Version != "" {
		details = append(details, "version "+op.Version)
	}
	if op.HeartbeatSeconds > 0 {
		details = append(details, "heartbeat "+(time.Duration(op.HeartbeatSeconds)*time.Second).String())
	}
	if len(details) == 0 {
		return "operator started"
	}
	return "operator started (" + strings.Join(details, ", ") + ")"
}

func objectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
