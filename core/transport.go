package core

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/crypto"
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

// readLoop opens frames in order (the replay window is per session), decides
// each message in turn and hands the allowed ones to their own goroutine for
// dispatch. A frame that does not open, or
// does not decode, ends the connection: the peer is not the iframe, or the
// iframe is broken, and nothing it sends can be trusted.
func (c *Core) readLoop(s *session, conn *websocket.Conn) {
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
		m, err := decodeMessage(plaintext, c.limits.MaxDepth)
		if err != nil && m == nil {
			c.dropConn(s, conn, websocket.StatusPolicyViolation, "undecodable message: "+err.Error())
			return
		}
		if err != nil {
			c.reply(s, conn, m.ID, nil, &Error{Code: CodeInvalidArgs, Message: err.Error()})
			continue
		}
		if blobs := m.blobBytes(); int64(len(plaintext)-blobs) > c.limits.MaxMessageBytes || int64(blobs) > c.limits.MaxBinaryBytes {
			c.reply(s, conn, m.ID, nil, &Error{Code: CodeTooLarge, Message: fmt.Sprintf("message is %d bytes of JSON and %d of binary", len(plaintext)-blobs, blobs)})
			continue
		}
		if !s.rate.allow() {
			c.reply(s, conn, m.ID, nil, &Error{Code: CodeRateLimited, Message: "too many messages; slow down"})
			continue
		}
		select {
		case s.slots <- struct{}{}:
		default:
			c.reply(s, conn, m.ID, nil, &Error{Code: CodeRateLimited, Message: "too many calls in flight"})
			continue
		}
		if err := c.decide(s, seq, m); err != nil {
			<-s.slots
			c.reply(s, conn, m.ID, nil, err)
			continue
		}
		go func() {
			defer func() { <-s.slots }()
			result, err := c.dispatch(s, m)
			c.reply(s, conn, m.ID, result, err)
		}()
	}
}

func (c *Core) dropConn(s *session, conn *websocket.Conn, code websocket.StatusCode, why string) {
	c.log.Warn("connection dropped", "session", s.id, "why", why)
	conn.Close(code, "")
}

// writeTimeout bounds one reply write: a peer that stops reading cannot pin
// a handler goroutine.
const writeTimeout = 10 * time.Second
