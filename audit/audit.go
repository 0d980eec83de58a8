// Package audit is the append-only record of every write and every read of
// personal data: who, what, when, from where. Nothing in ecredit can delete
// or change an entry (the stores refuse it at the database level).
package audit

import (
	"context"
	"time"
)

// Entry is one audited action.
type Entry struct {
	ID        int64
	At        time.Time // set by the store from its clock when zero
	ActorID   int64     // account id; 0 for the public or the system
	ActorName string
	Role      string
	Action    string // see the Action constants
	Object    string // "subject:42", "account:3", "apikey:7"
	Detail    string // short, never personal data in clear
	Remote    string // client address
	RequestID string
	Via       string // api, console, cli, system
}

// Actions.
const (
	ActCreate       = "create"
	ActUpdate       = "update"
	ActVerify       = "verify"        // a real-name verification event
	ActReadPersonal = "read_personal" // personal data revealed
	ActLookup       = "lookup"        // search by ID / phone number (HMAC)
	ActLogin        = "login"
	ActLoginFailed  = "login_failed"
	ActLogout       = "logout"
	ActKeyCreate    = "key_create"
	ActKeyRevoke    = "key_revoke"
)

// Filter selects audit entries, newest first.
type Filter struct {
	ActorID int64
	Action  string
	Object  string
	Before  int64 // entry id cursor; 0 = from the newest
	Limit   int
}

// Store appends and reads audit entries. There is no delete.
type Store interface {
	// Append writes entries on their own (reads of personal data, logins).
	Append(ctx context.Context, e *Entry) error
	List(ctx context.Context, f Filter) ([]*Entry, error)
}
