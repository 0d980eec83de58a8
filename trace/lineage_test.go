package trace

import (
	"context"
	"errors"
	"testing"

	"ecredit/errs"
)

// TestGuardedTries: a lineage write the generation moved under is
// checked again, up to lineageTries times, then refused as a Conflict;
// a cancelled request stops waiting.
func TestGuardedTries(t *testing.T) {
	s := &Service{Store: &memStore{}}
	ctx := context.Background()
	run := func(ctx context.Context, moves int) (int, error) {
		n := 0
		err := s.guarded(ctx, func(int64) error {
			n++
			if n <= moves {
				return LineageMoved()
			}
			return nil
		})
		return n, err
	}
	if n, err := run(ctx, lineageTries-1); err != nil || n != lineageTries {
		t.Fatalf("moved %d times: %d tries, %v", lineageTries-1, n, err)
	}
	n, err := run(ctx, lineageTries)
	if n != lineageTries || !errs.Is(err, errs.Conflict) {
		t.Fatalf("moved every time: %d tries, %v", n, err)
	}
	other := errs.E(errs.Invalid, "cycle")
	calls := 0
	if err := s.guarded(ctx, func(int64) error { calls++; return other }); err != other || calls != 1 {
		t.Fatalf("another error: %d tries, %v", calls, err)
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	if n, err := run(c, lineageTries); n != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %d tries, %v", n, err)
	}
}

// TestPauseSteps: the step of a pause (which waits between half of it and
// all of it) doubles from 1 ms and stops at lineagePause.
func TestPauseSteps(t *testing.T) {
	for try, want := range map[int]int64{1: 1, 2: 2, 3: 4, 6: 32, 7: 40, 19: 40} {
		if got := pauseStep(try).Milliseconds(); got != want {
			t.Errorf("try %d: step %d ms, want %d", try, got, want)
		}
	}
}
