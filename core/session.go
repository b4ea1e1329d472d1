package core

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
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

var (
	errTooManySessions = errors.New("too many live sessions")
	errNotReading      = errors.New("the page is not reading what it is sent")
)

// session is one page load's isolation session.
type session struct {
	id      string // hex of keys.ID
	window  string // the label of the window the page was loaded in
	origin  string // that window's origin
	created time.Time
	keys    *crypto.Keys
	ctx     context.Context // cancelled when the session ends
	callCtx context.Context // ctx carrying the Caller, for handlers
	cancel  context.CancelFunc
	slots   chan struct{} // calls in flight
	calls   sync.Map      // call id -> *callCancel of an admitted call

	opener *crypto.Opener // used only by the one connection's read loop

	rate *bucket // messages per second from the page

	qmu      sync.Mutex // guards queue, buffered, writing
	queue    []outgoing // plaintexts waiting for send to write them
	buffered int64      // bytes queued or being written
	writing  bool       // a send is writing the queue
	maxBuf   int64      // Limits.MaxBufferedBytes

	current atomic.Pointer[websocket.Conn] // the connection, for closing it without s.mu

	sealer *crypto.Sealer // used only by the writer (drain)

	mu        sync.Mutex // guards claimed, conn, timer, listening, connected; never held across I/O
	claimed   bool       // a connection holds or is being upgraded for the session
	connected bool       // a connection was ever attached
	conn      *websocket.Conn
	timer     *time.Timer
	listening map[string]bool // events the policy let this page listen to

	tokMu  sync.Mutex
	tokens map[*Channel]bool // channels a backend holds a token for (Channel.Token)
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

// create makes a session of a window with fresh keys; it dies if nothing
// connects. With the table full, the oldest session that never connected
// makes room: a page that was served and never started its iframe (or a
// flood of them) cannot keep a real new page out.
func (ss *sessions) create(l Limits, window, origin string) (*session, [crypto.SecretSize]byte, error) {
	secret, id := crypto.NewSession()
	keys, err := crypto.DeriveKeys(secret[:], id)
	if err != nil {
		return nil, secret, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{
		id: hex.EncodeToString(id[:]), window: window, origin: origin, created: time.Now(),
		keys: keys, ctx: ctx, cancel: cancel, maxBuf: l.MaxBufferedBytes,
		slots:     make(chan struct{}, l.MaxInFlight),
		rate:      newBucket(l.RatePerSecond, l.RateBurst),
		listening: map[string]bool{},
		opener:    crypto.NewOpener(keys, crypto.ToCore),
		sealer:    crypto.NewSealer(keys, crypto.ToFrame),
	}
	s.callCtx = context.WithValue(ctx, callerKey{}, Caller{Session: s.id, Window: window}) // once, not per call
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= ss.max {
		if old := ss.oldestUnconnected(); old != nil {
			// Cancelled under its lock, so that a claim racing the
			// eviction either came first (and the session is skipped) or
			// sees the cancelled context and is refused.
			old.mu.Lock()
			if !old.connected && !old.claimed {
				old.cancel()
				old.timer.Stop()
				delete(ss.m, old.id)
				ss.log.Debug("session ended", "session", old.id, "why", "evicted: never connected, table full")
			}
			old.mu.Unlock()
		}
	}
	if len(ss.m) >= ss.max {
		cancel()
		return nil, secret, errTooManySessions
	}
	ss.m[s.id] = s
	s.timer = time.AfterFunc(connectGrace, func() { ss.end(s, "never connected") })
	return s, secret, nil
}

// oldestUnconnected is the session created first among those that never
// had a connection, or nil. ss.mu is held.
func (ss *sessions) oldestUnconnected() *session {
	var old *session
	for _, s := range ss.m {
		s.mu.Lock()
		idle := !s.connected && !s.claimed
		s.mu.Unlock()
		if idle && (old == nil || s.created.Before(old.created)) {
			old = s
		}
	}
	return old
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
	s.closeChannels()
	ss.log.Debug("session ended", "session", s.id, "why", why)
}

func (ss *sessions) closeAll() {
	ss.mu.Lock()
	all := ss.m
	ss.m = map[string]*session{}
	ss.mu.Unlock()
	for _, s := range all {
		s.mu.Lock()
		conn := s.conn
		s.timer.Stop()
		s.mu.Unlock()
		if conn != nil {
			conn.Close(websocket.StatusGoingAway, "shutting down")
		}
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
	s.connected = true
	s.current.Store(conn)
}

// release ends the claim; the session then waits reconnectGrace for another
// connection.
func (ss *sessions) release(s *session) {
	s.closeChannels() // the connection they could be sent on is gone; done before another can claim the session
	s.mu.Lock()
	defer s.mu.Unlock()
	s.claimed = false
	s.conn = nil
	s.current.Store(nil)
	s.timer = time.AfterFunc(reconnectGrace, func() { ss.end(s, "did not reconnect") })
}

// outgoing is a plaintext waiting to be sealed for a connection (nil: the
// session's connection at the time it is written).
type outgoing struct {
	conn      *websocket.Conn
	plaintext []byte
	done      chan struct{} // closed once it is written or dropped; may be nil
}

// maxBatchBytes bounds the JSON of one batch of replies and events.
const maxBatchBytes = 256 << 10

// enqueue adds plaintexts for conn (nil: the session's connection when they
// are written) to the queue, in order, and reports whether the caller is now
// the writer and must drain it; a writer already at work takes them along. Replies that become ready while a
// frame is being written therefore leave together in the next frame, as one
// {"type":"batch","messages":[...]}: under load the fixed cost of a frame
// (seal, write, and the iframe's decrypt) is paid once per batch, and an
// idle session sends each reply on its own at once. One writer at a
// time seals and writes, so frames stay in sequence order on the wire and a
// page that reads slowly holds one goroutine, not one per event.
// Plaintexts for a connection that is no longer the session's are dropped.
//
// What a session can make the core hold for it is bounded: when the bytes
// queued and being written would pass MaxBufferedBytes, the connection is
// closed (the page is not reading) and the iframe reconnects; the calls it
// had in flight settle unavailable there.
//
// done, if not nil, is closed once the last of them is written or dropped.
func (s *session) enqueue(conn *websocket.Conn, done chan struct{}, plaintexts ...[]byte) (bool, error) {
	var n int64
	for _, p := range plaintexts {
		n += int64(len(p))
	}
	s.qmu.Lock()
	if s.buffered > 0 && s.buffered+n > s.maxBuf {
		s.qmu.Unlock()
		if c := s.current.Load(); c != nil {
			c.Close(websocket.StatusPolicyViolation, "not reading")
		}
		if done != nil {
			close(done)
		}
		return false, errNotReading
	}
	for i, p := range plaintexts {
		o := outgoing{conn: conn, plaintext: p}
		if i == len(plaintexts)-1 {
			o.done = done
		}
		s.queue = append(s.queue, o)
	}
	s.buffered += n
	writer := !s.writing
	s.writing = true
	s.qmu.Unlock()
	return writer, nil
}

// drain writes the queue until it is empty; only the writer calls it. A
// panic on the way still hands the writer's role back and releases the
// bytes it held, so the session is not left silent.
func (s *session) drain() (firstErr error) {
	var queued []outgoing
	release := func() {
		var n int64
		for _, o := range queued {
			n += int64(len(o.plaintext))
			if o.done != nil {
				close(o.done)
			}
		}
		s.qmu.Lock()
		s.buffered -= n
		s.qmu.Unlock()
		queued = nil
	}
	defer func() {
		if r := recover(); r != nil {
			release()
			s.qmu.Lock()
			queued = s.queue // what others queued meanwhile is dropped with it
			s.queue = nil
			s.qmu.Unlock()
			release()
			s.qmu.Lock()
			s.writing = false
			s.qmu.Unlock()
			panic(r)
		}
	}()
	for {
		s.qmu.Lock()
		queued = s.queue
		s.queue = nil
		if len(queued) == 0 {
			s.writing = false
			s.qmu.Unlock()
			return firstErr
		}
		s.qmu.Unlock()
		if err := s.write(queued); firstErr == nil {
			firstErr = err
		}
		release()
	}
}

// write seals and writes queued plaintexts for the session's connection,
// each frame within writeTimeout: a peer that stops reading cannot pin the
// writer. Only the one writer (drain) calls it, so the sealer is used by
// one goroutine at a time and frames leave in sequence order; s.mu is held
// only to read the connection, never across a write, so a page that does
// not read stalls nothing but its own queue.
func (s *session) write(queued []outgoing) error {
	ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
	defer cancel()
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	var ready [][]byte
	for _, o := range queued {
		if conn != nil && (o.conn == nil || o.conn == conn) {
			ready = append(ready, o.plaintext)
		}
	}
	if len(ready) == 0 {
		return errors.New("not connected")
	}
	for _, p := range batches(ready, maxBatchBytes) {
		frame, err := s.sealer.Seal(nil, p)
		if err != nil {
			return err
		}
		if err := conn.Write(ctx, websocket.MessageBinary, frame); err != nil {
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
