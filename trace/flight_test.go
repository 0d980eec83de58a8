package trace

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecredit/errs"
)

// gatedStore sums a batch only once its gate is open, and counts the sums.
type gatedStore struct {
	Store   // only the methods below are called
	entered chan struct{}
	gate    chan struct{}
	sums    atomic.Int64
	panic   bool
}

func (g *gatedStore) LoadReach(context.Context, string) (*KeptReach, error) { return nil, nil }
func (g *gatedStore) SaveReach(context.Context, string, *KeptReach) error   { return nil }
func (g *gatedStore) BatchSpan(context.Context, []string, string) (int64, int64, int64, error) {
	return 1, 3, 3, nil
}

func (g *gatedStore) ReachGroups(ctx context.Context, gtins []string, batch string, after, upto int64) ([]ReachGroup, error) {
	g.sums.Add(1)
	g.entered <- struct{}{}
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if g.panic {
		panic("store broke")
	}
	return []ReachGroup{{PlatformID: 1, Region: "130802", ShopID: 2, SellerID: 3, Orders: 3, Quantity: 4, Lines: 3, MaxOrderID: 3}}, nil
}

// TestReachFlight: concurrent traces of one batch share one sum; the
// caller that started it may leave without failing the others; a caller
// that leaves gets Unavailable at once; once done, the next call sums
// again; a panic in the sum is an internal error for every caller.
func TestReachFlight(t *testing.T) {
	g := &gatedStore{entered: make(chan struct{}, 16), gate: make(chan struct{})}
	s := &Service{Store: g, ReachChunk: 1 << 30}
	gtins, batch := []string{"06901234567892", "6901234567892"}, "L1"
	key := "06901234567892,6901234567892/L1"
	const n = 8
	type result struct {
		gs  []ReachGroup
		err error
	}
	out := make([]result, n) // of callers 1 to n-1 (caller 0 starts the sum)
	first, leave := context.WithCancel(context.Background())
	firstErr := make(chan error, 1)
	go func() { _, err := s.reachGroups(first, gtins, batch); firstErr <- err }()
	<-g.entered
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Go(func() { out[i].gs, out[i].err = s.reachGroups(context.Background(), gtins, batch) })
	}
	// One more caller that gives up while the sum runs.
	impatient, giveUp := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { _, err := s.reachGroups(impatient, gtins, batch); gaveUp <- err }()
	waitJoined(t, s, key, n)
	giveUp()
	if err := <-gaveUp; errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("a caller that gave up: %v, want unavailable", err)
	}
	leave() // the caller that started the sum goes too, before it ends
	if err := <-firstErr; errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("the caller that started the sum and left: %v, want unavailable", err)
	}
	close(g.gate)
	wg.Wait()
	for i := 1; i < n; i++ {
		if out[i].err != nil || len(out[i].gs) != 1 || out[i].gs[0].Orders != 3 {
			t.Errorf("caller %d: %v %+v", i, out[i].err, out[i].gs)
		}
	}
	if got := g.sums.Load(); got != 1 {
		t.Fatalf("%d sums for %d concurrent callers, want 1", got, n+1)
	}
	if j := s.reachFlight.Joined(key); j != -1 {
		t.Fatalf("a call still in flight after all returned (%d joined)", j)
	}
	// Done: the next trace sums again (too small a batch to keep).
	if gs, err := s.reachGroups(context.Background(), gtins, batch); err != nil || !slices.Equal(gs, out[1].gs) {
		t.Fatalf("the next call: %v %+v", err, gs)
	}
	<-g.entered
	if got := g.sums.Load(); got != 2 {
		t.Fatalf("%d sums after a later call, want 2", got)
	}
	// A panic while summing fails every waiting caller, not the process.
	g.panic, g.gate = true, make(chan struct{})
	var perr [3]error
	wg.Go(func() { _, perr[0] = s.reachGroups(context.Background(), gtins, batch) })
	<-g.entered
	for i := 1; i < len(perr); i++ {
		wg.Go(func() { _, perr[i] = s.reachGroups(context.Background(), gtins, batch) })
	}
	waitJoined(t, s, key, len(perr)-1)
	close(g.gate)
	wg.Wait()
	for i, err := range perr {
		if errs.CodeOf(err) != errs.Internal {
			t.Errorf("caller %d after a panic: %v, want internal", i, err)
		}
	}
}

// waitJoined waits until n callers have joined the call for key (a
// minute at most: without the shared call they never do).
func waitJoined(t *testing.T, s *Service, key string, n int) {
	t.Helper()
	for end := time.Now().Add(time.Minute); s.reachFlight.Joined(key) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%d callers joined the call for %s, want %d", s.reachFlight.Joined(key), key, n)
		}
	}
}
