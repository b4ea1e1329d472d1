package core

import "fmt"

// Codes a call can be rejected with. They are the frontend contract
// (design.md) and never change meaning.
const (
	CodeDenied      = "denied"
	CodeInvalidArgs = "invalid_args"
	CodeUnknown     = "unknown_command"
	CodeHook        = "hook_rejected"
	CodeTooLarge    = "too_large"
	CodeRateLimited = "rate_limited"
	CodeTimeout     = "timeout"
	CodeHandler     = "handler_error"
	CodeUnavailable = "unavailable"
)

// Error is a rejection whose Message is safe to show the page. A handler
// returns one to choose what the page sees; any other error reaches the page
// as handler_error with a generic message, and its text stays in the log.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns a handler_error whose message the page will see.
func Errorf(format string, a ...any) *Error {
	return &Error{Code: CodeHandler, Message: fmt.Sprintf(format, a...)}
}
