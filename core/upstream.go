package core

import (
	"bytes"
	"context"
	"encoding/base64"
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

// rawResult is a backend's result, or the bytes it stands for when it is
// exactly {"$base64": "<standard base64>"}: JSON-RPC has no bytes, and a
// page (a Tauri invoke above all) gets raw bytes as an ArrayBuffer.
func rawResult(r json.RawMessage) any {
	if len(r) == 0 || r[0] != '{' || !bytes.Contains(r, []byte(`"$base64"`)) {
		return r
	}
	var v map[string]string
	if json.Unmarshal(r, &v) != nil || len(v) != 1 {
		return r
	}
	b, err := base64.StdEncoding.DecodeString(v["$base64"])
	if err != nil {
		return r
	}
	return b
}
