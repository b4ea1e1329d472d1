package core

import (
	"context"
	"encoding/json"
)

// Upstream is an existing backend that allowed commands with no Go handler
// are forwarded to. Package jsonrpc has two: JSON-RPC 2.0 over HTTP and over
// a child process's stdio.
//
// Its lifecycle belongs to Serve. Start is called once, before anything is
// served, with the Emitter the backend uses to send events to pages; an
// error from Start ends Serve with it. Health is asked before each call: an
// error answers the call unavailable at once. Call may then be called from
// many goroutines; it returns an *Error to choose what the page sees (any
// other error is handler_error with a generic message). Stop is called once
// when Serve ends and waits until the backend is gone.
type Upstream interface {
	Start(ctx context.Context, emit Emitter) error
	Health() error
	Call(ctx context.Context, method string, params any) (json.RawMessage, error)
	Stop() error
}

// Emitter delivers an event to the pages a target names (Core.EmitTarget)
// and returns how many pages it was sent to.
type Emitter func(t Target, name string, payload any) int
