package core

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/crypto"
	"github.com/isogate/isogate/policy"
)

// serveTransport accepts the isolation iframe's WebSocket. Before upgrading
// it demands Origin "null" (what a sandboxed iframe sends; any page of any
// site sends its own origin instead) and the session's transport token,
// compared in constant time. Every refusal looks the same.
func (c *Core) serveTransport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s := c.sessions.get(q.Get("s"))
	auth, _ := base64.RawURLEncoding.DecodeString(q.Get("a"))
	switch {
	case r.Header.Get("Origin") != "null":
		c.refuse(w, r, "foreign origin")
		return
	case s == nil:
		c.refuse(w, r, "unknown session")
		return
	case subtle.ConstantTimeCompare(auth, s.keys.Auth[:]) != 1:
		c.refuse(w, r, "bad transport token")
		return
	}
	if !s.claim() {
		c.log.Warn("transport refused", "why", "session already connected", "session", s.id)
		http.Error(w, "session busy", http.StatusConflict)
		return
	}
	defer c.sessions.release(s)
	rc := http.NewResponseController(w) // the server's timeouts are for requests, not for a session's socket
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the Origin was checked above: "null" is the only one accepted
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		return
	}
	s.attach(conn)
	if c.observe != nil {
		c.observe("connected", s.id)
	}
	conn.SetReadLimit(c.limits.MaxMessageBytes + c.limits.MaxBinaryBytes + 5 + crypto.Overhead)
	c.readLoop(s, conn)
}

func (c *Core) refuse(w http.ResponseWriter, r *http.Request, why string) {
	c.log.Warn("transport refused", "why", why, "remote", r.RemoteAddr, "origin", r.Header.Get("Origin"))
	http.Error(w, "forbidden", http.StatusForbidden)
}

// readLoop opens frames in order (the replay window is per session) and takes
// each frame's messages (takeFrame). A frame that does not open, or does not
// decode, ends the connection: the peer is not the iframe, or the iframe is
// broken, and nothing it sends can be trusted.
func (c *Core) readLoop(s *session, conn *websocket.Conn) {
	// A bug met on the message path costs this connection, never the process
	// or a connection left open and silent: the iframe reconnects.
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("message path panicked; connection closed", "session", s.id, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			conn.Close(websocket.StatusInternalError, "")
		}
	}()
	ctx := s.ctx
	for {
		typ, frame, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageBinary {
			c.dropConn(s, conn, websocket.StatusUnsupportedData, "text frame")
			return
		}
		plaintext, seq, err := s.opener.Open(nil, frame)
		if err != nil {
			c.dropConn(s, conn, websocket.StatusPolicyViolation, "frame does not open")
			return
		}
		msgs, err := decodeFrame(plaintext, c.limits)
		if err != nil {
			c.dropConn(s, conn, websocket.StatusPolicyViolation, "undecodable message: "+err.Error())
			return
		}
		c.takeFrame(s, conn, seq, msgs)
	}
}

// takeFrame admits each message of a frame in turn, then dispatches the
// admitted ones, each on its own goroutine. All of a frame's messages are
// decided before any is dispatched, and the replies to a batch, refusals
// included, leave together.
func (c *Core) takeFrame(s *session, conn *websocket.Conn, seq uint64, msgs []decoded) {
	group := c.newReplyGroup(s, conn, len(msgs))
	var allowed []*message
	defer func() {
		if r := recover(); r != nil {
			for range allowed { // admitted, never dispatched: their slots go back
				<-s.slots
			}
			panic(r) // for readLoop, which closes the connection
		}
	}()
	for _, d := range msgs {
		if c.admit(s, seq, d, group) {
			allowed = append(allowed, d.m)
		}
	}
	for _, m := range allowed {
		if m.Kind == policy.KindListen {
			// In order, before anything after it runs: an event emitted by
			// a call sent after the listen reaches the page.
			c.dispatchAndReply(s, m, group)
			continue
		}
		go c.dispatchAndReply(s, m, group)
	}
	allowed = nil
}

// dispatchAndReply runs an admitted message and hands its reply to group.
// A panic outside the handler (encoding its result, say) still answers the
// call, with handler_error, and costs nothing else.
func (c *Core) dispatchAndReply(s *session, m *message, group *replyGroup) {
	defer func() { <-s.slots }()
	answered := false
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("dispatch panicked", "session", s.id, "name", m.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			if !answered {
				group.add(c.answer(s, m.ID, nil, &Error{Code: CodeHandler, Message: "command failed"}))
			}
		}
	}()
	result, err := c.dispatch(s, m)
	b := c.answer(s, m.ID, result, err)
	answered = true
	group.add(b)
}

// admit runs one decoded message through the transport's limits and the
// decision; anything refused is answered here, through the frame's group.
// It reports whether the message may be dispatched, holding one of the
// session's in-flight slots.
func (c *Core) admit(s *session, seq uint64, d decoded, group *replyGroup) bool {
	m := d.m
	refuse := func(err error) bool {
		group.add(c.answer(s, m.ID, nil, err))
		return false
	}
	// Every message costs a token, even one refused for its shape.
	if !s.rate.allow() {
		return refuse(&Error{Code: CodeRateLimited, Message: "too many messages; slow down"})
	}
	if d.err != nil {
		return refuse(d.err)
	}
	select {
	case s.slots <- struct{}{}:
	default:
		return refuse(&Error{Code: CodeRateLimited, Message: "too many calls in flight"})
	}
	defer func() {
		if r := recover(); r != nil {
			<-s.slots // the slot goes back with a panic in decide
			panic(r)
		}
	}()
	if err := c.decide(s, seq, m); err != nil {
		<-s.slots
		return refuse(err)
	}
	return true
}

func (c *Core) dropConn(s *session, conn *websocket.Conn, code websocket.StatusCode, why string) {
	c.log.Warn("connection dropped", "session", s.id, "why", why)
	conn.Close(code, "")
}

// writeTimeout bounds one reply write: a peer that stops reading cannot pin
// a handler goroutine.
const writeTimeout = 10 * time.Second
