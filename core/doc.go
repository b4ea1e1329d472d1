// Package core is isogate's trusted side: it serves the wrapped app, on one
// loopback origin per window, to the browser or window it launched only
// (window.go: launch token, then cookie), makes one session per page load,
// accepts the isolation iframe's sealed frames and runs each message down
// one path:
//
//	transport limits -> crypto open (AEAD, replay window, session)
//	-> strict JSON decode -> schema -> policy -> handler -> sealed reply
//
// It trusts nothing that did not open with the session's to-core key: only
// the isolation iframe of that page load holds it, so a frame that opens has
// passed the iframe's checks. Even so, every check the iframe made is made
// again here. Any error rejects the message with a stable code; none panics,
// hangs or allows.
//
// The message path reads in call order: transport.go (handshake, read loop,
// frame write), decode.go (strict decoding against Limits), pipeline.go
// (admit, decide, dispatch, answer) and reply.go (reply batching);
// session.go holds each session's queue and single writer. Backends are an Upstream set in Config; package jsonrpc has the
// JSON-RPC ones. The core itself starts no process and opens no window: it
// imports neither os/exec nor package desktop (deps_test.go holds that).
package core
