// Package policy compiles and evaluates the Rego policies of Controls with the OPA Go SDK.
//
// Every policy follows one contract:
//
//	violation contains {"msg": <string>, "details": <any>} if { ... }
//
// with the subject at input.review.object, the control's parameters at input.parameters and the
// cluster inventory of watched kinds at data.inventory:
//
//	data.inventory.namespace[<ns>][<groupversion>][<kind>][<name>]
//	data.inventory.cluster[<groupversion>][<kind>][<name>]
//
// Policies are compiled once per digest of their source and the prepared query is reused for
// every evaluation. Input is taken already converted to the engine's value form, because the
// conversion costs more than the evaluation itself (see README, "Performance").
//
// The engine is a sandbox: builtins that reach the network or the host (http.send, net.*,
// opa.runtime, ...) are removed from the capabilities, every evaluation has a deadline and the
// number and size of violations are bounded. A compile or evaluation error is returned as a
// value for the caller to report; nothing here panics or aborts a sweep.
//
// This package imports nothing from controller-runtime: it is the pure core that the operator
// and the offline CLI share.
package policy
