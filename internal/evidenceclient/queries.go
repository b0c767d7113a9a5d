package evidenceclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/isms-operator/isms-operator/internal/evidence"
	"github.com/isms-operator/isms-operator/internal/evidence/api"
)

// LogQuery selects a control's history, as /log does.
type LogQuery struct {
	Control    string
	From, To   time.Time // To is exclusive; zero From or To is unbounded
	Heartbeats bool
}

// Log pages through a control's history and calls page with each page's entries, in index
// order, until the last page: a long period is complete, and printed as it comes. A page
// whose next index does not move forward, or whose entries are not in order after the
// previous page, is an error (a server that would make the walk loop or skip). Each entry
// comes with the policy digest and generation in force when it was written, on every page.
func (c *Client) Log(ctx context.Context, q LogQuery, page func([]evidence.Entry) error) error {
	var after uint64
	for {
		p, err := c.logPage(ctx, q, after)
		if err != nil {
			return err
		}
		for i, e := range p.Entries {
			if e.Index < after || (i > 0 && e.Index <= p.Entries[i-1].Index) {
				return fmt.Errorf("the answer of log lists entry %d out of order", e.Index)
			}
		}
		if err := page(p.Entries); err != nil {
			return err
		}
		if p.Next == nil {
			return nil
		}
		if *p.Next <= after || (len(p.Entries) > 0 && *p.Next <= p.Entries[len(p.Entries)-1].Index) {
			return fmt.Errorf("the answer of log gives next %d, which does not move past %d", *p.Next, after)
		}
		after = *p.Next
	}
}

func (c *Client) logPage(ctx context.Context, q LogQuery, after uint64) (api.LogPage, error) {
	v := url.Values{"control": {q.Control}}
	timeQuery(v, "from", q.From)
	timeQuery(v, "to", q.To)
	if q.Heartbeats {
		v.Set("heartbeats", "true")
	}
	uintQuery(v, "after", after)
	uintQuery(v, "limit", LogPageSize)
	var p api.LogPage
	resp, err := c.get(ctx, "log", v, http.StatusOK)
	if err != nil {
		return p, err
	}
	if err := decode(resp, "log", MaxLogPageBytes, &p); err != nil {
		return p, err
	}
	if len(p.Entries) > LogPageSize {
		return p, fmt.Errorf("the answer of log has %d entries, more than the %d asked for", len(p.Entries), LogPageSize)
	}
	return p, nil
}

// At returns every control's state at t, unverified: check it with VerifySnapshot.
func (c *Client) At(ctx context.Context, t time.Time) (evidence.Snapshot, error) {
	var s evidence.Snapshot
	resp, err := c.get(ctx, "at", url.Values{"t": {FormatTime(t)}}, http.StatusOK)
	if err != nil {
		return s, err
	}
	return s, decode(resp, "at", MaxSnapshotBytes, &s)
}

// Export copies the bundle of [from, to) to w, at most maxBytes of it, and returns the bytes
// written. The bundle is unverified: check it with evidence.VerifyBundle.
func (c *Client) Export(ctx context.Context, w io.Writer, from, to time.Time, maxBytes int64) (int64, error) {
	v := url.Values{}
	timeQuery(v, "from", from)
	timeQuery(v, "to", to)
	resp, err := c.get(ctx, "export", v, http.StatusOK)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	n, err := io.Copy(w, io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return n, fmt.Errorf("reading the bundle: %w", err)
	}
	if n > maxBytes {
		return n, fmt.Errorf("the bundle is larger than %d bytes: %w", maxBytes, ErrTooLarge)
	}
	return n, nil
}

// Verify asks the operator to verify its whole log. A log that does not verify is a report
// with Verified false, not an error.
func (c *Client) Verify(ctx context.Context) (api.VerifyReport, error) {
	var r api.VerifyReport
	resp, err := c.get(ctx, "verify", nil, http.StatusOK, http.StatusConflict)
	if err != nil {
		return r, err
	}
	if err := decode(resp, "verify", MaxSmallBytes, &r); err != nil {
		return r, err
	}
	if r.Verified != (resp.StatusCode == http.StatusOK) {
		return r, fmt.Errorf("the answer of verify says verified=%v with status %d", r.Verified, resp.StatusCode)
	}
	return r, nil
}

// Consistency returns the proof that the tree of size from is a prefix of the head's.
func (c *Client) Consistency(ctx context.Context, from uint64) (api.ConsistencyProof, error) {
	var p api.ConsistencyProof
	v := url.Values{}
	uintQuery(v, "from", from)
	resp, err := c.get(ctx, "consistency", v, http.StatusOK)
	if err != nil {
		return p, err
	}
	return p, decode(resp, "consistency", MaxSmallBytes, &p)
}
