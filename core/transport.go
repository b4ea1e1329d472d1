package core

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/codes"
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
		// In place: the frame is this read's own buffer, so a large binary
		// payload is not copied a second time.
		plaintext, seq, err := s.opener.OpenInPlace(frame)
		if err != nil {
			c.dropConn(s, conn, websocket.StatusPolicyViolation, "frame does not open")
			return
		}
		msgs, err := decodeFrame(plaintext, c.limits)
		if err != nil {
			c.dropConn(s, conn, websocket.StatusPolicyViolation, "undecodable message: "+err.Error())
			return
		}
		if len(msgs) > 0 && msgs[0].err != nil && msgs[0].err.Code == codes.TooLarge {
			c.log.Warn("frame over the size limits; each of its messages answered too_large", "session", s.id, "messages", len(msgs), "bytes", len(plaintext))
		}
		c.takeFrame(s, conn, seq, msgs)
	}
}

func (c *Core) dropConn(s *session, conn *websocket.Conn, code websocket.StatusCode, why string) {
	c.log.Warn("connection dropped", "session", s.id, "why", why)
	conn.Close(code, "")
}

// write queues plaintexts for conn (nil: the session's connection) and,
// when no write is under way, writes them: at once, or with async on a
// goroutine of its own, so that an emitter never waits on a slow page. It
// reports whether they were queued; a session over MaxBufferedBytes loses
// its connection instead.
func (c *Core) write(s *session, conn *websocket.Conn, async bool, plaintexts ...[]byte) bool {
	writer, err := s.enqueue(conn, nil, plaintexts...)
	if err != nil {
		c.log.Warn("connection dropped", "session", s.id, "why", err.Error())
		return false
	}
	switch {
	case writer && async:
		go c.drain(s)
	case writer:
		c.drain(s)
	}
	return true
}

// writeNotify queues plaintext for conn and returns a channel closed once
// it has been written or dropped; the writing happens on its own
// goroutine, so the caller can make the next one meanwhile.
func (c *Core) writeNotify(s *session, conn *websocket.Conn, plaintext []byte) <-chan struct{} {
	done := make(chan struct{})
	writer, err := s.enqueue(conn, done, plaintext)
	if err != nil {
		c.log.Warn("connection dropped", "session", s.id, "why", err.Error())
	} else if writer {
		go c.drain(s)
	}
	return done
}

// drain writes the session's queue. It also runs on timers and its own
// goroutines, where a panic would end the process: a panic closes the
// connection instead, and the iframe settles its calls and reconnects.
func (c *Core) drain(s *session) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("write panicked; connection closed", "session", s.id, "panic", fmt.Sprint(r))
			if cur := s.current.Load(); cur != nil {
				cur.Close(websocket.StatusInternalError, "")
			}
		}
	}()
	if err := s.drain(); err != nil {
		c.log.Debug("not sent", "session", s.id, "err", err)
	}
}

// writeTimeout bounds one reply write: a peer that stops reading cannot pin
// a handler goroutine.
const writeTimeout = 10 * time.Second
