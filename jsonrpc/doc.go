// Package jsonrpc is isogate's backends that speak JSON-RPC 2.0: an HTTP
// endpoint (HTTP) or a child process on its stdin and stdout (Stdio). Each
// is a core.Upstream: set it as core.Config.Upstream, and the core forwards
// every allowed command that has no Go handler to it, with method = the
// command name, params = its args, and "meta": {"session", "window"} naming
// the page (core.Caller). The backend's notifications
//
//	{"jsonrpc": "2.0", "method": "isogate.emit", "params": {"event", "payload", "session"?, "window"?}}
//
// become events to the pages whose listen the policy allowed, limited to the
// session or window named (a name present but empty drops the event).
//
// Lifecycle, as core.Upstream defines it: Serve calls Start once before
// serving (Stdio starts its child there, and fails if it cannot), Health
// before each call (a Stdio child restarting answers unavailable at once),
// and Stop once at the end (Stdio kills its child and waits for it).
//
// Every failure of a backend reaches the page as a *core.Error: the
// backend's JSON-RPC error as handler_error with its message, a backend down,
// slow to read or answering garbage as unavailable. A reply larger than
// MaxReply is cut off, never buffered whole.
package jsonrpc
