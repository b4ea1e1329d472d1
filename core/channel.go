package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/coder/websocket"
	"github.com/isogate/isogate/internal/jsonptr"
	"github.com/isogate/isogate/policy"
)

// A Tauri frontend passes Channels in a command's args, as the strings
// "__CHANNEL__:<id>" its tauri member points at (decode.go, tauriShape).
// Once the policy allowed the call, its handler may take each of them
// (ChannelOf) and send the page messages on it, in order, then close it:
//
//	{"type": "channel", "id": 17, "index": 0, "message": <value>}
//	{"type": "channel", "id": 17, "index": 3, "end": true}
//
// (docs/protocol.md). A channel reaches only the page that made the call,
// and only the ids that call carried: a handler cannot send on a channel
// of another call, another page, or one the page never made.

// Channel is one Tauri Channel of an allowed call.
type Channel struct {
	c    *Core
	s    *session
	conn *websocket.Conn // the connection the call came on: the iframe that knows the channel
	id   uint32

	mu     sync.Mutex
	next   uint64 // the index of the next message
	closed bool
	token  string // set once a backend was given it (Token)
}

// Token is a name for the channel a backend can send on (JSON-RPC's
// isogate.channel notification) without learning the page's id: 128
// random bits, good while the channel is open.
func (ch *Channel) Token() string {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.token == "" && !ch.closed && ch.s.addToken(ch) {
		b := make([]byte, 16)
		rand.Read(b)
		ch.token = hex.EncodeToString(b)
		channelTokens.Store(ch.token, ch)
	}
	return ch.token
}

// maxTokens bounds the channels with a backend's token one session holds
// open: a page repeating a call whose backend never closes its channel
// cannot grow the table without end. Past it, Token is "" (the backend
// cannot send on that one).
const maxTokens = 1024

func (s *session) addToken(ch *Channel) bool {
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	if s.tokens == nil {
		s.tokens = map[*Channel]bool{}
	}
	if len(s.tokens) >= maxTokens {
		return false
	}
	s.tokens[ch] = true
	return true
}

// closeChannels closes the session's channels a backend holds tokens for:
// its connection, on which alone they could be sent, is gone.
func (s *session) closeChannels() {
	s.tokMu.Lock()
	open := make([]*Channel, 0, len(s.tokens))
	for ch := range s.tokens {
		open = append(open, ch)
	}
	s.tokMu.Unlock()
	for _, ch := range open {
		ch.mu.Lock()
		ch.closeLocked()
		ch.mu.Unlock()
	}
}

// channelTokens are the open channels a backend was handed, by Token. One
// table for every Core in the process: a token is 128 random bits.
var channelTokens sync.Map

// ChannelByToken is the open channel a Token names.
func ChannelByToken(token string) (*Channel, bool) {
	v, ok := channelTokens.Load(token)
	if !ok {
		return nil, false
	}
	return v.(*Channel), true
}

// ErrChannelClosed is what Send returns after Close, or once the page that
// made the call has gone.
var ErrChannelClosed = errors.New("the channel is closed")

// Send sends v (any JSON value; []byte arrives as an ArrayBuffer) as the
// channel's next message.
func (ch *Channel) Send(v any) error {
	return ch.send(v, false)
}

// Close ends the channel: the page's Channel has all the messages before
// it, and is then dropped. Closing twice does nothing.
func (ch *Channel) Close() error {
	if err := ch.send(nil, true); err != nil && err != ErrChannelClosed {
		return err
	}
	return nil
}

// ID is the channel's id, as the page named it.
func (ch *Channel) ID() uint32 { return ch.id }

func (ch *Channel) send(v any, end bool) error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.closed || ch.s.ctx.Err() != nil || ch.s.current.Load() != ch.conn {
		ch.closeLocked() // that iframe is gone, and ended the page's channel
		return ErrChannelClosed
	}
	m := channelMsg{Type: "channel", ID: ch.id, Index: ch.next, End: end}
	var blobs [][]byte
	if !end {
		var value any
		value, m.Bin, blobs = splitBlobs(v)
		b, err := json.Marshal(value)
		if err != nil {
			return fmt.Errorf("channel message not encodable: %w", err)
		}
		if d := jsonDepth(b); d > ch.c.limits.MaxDepth {
			return fmt.Errorf("channel message nested %d deep; the limit is %d", d, ch.c.limits.MaxDepth)
		}
		m.Message = b
	}
	b, _ := json.Marshal(m)
	// Queued in order under the lock, written on another goroutine: a
	// page that reads slowly does not block the sender (the session's
	// buffer bound still holds).
	if !ch.c.write(ch.s, ch.conn, true, joinPlaintext(b, blobs)) {
		ch.closeLocked()
		return ErrChannelClosed
	}
	ch.next++
	if end {
		ch.closeLocked()
	}
	return nil
}

func (ch *Channel) closeLocked() {
	ch.closed = true
	if ch.token != "" {
		channelTokens.Delete(ch.token)
		ch.s.tokMu.Lock()
		delete(ch.s.tokens, ch)
		ch.s.tokMu.Unlock()
	}
}

type channelMsg struct {
	Type    string          `json:"type"`
	ID      uint32          `json:"id"`
	Index   uint64          `json:"index"`
	Message json.RawMessage `json:"message,omitempty"`
	End     bool            `json:"end,omitempty"`
	Bin     []binEntry      `json:"bin,omitempty"`
}

// TauriCall is what a handler's context says about a call from a Tauri
// frontend: its tauri member as the policy saw it.
type TauriCall struct {
	*policy.Tauri
	channels map[string]*Channel // "__CHANNEL__:<id>" -> its Channel
}

type tauriKey struct{}

// Channels are the call's channels by the string each became in the args.
func (t *TauriCall) Channels() map[string]*Channel { return t.channels }

// TauriFrom returns the Tauri side of a handler's call, if a Tauri
// frontend made it.
func TauriFrom(ctx context.Context) (*TauriCall, bool) {
	t, ok := ctx.Value(tauriKey{}).(*TauriCall)
	return t, ok
}

// ChannelOf returns the Channel that ref (the "__CHANNEL__:<id>" string in
// the call's args) names, or an error when the call carried no such
// channel.
func ChannelOf(ctx context.Context, ref any) (*Channel, error) {
	t, ok := TauriFrom(ctx)
	s, _ := ref.(string)
	if !ok || t.channels[s] == nil {
		return nil, Errorf("%v is not a channel of this call", ref)
	}
	return t.channels[s], nil
}

// withTauri puts m's Tauri side in ctx, with a Channel for each the call
// carried (tauriShape checked that each pointer names one).
func (c *Core) withTauri(ctx context.Context, s *session, conn *websocket.Conn, m *message) context.Context {
	if m.Tauri == nil {
		return ctx
	}
	t := &TauriCall{Tauri: m.Tauri, channels: map[string]*Channel{}}
	for _, p := range m.Tauri.Channels {
		toks, _ := jsonptr.Parse(p)
		parent, _ := jsonptr.Parent(m.Args, toks)
		v, _ := jsonptr.Get(parent, toks[len(toks)-1])
		ref, _ := v.(string)
		id, _ := strconv.ParseUint(strings.TrimPrefix(ref, "__CHANNEL__:"), 10, 32)
		t.channels[ref] = &Channel{c: c, s: s, conn: conn, id: uint32(id)}
	}
	return context.WithValue(ctx, tauriKey{}, t)
}

// impliedTauri is input.tauri for a message of a Tauri app's page that did
// not come through Tauri's API: the command Tauri would have made of it.
func impliedTauri(m *message) *policy.Tauri {
	cmd := m.Name
	switch m.Kind {
	case policy.KindListen:
		cmd = "plugin:event|listen"
	case policy.KindEvent:
		cmd = "plugin:event|emit"
	}
	t := policy.NewTauri(cmd)
	t.Raw = len(m.Bins) == 1 && len(m.Bins[0].path) == 0
	if m.Kind == policy.KindListen {
		t.Target = &policy.TauriTarget{Kind: "Any"}
	}
	return t
}
