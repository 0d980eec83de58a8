// Package flight makes concurrent calls for the same key share one
// computation: an expensive read that many ask for at once (the first
// trace of a hot batch right after a recall, a big logistics firm's
// grade) is done once, not once a caller.
//
// The computation runs detached from the caller that started it (with its
// context's values, bounded by Timeout), so that this caller
// leaving does not fail the others; each caller still stops waiting when
// its own context ends. Callers share the result and must not change it.
// A panic in the computation is an internal error for every waiter, not
// the end of the process.
package flight

import (
	"context"
	"fmt"
	"sync"
	"time"

	"ecredit/errs"
)

// Timeout bounds one computation.
const Timeout = 2 * time.Minute

// Group shares computations of T by key. The zero value is ready.
type Group[T any] struct {
	mu    sync.Mutex
	calls map[string]*call[T]
}

type call[T any] struct {
	done   chan struct{}
	val    T
	err    error
	joined int // callers besides the first
}

// Do returns fn's result for key, running fn unless a call for key is in
// flight, whose result it then waits for. op names the computation in
// the errors (the first caller's op names a shared one).
func (g *Group[T]) Do(ctx context.Context, op, key string, fn func(context.Context) (T, error)) (T, error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[string]*call[T]{}
	}
	c := g.calls[key]
	if c != nil {
		c.joined++
	} else {
		c = &call[T]{done: make(chan struct{})}
		g.calls[key] = c
		go g.run(ctx, op, key, c, fn)
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero T
		return zero, &errs.Error{Code: errs.Unavailable, Op: op, Message: "请求已取消或超时 (request cancelled or timed out)", Err: ctx.Err()}
	}
}

func (g *Group[T]) run(ctx context.Context, op, key string, c *call[T], fn func(context.Context) (T, error)) {
	run, cancel := context.WithTimeout(context.WithoutCancel(ctx), Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			var zero T
			c.val, c.err = zero, &errs.Error{Code: errs.Internal, Op: op, Message: fmt.Sprintf("%s: %v", op, p)}
		}
		g.mu.Lock()
		delete(g.calls, key)
		g.mu.Unlock()
		close(c.done)
	}()
	c.val, c.err = fn(run)
	// Filled in before the error is shared, so that no caller's
	// errs.Wrap writes to it.
	c.err = errs.Wrap(op, c.err)
}

// Joined is how many callers wait on the call for key besides the first,
// -1 when none is in flight (for tests).
func (g *Group[T]) Joined(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.calls[key]; c != nil {
		return c.joined
	}
	return -1
}
