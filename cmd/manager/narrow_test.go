package main

import (
	"net/url"
	"testing"
)

func TestCollectionNamesNarrow(t *testing.T) {
	names := collectionNames{"/api/v1/namespaces/isms-system/secrets": "cert"}
	tests := map[string]struct {
		method, path, query string
		want                string
		narrowed            bool
	}{
		"list":             {"GET", "/api/v1/namespaces/isms-system/secrets", "limit=500", "fieldSelector=metadata.name%3Dcert&limit=500", true},
		"watch":            {"GET", "/api/v1/namespaces/isms-system/secrets", "watch=true&resourceVersion=7", "fieldSelector=metadata.name%3Dcert&resourceVersion=7&watch=true", true},
		"get by name":      {"GET", "/api/v1/namespaces/isms-system/secrets/cert", "", "", false},
		"update":           {"PUT", "/api/v1/namespaces/isms-system/secrets", "", "", false},
		"other namespace":  {"GET", "/api/v1/namespaces/default/secrets", "limit=1", "limit=1", false},
		"already by field": {"GET", "/api/v1/namespaces/isms-system/secrets", "fieldSelector=type%3Dx", "fieldSelector=type%3Dx", false},
		"other kind":       {"GET", "/api/v1/namespaces/isms-system/configmaps", "", "", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			got, narrowed := names.narrow(tc.method, tc.path, q)
			if got.Encode() != tc.want || narrowed != tc.narrowed {
				t.Errorf("got %q, %v; want %q, %v", got.Encode(), narrowed, tc.want, tc.narrowed)
			}
		})
	}
}
