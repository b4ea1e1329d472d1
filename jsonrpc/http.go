package jsonrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/isogate/isogate/codes"

	"github.com/isogate/isogate/core"
)

// HTTP posts each call to a JSON-RPC endpoint. The response body is the
// response object, or an array holding it and any isogate.emit
// notifications (an HTTP backend has no other way to speak first).
type HTTP struct {
	url    string
	client *http.Client
	log    *slog.Logger
	emit   atomic.Pointer[core.Emitter]
	nextID atomic.Int64
}

// NewHTTP returns a backend posting to url with client (nil:
// http.DefaultClient's settings in a client of its own).
func NewHTTP(url string, client *http.Client, log *slog.Logger) *HTTP {
	if client == nil {
		client = &http.Client{}
	}
	if log == nil {
		log = slog.Default()
	}
	return &HTTP{url: url, client: client, log: log}
}

// Start keeps emit for the backend's notifications. An HTTP backend has
// nothing to start: whether it is reachable is found per call.
func (u *HTTP) Start(_ context.Context, emit core.Emitter) error {
	u.emit.Store(&emit)
	return nil
}

// Health is always nil: an unreachable endpoint fails its call unavailable.
func (u *HTTP) Health() error { return nil }

// Stop closes the client's idle connections.
func (u *HTTP) Stop() error {
	u.client.CloseIdleConnections()
	return nil
}

// Call posts one call and waits for its response.
func (u *HTTP) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	id := u.nextID.Add(1)
	body, err := json.Marshal(newRequest(ctx, id, method, params))
	if err != nil {
		return nil, &core.Error{Code: codes.InvalidArgs, Message: "args cannot be encoded"}
	}
	req, err := http.NewRequestWithContext(ctx, "POST", u.url, bytes.NewReader(body))
	if err != nil {
		return nil, errUnavailable
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := u.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		u.log.Warn("backend unreachable", "url", u.url, "err", err)
		return nil, errUnavailable
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxReply+1))
	if err != nil || len(b) > MaxReply || resp.StatusCode != http.StatusOK {
		u.log.Warn("backend answered badly", "url", u.url, "status", resp.StatusCode, "bytes", len(b), "err", err)
		return nil, errUnavailable
	}
	var msgs []message
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte("[")) {
		err = json.Unmarshal(b, &msgs)
	} else {
		msgs = make([]message, 1)
		err = json.Unmarshal(b, &msgs[0])
	}
	if err != nil {
		u.log.Warn("backend answered garbage", "url", u.url, "err", err)
		return nil, errUnavailable
	}
	var emit core.Emitter
	if e := u.emit.Load(); e != nil {
		emit = *e
	}
	var reply *message
	for i := range msgs {
		m := &msgs[i]
		if notification(m, emit, u.log) {
			continue
		}
		if m.ID != nil && *m.ID == id && reply == nil {
			reply = m
		}
	}
	if reply == nil {
		u.log.Warn("backend answered without a response to the call", "url", u.url, "id", id)
		return nil, errUnavailable
	}
	return reply.outcome()
}
