package main

import (
	"net/http"
	"net/url"
)

// collectionNames maps the URL path of a collection to the one object of it a client may
// read: list and watch requests for the collection are narrowed to that object with a
// metadata.name field selector, which RBAC then authorizes by resourceNames.
type collectionNames map[string]string

// narrow returns the query of a GET on path narrowed to its one object, and whether it did.
// A request that already selects by field is left alone.
func (c collectionNames) narrow(method, path string, query url.Values) (url.Values, bool) {
	name, ok := c[path]
	if !ok || method != http.MethodGet || query.Has("fieldSelector") {
		return query, false
	}
	narrowed := url.Values{}
	for k, v := range query {
		narrowed[k] = v
	}
	narrowed.Set("fieldSelector", "metadata.name="+name)
	return narrowed, true
}

// transport narrows the requests it sends through rt.
func (c collectionNames) transport(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if q, ok := c.narrow(req.Method, req.URL.Path, req.URL.Query()); ok {
			req = req.Clone(req.Context())
			req.URL.RawQuery = q.Encode()
		}
		return rt.RoundTrip(req)
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
