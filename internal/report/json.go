package report

import (
	"encoding/json"
	"io"
)

// WriteJSON writes the report as indented JSON: fields in declaration order, maps by key,
// no HTML escaping, so that one report always writes the same bytes.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
