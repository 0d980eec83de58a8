package par

import (
	"sync"
	"testing"
)

// Chunks covers every index once, in chunks of consecutive indexes,
// whether or not it splits the work.
func TestChunks(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 257, 1000, 1001, 5000} {
		var mu sync.Mutex
		seen := make([]int, n)
		calls := 0
		Chunks(n, func(lo, hi int) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if lo > hi || lo < 0 || hi > n {
				t.Errorf("n %d: chunk [%d, %d)", n, lo, hi)
				return
			}
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n %d: index %d seen %d times", n, i, c)
			}
		}
		if n < Min && calls != 1 {
			t.Errorf("n %d: %d calls, want 1 below Min", n, calls)
		}
	}
}
