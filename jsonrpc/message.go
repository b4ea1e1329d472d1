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
	JSONRPC string       `json:"jsonrpc"`
	ID      int64        `json:"id"`
	Method  string       `json:"method"`
	Params  any          `json:"params"`
	Meta    *core.Caller `json:"meta,omitempty"`
}

// newRequest is the JSON-RPC request for a call made with ctx.
func newRequest(ctx context.Context, id int64, method string, params any) request {
	r := request{JSONRPC: "2.0", ID: id, Method: method, Params: params}
	if c, ok := core.CallerFrom(ctx); ok {
		r.Meta = &c
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
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// outcome turns a response into the call's result or error.
func (m *message) outcome() (json.RawMessage, error) {
	if m.Error != nil {
		return nil, &core.Error{Code: codes.HandlerError, Message: m.Error.Message}
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
