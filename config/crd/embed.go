// Package crd embeds the CustomResourceDefinitions that `make manifests` generates into
// bases/, so that kubectl isms validates objects with the very schemas and CEL rules the API
// server applies (internal/crdschema), and cannot drift from them.
package crd

import "embed"

// Bases holds bases/*.yaml.
//
//go:embed bases/*.yaml
var Bases embed.FS
