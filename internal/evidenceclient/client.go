// Package evidenceclient is the client of the operator's evidence endpoint (package
// internal/evidence/api, served under /evidence/ on the manager's metrics server). It reads
// with bounds, as from a hostile server, and checks what it is answered: At answers and
// checkpoints against a verifier key, saved checkpoints against the head. How the endpoint is
// reached (a direct URL, or a port-forward to the manager) is the caller's: it passes an
// *http.Client that carries the credentials.
package evidenceclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Bounds on what is read from the endpoint.
const (
	// LogPageSize is the number of entries asked for per /log page.
	LogPageSize = 1000
	// MaxLogPageBytes bounds one /log page: LogPageSize entries of at most
	// evidence.MaxLeafBytes each, with their hashes and digests, fit well within it.
	MaxLogPageBytes = 16 << 20
	// MaxSnapshotBytes bounds an /at answer: every control with its evidence leaves and
	// proofs, up to evidence.MaxFindingsPerControl open Findings each.
	MaxSnapshotBytes = 256 << 20
	// MaxSmallBytes bounds the key, a checkpoint, a verify report and a consistency proof.
	MaxSmallBytes = 64 << 10
	// maxErrorBytes bounds an error answer; MaxMessageLen the message printed from it.
	maxErrorBytes = 4 << 10
	MaxMessageLen = 300
)

// ErrTooLarge is returned when an answer exceeds its bound.
var ErrTooLarge = errors.New("answer too large")

// Client talks to one evidence endpoint.
type Client struct {
	base *url.URL
	http *http.Client
}

// New returns a client of the endpoint at base (e.g. http://127.0.0.1:8080/evidence/).
func New(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http:// or https:// URL", Clean(base, 200))
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawQuery, u.Fragment = "", ""
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, http: hc}, nil
}

// URL returns the endpoint's base URL.
func (c *Client) URL() string { return c.base.String() }

// get requests path with query and returns the response if its status is one of ok; any
// other answer becomes an error with the server's message, cut and cleaned.
func (c *Client) get(ctx context.Context, path string, query url.Values, ok ...int) (*http.Response, error) {
	u := c.base.JoinPath(path)
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	for _, code := range ok {
		if resp.StatusCode == code {
			return resp, nil
		}
	}
	defer func() { _ = resp.Body.Close() }()
	return nil, statusError(path, resp)
}

// StatusError is an answer with an unexpected HTTP status.
type StatusError struct {
	Path    string
	Code    int
	Message string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("GET %s: %d %s", e.Path, e.Code, http.StatusText(e.Code))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

func statusError(path string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	var answer struct {
		Error string `json:"error"`
	}
	msg := string(body)
	if json.Unmarshal(body, &answer) == nil && answer.Error != "" {
		msg = answer.Error
	}
	return &StatusError{Path: path, Code: resp.StatusCode, Message: Clean(msg, MaxMessageLen)}
}

// decode reads a JSON answer of at most limit bytes into v.
func decode(resp *http.Response, path string, limit int64, v any) error {
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return fmt.Errorf("the answer of %s is larger than %d bytes: %w", path, limit, ErrTooLarge)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding the answer of %s: %s", path, Clean(err.Error(), MaxMessageLen))
	}
	return nil
}

// Clean makes text from the endpoint safe to print: control characters (terminal escapes
// among them) become U+FFFD, whitespace runs one space, and it is cut to n bytes.
func Clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return unicode.ReplacementChar
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// FormatTime is the form of times in queries.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func timeQuery(q url.Values, name string, t time.Time) {
	if !t.IsZero() {
		q.Set(name, FormatTime(t))
	}
}

func uintQuery(q url.Values, name string, n uint64) {
	q.Set(name, strconv.FormatUint(n, 10))
}

// readSmall reads a text answer of at most MaxSmallBytes.
func readSmall(resp *http.Response, path string) ([]byte, error) {
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxSmallBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", path, err)
	}
	if len(data) > MaxSmallBytes {
		return nil, fmt.Errorf("the answer of %s is larger than %d bytes: %w", path, MaxSmallBytes, ErrTooLarge)
	}
	return data, nil
}

// Key returns the endpoint's verifier key text. It is only as trustworthy as the endpoint:
// prefer a key saved outside the cluster.
func (c *Client) Key(ctx context.Context) (string, error) {
	resp, err := c.get(ctx, "key", nil, http.StatusOK)
	if err != nil {
		return "", err
	}
	data, err := readSmall(resp, "key")
	return strings.TrimSpace(string(data)), err
}

// Checkpoint returns the latest signed checkpoint, unverified.
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	resp, err := c.get(ctx, "checkpoint", nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return readSmall(resp, "checkpoint")
}
