// Package report computes the audit report of a framework for a period from the evidence
// ledger (Compute) and renders it (WriteMarkdown, WriteJSON). It is a pure core: plain
// inputs, a clock, no client; the CLI and the manager gather the inputs.
package report
