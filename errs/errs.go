// Package errs is the one error type of ecredit. Every error a user can act on
// carries a Code (mapped to an HTTP status in exactly one table, in httpapi),
// the Field it is about when there is one, and a Message a person can read.
// Anything else is internal: logged with its cause, shown as "内部错误".
package errs

import (
	"errors"
	"fmt"
)

// Code classifies an error.
type Code string

const (
	Invalid      Code = "invalid"      // bad input; Field names what is wrong
	NotFound     Code = "not_found"    // no such object (or not visible to the caller)
	Conflict     Code = "conflict"     // duplicate, or a concurrent change
	Unauthorized Code = "unauthorized" // no or bad credentials
	Forbidden    Code = "forbidden"    // credentials fine, action not allowed
	TooLarge     Code = "too_large"    // body or batch over the limit
	RateLimited  Code = "rate_limited" // too many requests
	Unavailable  Code = "unavailable"  // a dependency (the database) is down
	Internal     Code = "internal"     // a bug or an unexpected failure
)

// Error is an application error.
type Error struct {
	Code    Code
	Op      string // the operation, e.g. "registry.CreateSubject"
	Field   string // the input field at fault, JSON name, dotted for nesting
	Message string // for people; Chinese first
	Err     error  // the cause, for logs
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Field != "" {
		s += " [" + e.Field + "]"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error of code with a formatted message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field builds an Invalid error about one input field.
func Field(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap marks err as internal to op unless it already is an *Error, in which
// case Op is filled in when empty.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if e.Op == "" {
			e.Op = op
		}
		return err
	}
	return &Error{Code: Internal, Op: op, Err: err}
}

// CodeOf returns the code of err; nil is "", a foreign error is Internal.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// MessageOf returns the message meant for people. Internal errors never leak
// their cause.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	return "内部错误，请稍后重试 (internal error)"
}

// FieldOf returns the field an error is about, or "".
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// List collects several field errors (a whole form or a batch line) into one.
type List []*Error

func (l List) Error() string {
	if len(l) == 0 {
		return "no errors"
	}
	s := l[0].Error()
	if len(l) > 1 {
		s += fmt.Sprintf(" (and %d more)", len(l)-1)
	}
	return s
}

// Err returns nil for an empty list, else an Invalid *Error whose first field
// and message are those of the first entry and whose cause is the list.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return &Error{Code: Invalid, Field: l[0].Field, Message: l[0].Message, Err: l}
}

// Add appends a field error.
func (l *List) Add(field, format string, args ...any) {
	*l = append(*l, Field(field, format, args...))
}

// All returns every field error inside err (a List cause), or err itself.
func All(err error) []*Error {
	var l List
	if errors.As(err, &l) {
		return l
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}
