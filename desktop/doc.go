// Package desktop opens the served app in a desktop window with webview_go
// (WebKitGTK on Linux). It is the only cgo in isogate.
//
// It trusts nothing the page does and offers the page nothing: no function is
// bound with Bind, because in WebKitGTK any frame, sandboxed or not, can call
// a bound function and Go is not told which one did. Messages travel only on
// the gated path (bridge, isolation iframe, sealed WebSocket), exactly as in a
// browser.
//
// It guarantees two things webview_go does not: it checks that a display can
// be opened before creating a window (webview_go returns a wrapper around
// NULL otherwise, and the next call crashes), and it restores SA_ONSTACK on
// the signal handlers JavaScriptCore installs after the first page load, so a
// Go panic in a handler (a nil dereference is a SIGSEGV) stays a recoverable
// panic instead of killing the process.
package desktop
