package policy

import (
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// removedBuiltins are builtins a policy may not call: they reach the network, the host or the
// engine's runtime configuration, none of which a compliance verdict may depend on, or, like
// strings.render_template (Go's text/template: loops and output of any size inside one
// uninterruptible call), cannot be bounded (see bounds.go for those that are).
var removedBuiltins = map[string]bool{
	"http.send":               true,
	"opa.runtime":             true,
	"providers.aws.sign_req":  true,
	"trace":                   true,
	"print":                   true,
	"strings.render_template": true,
}

// removedPrefixes remove whole builtin families.
var removedPrefixes = []string{
	"net.", // net.lookup_ip_addr resolves names; the CIDR helpers go with the family for now
}

// sandboxCapabilities returns the OPA capabilities a Control's policy compiles against.
func sandboxCapabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	kept := caps.Builtins[:0]
	for _, b := range caps.Builtins {
		if allowedBuiltin(b.Name) {
			kept = append(kept, b)
		}
	}
	caps.Builtins = kept
	// No remote bundles or modules: the policy is the module in the Control.
	caps.AllowNet = []string{}
	return caps
}

func allowedBuiltin(name string) bool {
	if removedBuiltins[name] {
		return false
	}
	for _, p := range removedPrefixes {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	return true
}
