package core

import (
	"sync"
	"time"

	"github.com/coder/websocket"
)

// groupWait is the longest a reply to a message of a batch is held back.
const groupWait = 2 * time.Millisecond

// replyGroup gathers the replies to one frame's messages so that they leave
// together: a ready reply waits until all the others are ready, or at most
// groupWait, and everything ready by then leaves in one frame. The iframe
// then opens, checks and relays one frame for many calls instead of one
// each. The reply to a message sent alone is the last one outstanding, so it
// is never held.
type replyGroup struct {
	c       *Core
	s       *session
	conn    *websocket.Conn
	mu      sync.Mutex
	waiting int      // replies not yet ready
	ready   [][]byte // ready and held
	timer   *time.Timer
}

// newReplyGroup returns the group for the n replies to a frame's messages,
// sent on conn, the connection the frame came on.
func (c *Core) newReplyGroup(s *session, conn *websocket.Conn, n int) *replyGroup {
	return &replyGroup{c: c, s: s, conn: conn, waiting: n}
}

// add holds one reply's plaintext, or sends everything held when it was the
// last one outstanding.
func (g *replyGroup) add(b []byte) {
	g.mu.Lock()
	g.waiting--
	g.ready = append(g.ready, b)
	if g.waiting > 0 {
		if g.timer == nil {
			g.timer = time.AfterFunc(g.c.groupWait, g.flush)
		}
		g.mu.Unlock()
		return
	}
	if g.timer != nil {
		g.timer.Stop()
	}
	g.mu.Unlock()
	g.flush()
}

// flushWith sends b, one reply's plaintext, now, with everything held:
// the reply that announces a stream must be out before its data.
func (g *replyGroup) flushWith(b []byte) {
	g.mu.Lock()
	g.waiting--
	ready := append(g.ready, b) // taken with the lock: a timer's flush cannot take b and queue it later
	g.ready = nil
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	g.mu.Unlock()
	g.c.write(g.s, g.conn, false, ready...)
}

// flush sends what is held; the next reply to come starts a new wait.
func (g *replyGroup) flush() {
	g.mu.Lock()
	ready := g.ready
	g.ready = nil
	g.timer = nil
	g.mu.Unlock()
	if len(ready) > 0 {
		g.c.write(g.s, g.conn, false, ready...)
	}
}
