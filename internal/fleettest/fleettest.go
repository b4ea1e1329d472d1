// Package fleettest has the services of a fleet for tests: a bundle server
// (a plain net/http handler with ETags) and a decision-log and status
// receiver, as OPA's plugins expect them. Real servers, for real plugins.
package fleettest

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bundles serves the bundle published last at any path, with its ETag
// (304 to a client that has it).
type Bundles struct {
	mu     sync.Mutex
	body   []byte
	etag   string
	failed int         // a status to answer with instead, from Fail
	served chan string // each ETag as it is served in full, once Watch is on
}

// Publish makes body the bundle served from now on, under etag (quoted, as
// HTTP has it: `"r1"`).
func (s *Bundles) Publish(body []byte, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag, s.failed = body, etag, 0
}

// Fail makes the server answer every request with status (a 500, say)
// until the next Publish; with Watch on, each answer counts as served
// under the ETag "status-<status>".
func (s *Bundles) Fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed, s.etag = status, fmt.Sprintf("status-%d", status)
}

// Watch starts recording each bundle served in full, for WaitServed.
func (s *Bundles) Watch() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.served == nil {
		s.served = make(chan string, 1024)
	}
}

func (s *Bundles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != 0 {
		if s.served != nil {
			select {
			case s.served <- s.etag:
			default:
			}
		}
		http.Error(w, "the bundle server is failing", s.failed)
		return
	}
	if r.Header.Get("If-None-Match") == s.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if s.served != nil {
		select { // never blocking the server, which holds s.mu
		case s.served <- s.etag:
		default:
		}
	}
	w.Header().Set("ETag", s.etag)
	w.Header().Set("Content-Type", "application/gzip")
	w.Write(s.body)
}

// WaitServed waits for the bundle under etag to have been served (Watch
// first); a hang fails the test.
func (s *Bundles) WaitServed(t testing.TB, etag string) {
	t.Helper()
	for {
		select {
		case got := <-s.served:
			if got == etag {
				return
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the bundle plugin never fetched %s", etag)
		}
	}
}

// Receiver is a decision-log and status service: OPA's plugins POST
// gzip'd JSON arrays of decision events to .../logs and status reports to
// .../status.
type Receiver struct {
	mu       sync.Mutex
	events   []map[string]any
	statuses []map[string]any
	notGzip  int
	changed  chan struct{} // a signal after each POST
}

// NewReceiver makes a receiver; serve it with net/http.
func NewReceiver() *Receiver { return &Receiver{changed: make(chan struct{}, 1)} }

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body := io.Reader(req.Body)
	gz := req.Header.Get("Content-Encoding") == "gzip"
	if gz {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	switch {
	case strings.HasSuffix(req.URL.Path, "/logs"):
		var batch []map[string]any
		if err := json.Unmarshal(raw, &batch); err != nil {
			r.mu.Unlock()
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !gz {
			r.notGzip++
		}
		r.events = append(r.events, batch...)
	case strings.HasSuffix(req.URL.Path, "/status"):
		var s map[string]any
		if err := json.Unmarshal(raw, &s); err == nil {
			r.statuses = append(r.statuses, s)
		}
	}
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Events is every decision event received so far, and how many uploads
// were not gzip'd.
func (r *Receiver) Events() (events []map[string]any, notGzip int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.events...), r.notGzip
}

// Wait waits until cond holds of what the receiver has; a hang fails.
func (r *Receiver) Wait(t testing.TB, what string, cond func(events, statuses []map[string]any) bool) {
	t.Helper()
	for {
		r.mu.Lock()
		ok := cond(r.events, r.statuses)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-time.After(60 * time.Second):
			t.Fatalf("the services never got %s", what)
		}
	}
}

// StatusIs is a Wait condition: a status report whose bundle name has
// revision active and whose isogate entry has state and a message holding
// message.
func StatusIs(bundle, revision, state, message string) func(_, statuses []map[string]any) bool {
	return func(_, statuses []map[string]any) bool {
		for _, s := range statuses {
			if At(s, "bundles", bundle, "active_revision") == revision && At(s, "plugins", "isogate", "state") == state &&
				strings.Contains(toString(At(s, "plugins", "isogate", "message")), message) {
				return true
			}
		}
		return false
	}
}

func toString(v any) string {
	s, _ := v.(string)
	return s
}

// At reads a member of a decoded JSON document by its path.
func At(v any, path ...string) any {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}
