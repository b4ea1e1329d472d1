// Package codes holds the codes a message can be rejected with: the one
// type the core's errors, the policy's verdicts and the frontend contract
// share (design.md). A code never changes meaning.
package codes

// Code is why a message was rejected, as the page sees it in error.code.
type Code string

const (
	Denied         Code = "denied"          // the policy said no
	InvalidArgs    Code = "invalid_args"    // the message or its args break its shape, schema or a limit
	UnknownCommand Code = "unknown_command" // no schema (or no handler) for the name
	HookRejected   Code = "hook_rejected"   // the isolation hook vetoed it
	TooLarge       Code = "too_large"       // over a size limit
	RateLimited    Code = "rate_limited"    // too many messages, or calls in flight
	Timeout        Code = "timeout"         // the handler ran out of time
	HandlerError   Code = "handler_error"   // the handler or backend failed
	Unavailable    Code = "unavailable"     // the core, backend or connection cannot take it now
)
