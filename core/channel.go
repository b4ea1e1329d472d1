package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

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
	c  *Core
	s  *session
	id uint32

	mu     sync.Mutex
	next   uint64 // the index of the next message
	closed bool
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
	if ch.closed || ch.s.ctx.Err() != nil {
		ch.closed = true
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
	if !ch.c.write(ch.s, nil, true, joinPlaintext(b, blobs)) {
		ch.closed = true
		return ErrChannelClosed
	}
	ch.next++
	ch.closed = end
	return nil
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
func (c *Core) withTauri(ctx context.Context, s *session, m *message) context.Context {
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
		t.channels[ref] = &Channel{c: c, s: s, id: uint32(id)}
	}
	return context.WithValue(ctx, tauriKey{}, t)
}
