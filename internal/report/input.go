package report

import (
	"iter"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/frameworks"
)

// Input is everything Compute reads: plain data, gathered by the caller from the ledger
// (Ledger.At, Ledger.Log or an export bundle) and the Controls.
type Input struct {
	// Catalog is the framework's catalog; every requirement of it is reported.
	Catalog *frameworks.Catalog
	Period  Period
	// Controls are the Controls mapped to the framework (their other mappings are ignored).
	Controls []Control
	// Start is the ledger's state at Period.From (Ledger.At), so that results, open Findings
	// and exceptions in force when the period began count. Nil when the entries themselves
	// begin before Period.From (a bundle exported from earlier) or nothing is known.
	Start *evidence.Snapshot
	// Entries are the ledger's entries by index: those of the period, optionally preceded by
	// earlier ones (which only set up the state at Period.From). Compute reads them once and
	// keeps no per-subject data beyond what the report lists.
	Entries iter.Seq2[evidence.Entry, error]
	// DuePeriods are the Finding due periods by severity (finding.Workflow.DuePeriods); a
	// severity without one has no due date.
	DuePeriods map[string]time.Duration
	// Applicability is the Statement of Applicability by requirement id, if there is one.
	// Without it a requirement is applicable when a Control maps to it, and NotAssessed
	// otherwise.
	Applicability map[string]Applicability
	SoA           *SoARef
	// Statements are the cluster's Statements of Applicability of the framework, each as its
	// applicability by requirement, by the digest of their content: the candidates for the
	// version the ledger says was in force (gather.ApplySoA sets Applicability and SoA).
	Statements map[string]map[string]Applicability
	// Risks are the risk register's accepted Risks (RisksOf) as the cluster holds them at
	// RisksReadAt: Risks are not in the ledger. Compute lists those whose acceptance was in
	// force during the period.
	Risks []Risk
	// RisksReadAt is when Risks were read; zero means the register was not read.
	RisksReadAt time.Time
	// Overrides are the auditor's grades, by requirement id or Finding key.
	Overrides map[string]Override
	// Checkpoint is the signed checkpoint at or after Period.To that the citations are in.
	Checkpoint Checkpoint
	Origin     string
	Clusters   []string
	// Now is the clock (GeneratedAt); nil means time.Now.
	Now func() time.Time
}

// Control is what the report needs of a Control.
type Control struct {
	Name        string
	ID          string
	Title       string
	Description string
	Owner       string
	// Severity is spec.severity (critical, high, medium, low, info).
	Severity string
	Attested bool
	// Requirements are the ids of the framework's requirements the Control maps to.
	Requirements []string
}

// Risk is what the report needs of an accepted Risk.
type Risk struct {
	Name, Title, Owner string
	// AcceptedBy, Justification and AcceptedUntil are spec.acceptance.
	AcceptedBy, Justification string
	AcceptedUntil             time.Time
	// Created is the Risk's creation: the acceptance was made at or after it.
	Created                                time.Time
	InherentScore, ResidualScore, Appetite int32
	ResidualLevel                          string
	// Controls are the names of the Controls linked to the Risk (spec.controls).
	Controls []string
}

// Applicability is one requirement's entry in the Statement of Applicability.
type Applicability struct {
	Applicable bool
	// Justification is the reason for exclusion (or inclusion).
	Justification string
}

// Override is an auditor's grade of a nonconformity.
type Override struct {
	Severity Severity
	Reason   string
}
