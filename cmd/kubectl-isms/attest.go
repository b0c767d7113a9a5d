package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ismsv1 "github.com/isms-operator/isms-operator/api/v1alpha1"
	"github.com/isms-operator/isms-operator/internal/attestation"
)

// maxStatementFile bounds a --statement-file: the API server keeps 8 KiB of statement.
const maxStatementFile = 8192

type attestOptions struct {
	cluster                  *clusterFlags
	statement, statementFile string
	artifacts, uris          []string
	documents                []string
	from, to                 string
	name                     string
	dryRun                   bool
}

func newAttestCommand() *cobra.Command {
	o := &attestOptions{cluster: newClusterFlags()}
	cmd := &cobra.Command{
		Use:   "attest CONTROL",
		Short: "Submit an Attestation of an attested Control, with the digests of local evidence files",
		Long: `Create an Attestation of the attested Control CONTROL (its metadata.name): a statement
that the control was in place over a period, with evidence artifacts. For each --artifact the
local file is read to compute its sha256 and size; the file itself is not uploaded: keep it in
your document store and give its location with --uri. The API server records you as the
submitter; an approver the Control names (spec.attestation.approvers) then approves it, e.g.

  kubectl patch attestation NAME --type merge -p '{"spec":{"decision":{"outcome":"Approved"}}}'

--document NAME adds the Document NAME (kubectl get documents) as an artifact, with the
location and sha256 it records: approving the attestation approves that version of the
document. Without --statement, the statement names the documents reviewed.

--from and --to take a date (2026-07-01) or an RFC 3339 time; by default the period is the
Control's spec.attestation.every, ending now. See docs/attestations.md.`,
		Example: `  kubectl isms attest isms-att-a-5-1-policies --statement "Policy set reviewed by the board" \
      --artifact ./infosec-policy-v4.pdf --uri https://docs.example.com/isms/infosec-policy-v4.pdf
  kubectl isms attest isms-att-a-5-1-policies --document information-security-policy \
      --document access-control-policy --document data-classification-policy
  kubectl isms attest isms-att-a-5-18-access-rights --statement-file review.txt \
      --artifact q3=./access-review-q3.pdf --uri q3=s3://isms-evidence/2026/q3.pdf \
      --from 2026-07-01 --to 2026-09-30 --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.cluster.client()
			if err != nil {
				return err
			}
			return o.attest(cmd.Context(), c, args[0], time.Now(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	o.cluster.addFlags(f)
	f.StringVar(&o.statement, "statement", "", "What was checked and found, in your words.")
	f.StringVar(&o.statementFile, "statement-file", "", "Read the statement from this file instead.")
	f.StringArrayVar(&o.artifacts, "artifact", nil, "An evidence file, [NAME=]PATH (repeatable); NAME defaults to the file's base name.")
	f.StringArrayVar(&o.documents, "document", nil, "A Document of the control under review (repeatable): its location and sha256 become an artifact; the default statement names them.")
	f.StringArrayVar(&o.uris, "uri", nil, "Where an artifact is kept, [NAME=]URL (repeatable); without NAME, for the only artifact.")
	f.StringVar(&o.from, "from", "", "Start of the period covered (date or RFC 3339; default: --to minus the Control's every).")
	f.StringVar(&o.to, "to", "", "End of the period covered (date or RFC 3339; default: now).")
	f.StringVar(&o.name, "name", "", "The Attestation's name (default: generated from the Control's).")
	f.BoolVar(&o.dryRun, "dry-run", false, "Print the Attestation as YAML instead of creating it.")
	return cmd
}

// attest reads the Control, builds the Attestation and creates it (or prints it).
func (o *attestOptions) attest(ctx context.Context, c client.Client, controlName string, now time.Time, w io.Writer) error {
	var ctl ismsv1.Control
	if err := c.Get(ctx, client.ObjectKey{Name: controlName}, &ctl); err != nil {
		if apierrors.IsNotFound(err) {
			return usagef("control %q not found", controlName)
		}
		return fmt.Errorf("reading control %s: %w", controlName, err)
	}
	if !ctl.IsAttested() {
		return usagef("control %q is evaluated by a policy, not attested (it has no spec.attestation)", controlName)
	}
	docs, docArtifacts, err := o.documentArtifacts(ctx, c, ctl.Name)
	if err != nil {
		return err
	}
	a, err := o.build(&ctl, docs, docArtifacts, now)
	if err != nil {
		return err
	}
	if o.dryRun {
		out, err := yaml.Marshal(a)
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	}
	if err := c.Create(ctx, a); err != nil {
		return fmt.Errorf("creating the attestation: %w", err)
	}
	fmt.Fprintf(w, "attestation.isms.dev/%s submitted by %s for control %s (%d artifact(s)); it awaits an approver: %s\n",
		a.Name, orNone(a.Spec.SubmittedBy), ctl.Name, len(a.Spec.Artifacts), approversText(ctl.Spec.Attestation.Approvers))
	return noteLeftOut(ctx, c, a, w)
}

// build makes the Attestation the options describe for ctl, with the artifacts of the
// Documents under review after those of the files.
func (o *attestOptions) build(ctl *ismsv1.Control, docs []ismsv1.Document, docArtifacts []ismsv1.AttestationArtifact, now time.Time) (*ismsv1.Attestation, error) {
	fallback := ""
	if len(docs) > 0 {
		fallback = documentsStatement(docs)
	}
	statement, err := o.readStatement(fallback)
	if err != nil {
		return nil, err
	}
	from, to, err := o.period(ctl, now)
	if err != nil {
		return nil, err
	}
	artifacts, err := parseArtifacts(o.artifacts, o.uris)
	if err != nil {
		return nil, err
	}
	for _, d := range docArtifacts {
		if slices.ContainsFunc(artifacts, func(a ismsv1.AttestationArtifact) bool { return a.Name == d.Name }) {
			return nil, usagef("--artifact %s: a --document has that name", d.Name)
		}
		artifacts = append(artifacts, d)
	}
	a := &ismsv1.Attestation{
		TypeMeta:   metav1.TypeMeta{APIVersion: ismsv1.GroupVersion.String(), Kind: "Attestation"},
		ObjectMeta: metav1.ObjectMeta{Name: o.name},
		Spec: ismsv1.AttestationSpec{Control: ctl.Name, Statement: statement, Artifacts: artifacts,
			Period: ismsv1.AttestationPeriod{From: metav1.NewTime(from), To: metav1.NewTime(to)}},
	}
	if o.name == "" {
		a.GenerateName = truncateName(ctl.Name, 200) + "-" + to.UTC().Format("20060102") + "-"
	}
	return a, nil
}

// readStatement is --statement or --statement-file, or else fallback.
func (o *attestOptions) readStatement(fallback string) (string, error) {
	switch {
	case o.statementFile != "" && o.statement != "":
		return "", usagef("give --statement or --statement-file, not both")
	case o.statementFile != "":
		b, err := readBounded(o.statementFile, maxStatementFile)
		if err != nil {
			return "", usagef("--statement-file: %v", err)
		}
		o.statement = string(b)
	}
	if strings.TrimSpace(o.statement) == "" {
		o.statement = fallback
	}
	if strings.TrimSpace(o.statement) == "" {
		return "", usagef("a statement is required (--statement or --statement-file)")
	}
	return strings.TrimSpace(o.statement), nil
}

// period is [from, to]: --to defaults to now, --from to --to minus the Control's every.
func (o *attestOptions) period(ctl *ismsv1.Control, now time.Time) (time.Time, time.Time, error) {
	to := now.UTC().Truncate(time.Second)
	var err error
	if o.to != "" {
		if to, err = parseWhen(o.to, true); err != nil {
			return time.Time{}, time.Time{}, usagef("--to: %v", err)
		}
	}
	sched, err := attestation.ScheduleOf(ctl.Spec.Attestation)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("control %s: %w", ctl.Name, err)
	}
	from := to.Add(-sched.Every)
	if o.from != "" {
		if from, err = parseWhen(o.from, false); err != nil {
			return time.Time{}, time.Time{}, usagef("--from: %v", err)
		}
	}
	if to.Before(from) {
		return time.Time{}, time.Time{}, usagef("--to (%s) is before --from (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return from, to, nil
}

// parseWhen reads a date (the start of the day, or its last second for the end of a period)
// or an RFC 3339 time.
func parseWhen(s string, endOfDay bool) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			d = d.Add(24*time.Hour - time.Second)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a date (2026-07-01) nor an RFC 3339 time", s)
	}
	return t.UTC(), nil
}

// parseArtifacts reads each [NAME=]PATH, computing the file's digest and size, and attaches
// the --uri values to them by name.
func parseArtifacts(specs, uris []string) ([]ismsv1.AttestationArtifact, error) {
	out := make([]ismsv1.AttestationArtifact, 0, len(specs))
	byName := map[string]int{}
	for _, spec := range specs {
		name, path := splitNamed(spec)
		if name == "" {
			name = filepath.Base(path)
		}
		if _, dup := byName[name]; dup {
			return nil, usagef("--artifact: two artifacts named %q", name)
		}
		sum, size, err := digestFile(path)
		if err != nil {
			return nil, usagef("--artifact %s: %v", spec, err)
		}
		byName[name] = len(out)
		out = append(out, ismsv1.AttestationArtifact{Name: name, SHA256: sum, Size: size, MediaType: mediaTypeOf(path)})
	}
	for _, u := range uris {
		name, uri := splitNamed(u)
		i, ok := byName[name]
		switch {
		case name == "" && len(out) == 1:
			i, ok = 0, true
		case name == "":
			return nil, usagef("--uri %s: name the artifact (NAME=URL) when there are %d", u, len(out))
		}
		if !ok {
			return nil, usagef("--uri %s: no --artifact named %q", u, name)
		}
		out[i].URI = uri
	}
	return out, nil
}

// splitNamed splits NAME=VALUE; a value with no "=" before its first "/" or ":" has no name
// (a path or a URL).
func splitNamed(s string) (name, value string) {
	eq := strings.Index(s, "=")
	if eq <= 0 || strings.ContainsAny(s[:eq], "/:") {
		return "", s
	}
	return s[:eq], s[eq+1:]
}

// digestFile returns the sha256 (lower-case hex) and size of a file's content.
func digestFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// mediaTypeOf guesses a file's media type from its extension, without parameters; "" when
// unknown.
func mediaTypeOf(path string) string {
	t, _, _ := strings.Cut(mime.TypeByExtension(filepath.Ext(path)), ";")
	return strings.TrimSpace(t)
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("more than %d bytes", limit)
	}
	return b, err
}

func truncateName(s string, n int) string {
	return strings.TrimRight(s[:min(len(s), n)], "-.")
}

func approversText(a ismsv1.AttestationApprovers) string {
	var parts []string
	for _, u := range a.Users {
		parts = append(parts, "user "+u)
	}
	for _, g := range a.Groups {
		parts = append(parts, "group "+g)
	}
	return strings.Join(parts, ", ")
}
