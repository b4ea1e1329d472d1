package core

import (
	"fmt"

	"github.com/isogate/isogate/codes"
)

// Error is a rejection whose Message is safe to show the page. A handler
// returns one to choose what the page sees; any other error reaches the page
// as handler_error with a generic message, and its text stays in the log.
type Error struct {
	Code    codes.Code
	Message string
	// Value, when set, is what a Tauri frontend's invoke rejects with (the
	// Err of a Tauri command's Result): any JSON value. Others see Code
	// and Message.
	Value any
	// Reasons, when set, are the policy's reasons for a refusal; the page
	// gets them as error.reasons (and a refused HTTP request in its
	// problem+json body).
	Reasons []string
}

// Error is "code: message".
func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errorf returns a handler_error whose message the page will see.
func Errorf(format string, a ...any) *Error {
	return &Error{Code: codes.HandlerError, Message: fmt.Sprintf(format, a...)}
}
