package core

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/crypto"
	"github.com/isogate/isogate/isolation"
)

// How long a session lives without a connection: first to connect after its
// page was served, then to reconnect after a drop. After that its keys are
// forgotten and its handlers' contexts cancelled.
const (
	connectGrace   = isolation.FrameTTL + 10*time.Second
	reconnectGrace = 30 * time.Second
)

var errTooManySessions = errors.New("too many live sessions")

// session is one page load's isolation session.
type session struct {
	id     string // hex of keys.ID
	keys   *crypto.Keys
	ctx    context.Context // cancelled when the session ends
	cancel context.CancelFunc
	slots  chan struct{} // calls in flight

	opener *crypto.Opener // used only by the one connection's read loop

	rate *bucket // messages per second from the page

	qmu   sync.Mutex // guards queue
	queue []outgoing // plaintexts waiting for send to write them

	mu        sync.Mutex // guards sealer, claimed, conn, timer, listening
	sealer    *crypto.Sealer
	claimed   bool // a connection holds or is being upgraded for the session
	conn      *websocket.Conn
	timer     *time.Timer
	listening map[string]bool // events the policy let this page listen to
}

type sessions struct {
	log *slog.Logger
	max int
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(max int, log *slog.Logger) *sessions {
	return &sessions{log: log, max: max, m: map[string]*session{}}
}

// create makes a session with fresh keys; it dies if nothing connects.
func (ss *sessions) create(l Limits) (*session, [crypto.SecretSize]byte, error) {
	secret, id := crypto.NewSession()
	keys, err := crypto.DeriveKeys(secret[:], id)
	if err != nil {
		return nil, secret, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{
		id: hex.EncodeToString(id[:]), keys: keys, ctx: ctx, cancel: cancel,
		slots:     make(chan struct{}, l.MaxInFlight),
		rate:      newBucket(l.RatePerSecond, l.RateBurst),
		listening: map[string]bool{},
		opener:    crypto.NewOpener(keys, crypto.ToCore),
		sealer:    crypto.NewSealer(keys, crypto.ToFrame),
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= ss.max {
		cancel()
		return nil, secret, errTooManySessions
	}
	ss.m[s.id] = s
	s.timer = time.AfterFunc(connectGrace, func() { ss.end(s, "never connected") })
	return s, secret, nil
}

func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.m[id]
}

func (ss *sessions) end(s *session, why string) {
	ss.mu.Lock()
	delete(ss.m, s.id)
	ss.mu.Unlock()
	s.cancel()
	ss.log.Debug("session ended", "session", s.id, "why", why)
}

func (ss *sessions) closeAll() {
	ss.mu.Lock()
	all := ss.m
	ss.m = map[string]*session{}
	ss.mu.Unlock()
	for _, s := range all {
		s.mu.Lock()
		if s.conn != nil {
			s.conn.Close(websocket.StatusGoingAway, "shutting down")
		}
		s.timer.Stop()
		s.mu.Unlock()
		s.cancel()
	}
}

// claim reserves the session for one connection, before the upgrade, so a
// second handshake is refused rather than racing the first. A session has at
// most one connection.
func (s *session) claim() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claimed || s.ctx.Err() != nil {
		return false
	}
	s.claimed = true
	s.timer.Stop()
	return true
}

// attach binds the upgraded connection to the claimed session.
func (s *session) attach(conn *websocket.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn = conn
}

// release ends the claim; the session then waits reconnectGrace for another
// connection.
func (ss *sessions) release(s *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claimed = false
	s.conn = nil
	s.timer = time.AfterFunc(reconnectGrace, func() { ss.end(s, "did not reconnect") })
}

// outgoing is a plaintext waiting to be sealed for a connection (nil: the
// session's connection at the time it is written).
type outgoing struct {
	conn      *websocket.Conn
	plaintext []byte
}

// maxBatchBytes bounds the JSON of one batch of replies and events.
const maxBatchBytes = 256 << 10

// send queues plaintexts for conn, then writes everything queued, unless a
// send already writing takes it along. Replies that become ready while a
// frame is being written therefore leave together in the next frame, as one
// {"type":"batch","messages":[...]}: under load the fixed cost of a frame
// (seal, write, and the iframe's decrypt) is paid once per batch, and an
// idle session sends each reply on its own at once. Sealing and writing
// under s.mu keeps frames in sequence order on the wire. Plaintexts for a
// connection that is no longer the session's are dropped.
func (s *session) send(ctx context.Context, conn *websocket.Conn, plaintexts ...[]byte) error {
	s.qmu.Lock()
	for _, p := range plaintexts {
		s.queue = append(s.queue, outgoing{conn, p})
	}
	s.qmu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.qmu.Lock()
	queued := s.queue
	s.queue = nil
	s.qmu.Unlock()
	var ready [][]byte
	for _, o := range queued {
		if s.conn != nil && (o.conn == nil || o.conn == s.conn) {
			ready = append(ready, o.plaintext)
		}
	}
	if len(queued) > 0 && len(ready) == 0 {
		return errors.New("not connected")
	}
	for _, p := range batches(ready, maxBatchBytes) {
		frame, err := s.sealer.Seal(nil, p)
		if err != nil {
			return err
		}
		if err := s.conn.Write(ctx, websocket.MessageBinary, frame); err != nil {
			return err
		}
	}
	return nil
}

var (
	batchOpen  = []byte(`{"type":"batch","messages":[`)
	batchClose = []byte(`]}`)
)

// batches groups plaintexts, in order, into the plaintexts of frames:
// consecutive JSON messages go together as a batch while the batch stays
// within max bytes; a message with binary values, or one too big to share,
// goes alone.
func batches(ps [][]byte, max int) [][]byte {
	var out [][]byte
	var group [][]byte
	size := 0
	flush := func() {
		switch len(group) {
		case 0:
		case 1:
			out = append(out, group[0])
		default:
			b := make([]byte, 0, size+len(batchOpen)+len(batchClose))
			b = append(b, batchOpen...)
			for i, p := range group {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, p...)
			}
			out = append(out, append(b, batchClose...))
		}
		group, size = nil, 0
	}
	for _, p := range ps {
		alone := len(p) == 0 || p[0] == binaryForm || len(p)+len(batchOpen)+len(batchClose) > max
		if alone || size+len(p)+1+len(batchOpen)+len(batchClose) > max {
			flush()
		}
		if alone {
			out = append(out, p)
			continue
		}
		group = append(group, p)
		size += len(p) + 1
	}
	flush()
	return out
}

// listen records that the policy let the page listen to event.
func (s *session) listen(event string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listening[event] = true
}

func (s *session) listens(event string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listening[event]
}

// all returns the live sessions.
func (ss *sessions) all() []*session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	out := make([]*session, 0, len(ss.m))
	for _, s := range ss.m {
		out = append(out, s)
	}
	return out
}

// bucket is a token bucket: rate tokens a second, at most burst saved.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate, burst int) *bucket {
	return &bucket{rate: float64(rate), burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

func (b *bucket) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
