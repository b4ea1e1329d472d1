// Package tauri is what a Go handler needs to serve a Tauri v2 frontend
// behind isogate (isogate run --tauri): the headers invoke sent, the
// Channels it passed, and an error value for invoke to reject with.
//
//	c.Handle("download", func(ctx context.Context, args any) (any, error) {
//		ch, err := tauri.Channel(ctx, args.(map[string]any)["onEvent"])
//		if err != nil {
//			return nil, err
//		}
//		defer ch.Close()
//		for i := range 3 {
//			ch.Send(map[string]any{"progress": i})
//		}
//		return nil, nil
//	})
//
// Everything here reaches only an allowed call: the policy decided it, with
// input.tauri, before the handler ran (docs/tauri.md).
package tauri

import (
	"context"

	"github.com/isogate/isogate/codes"
	"github.com/isogate/isogate/core"
)

// Headers are the headers the page's invoke passed (options.headers),
// names lowercase; nil when no Tauri frontend made the call.
func Headers(ctx context.Context) map[string]string {
	t, ok := core.TauriFrom(ctx)
	if !ok {
		return nil
	}
	return t.Headers
}

// Channel is the Channel ref names: the "__CHANNEL__:<id>" string a
// Channel became in the args. Only the call's own channels are there.
func Channel(ctx context.Context, ref any) (*core.Channel, error) {
	return core.ChannelOf(ctx, ref)
}

// Reject is an error whose value the page's invoke rejects with, as a Tauri
// command's Err(v) does (a string, most often, which Tauri apps render).
func Reject(v any) error {
	msg, ok := v.(string)
	if !ok {
		msg = "command failed"
	}
	return &core.Error{Code: codes.HandlerError, Message: msg, Value: v}
}
