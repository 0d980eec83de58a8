// Package par runs the independent parts of one request on several cores.
package par

import (
	"runtime"
	"sync"
)

// Min is the smallest n that Chunks splits: below it a goroutine costs
// more than the work it would take over.
const Min = 256

// Chunks calls fn for consecutive chunks [lo, hi) covering [0, n): on up
// to GOMAXPROCS goroutines (at most 4) when n is at least Min, else once,
// on this goroutine. It returns when every call has. fn must touch only
// what belongs to its chunk (and what no chunk writes).
func Chunks(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), 4, n/(Min/2))
	if n < Min || workers < 2 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	size := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += size {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+size, n))
	}
	wg.Wait()
}
