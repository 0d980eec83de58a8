package trace

import (
	"context"
	"fmt"
	"sync"
	"time"

	"ecredit/errs"
)

// reachFlightTimeout bounds a shared reach computation, which runs
// detached from the callers' contexts (see reachFlight).
const reachFlightTimeout = 2 * time.Minute

// reachFlight makes concurrent calls for the same batch share one
// computation of its reach groups. The first trace of a big batch reads
// every one of its orders (seconds at 10 M orders); when many ask at
// once, say the public right after a recall, that is done once, not once
// a caller. The computation runs detached from the caller that started it
// (with its values, bounded by reachFlightTimeout), so that caller leaving
// does not fail the others; each caller still stops waiting when its own
// context ends. Callers share the returned groups and must not change
// them. The zero value is ready.
type reachFlight struct {
	mu    sync.Mutex
	calls map[string]*reachCall
}

type reachCall struct {
	done   chan struct{}
	groups []ReachGroup
	err    error
	joined int // callers besides the first (tests watch it)
}

// do returns fn's result for key, running fn unless a call for key is in
// flight, whose result it then waits for.
func (f *reachFlight) do(ctx context.Context, key string, fn func(context.Context) ([]ReachGroup, error)) ([]ReachGroup, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]*reachCall{}
	}
	c := f.calls[key]
	if c != nil {
		c.joined++
	} else {
		c = &reachCall{done: make(chan struct{})}
		f.calls[key] = c
		go func() {
			run, cancel := context.WithTimeout(context.WithoutCancel(ctx), reachFlightTimeout)
			defer cancel()
			defer func() {
				if p := recover(); p != nil {
					c.groups, c.err = nil, &errs.Error{Code: errs.Internal, Op: "trace.reach", Message: fmt.Sprintf("trace reach: %v", p)}
				}
				f.mu.Lock()
				delete(f.calls, key)
				f.mu.Unlock()
				close(c.done)
			}()
			c.groups, c.err = fn(run)
			// Filled in before the error is shared, so that no caller's
			// errs.Wrap writes to it.
			c.err = errs.Wrap("trace.reach", c.err)
		}()
	}
	f.mu.Unlock()
	select {
	case <-c.done:
		return c.groups, c.err
	case <-ctx.Done():
		return nil, &errs.Error{Code: errs.Unavailable, Op: "trace.reach", Message: "请求已取消或超时 (request cancelled or timed out)", Err: ctx.Err()}
	}
}

// joined is how many callers wait on the call for key besides the first,
// -1 when none is in flight.
func (f *reachFlight) joined(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.calls[key]; c != nil {
		return c.joined
	}
	return -1
}
