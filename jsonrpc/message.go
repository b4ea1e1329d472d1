package jsonrpc

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/isogate/isogate/codes"

	"github.com/isogate/isogate/core"
)

// MaxReply bounds one reply (or one line) from a backend: a runaway backend
// cannot exhaust the core's memory.
const MaxReply = 16 << 20

var errUnavailable = &core.Error{Code: codes.Unavailable, Message: "the backend is not available"}

type request struct {
	JSONRPC string `json:"jsonrpc"`
	ID      int64  `json:"id"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
	Meta    *meta  `json:"meta,omitempty"`
}

// meta is who made the call and, for a Tauri frontend's, its headers and
// a token for each Channel in its params (by the string the Channel
// became there), to send on with isogate.channel.
type meta struct {
	core.Caller
	Tauri *tauriMeta `json:"tauri,omitempty"`
}

type tauriMeta struct {
	Headers  map[string]string `json:"headers"`
	Channels map[string]string `json:"channels"`
}

// newRequest is the JSON-RPC request for a call made with ctx.
func newRequest(ctx context.Context, id int64, method string, params any) request {
	r := request{JSONRPC: "2.0", ID: id, Method: method, Params: params}
	if c, ok := core.CallerFrom(ctx); ok {
		r.Meta = &meta{Caller: c}
		if t, ok := core.TauriFrom(ctx); ok {
			tm := &tauriMeta{Headers: t.Headers, Channels: map[string]string{}}
			for ref, ch := range t.Channels() {
				tm.Channels[ref] = ch.Token()
			}
			r.Meta.Tauri = tm
		}
	}
	return r
}

// message is anything a backend sends: a response or a notification.
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      *int64          `json:"id"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   *struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"` // a Tauri frontend's invoke rejects with it
	} `json:"error"`
}

// outcome turns a response into the call's result or error.
func (m *message) outcome() (json.RawMessage, error) {
	if m.Error != nil {
		e := &core.Error{Code: codes.HandlerError, Message: m.Error.Message}
		if len(m.Error.Data) > 0 && string(m.Error.Data) != "null" {
			e.Value = m.Error.Data
		}
		return nil, e
	}
	if m.Result == nil {
		return nil, errUnavailable // neither result nor error: garbage
	}
	return m.Result, nil
}

// notification handles an isogate.emit notification; it reports whether m
// was one.
func notification(m *message, emit core.Emitter, log *slog.Logger) bool {
	if m.ID != nil || m.Method == "" {
		return false
	}
	if m.Method == "isogate.channel" {
		channelNotification(m, log)
		return true
	}
	if m.Method != "isogate.emit" {
		log.Warn("backend sent an unknown notification", "method", m.Method)
		return true
	}
	var p struct {
		Event   string  `json:"event"`
		Payload any     `json:"payload"`
		Session *string `json:"session"`
		Window  *string `json:"window"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil || p.Event == "" {
		log.Warn("backend sent a malformed isogate.emit", "err", err)
		return true
	}
	// A target named but empty is a mistake, not "everyone": dropped.
	var t core.Target
	for _, f := range []struct {
		v   *string
		dst *string
	}{{p.Session, &t.Session}, {p.Window, &t.Window}} {
		if f.v != nil && *f.v == "" {
			log.Warn("backend sent an isogate.emit with an empty target; dropped", "event", p.Event)
			return true
		}
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if emit != nil {
		emit(t, p.Event, p.Payload)
	}
	return true
}

// channelNotification sends on a Tauri Channel a call's meta named:
//
//	{"jsonrpc": "2.0", "method": "isogate.channel", "params": {"channel": "<token>", "message": <value>}}
//	{"jsonrpc": "2.0", "method": "isogate.channel", "params": {"channel": "<token>", "end": true}}
//
// A token that names no open channel is dropped, with a warning.
func channelNotification(m *message, log *slog.Logger) {
	var p struct {
		Channel string          `json:"channel"`
		Message json.RawMessage `json:"message"`
		End     bool            `json:"end"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil || p.Channel == "" || (p.End == (p.Message != nil)) {
		log.Warn("backend sent a malformed isogate.channel", "err", err)
		return
	}
	ch, ok := core.ChannelByToken(p.Channel)
	if !ok {
		log.Warn("backend sent on a channel that is not open; dropped")
		return
	}
	var err error
	if p.End {
		err = ch.Close()
	} else {
		err = ch.Send(p.Message)
	}
	if err != nil {
		log.Warn("backend's channel message not sent", "err", err)
	}
}
