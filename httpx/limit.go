package httpx

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"ecredit/account"
	"ecredit/errs"
)

// Limiter is a per-client token bucket: each key (a client address, or an
// account when the caller is authenticated) gets Rate tokens a second up to
// Burst. Idle keys are evicted so that the map stays bounded.
type Limiter struct {
	rate  rate.Limit
	burst int

	// MaxKeys bounds the number of clients tracked (default 100 000). When
	// full, idle keys are evicted; if none is idle, the least recently seen
	// key is.
	MaxKeys int
	// Idle is how long a key may go unseen before it may be evicted
	// (default: the time to refill a full bucket, at least a minute).
	Idle time.Duration
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time

	mu   sync.Mutex
	keys map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter returns a limiter allowing perSecond requests a second per
// client, with bursts of burst.
func NewLimiter(perSecond float64, burst int) *Limiter {
	if burst < 1 {
		burst = 1
	}
	return &Limiter{rate: rate.Limit(perSecond), burst: burst, keys: map[string]*bucket{}}
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Limiter) idle() time.Duration {
	if l.Idle > 0 {
		return l.Idle
	}
	d := time.Minute
	if l.rate > 0 {
		if refill := time.Duration(float64(l.burst) / float64(l.rate) * float64(time.Second)); refill > d {
			d = refill
		}
	}
	return d
}

func (l *Limiter) maxKeys() int {
	if l.MaxKeys > 0 {
		return l.MaxKeys
	}
	return 100_000
}

// evict drops idle keys, or the least recently seen one when none is idle.
// Called with l.mu held.
func (l *Limiter) evict(now time.Time) {
	idle := l.idle()
	for k, b := range l.keys {
		if now.Sub(b.seen) >= idle {
			delete(l.keys, k)
		}
	}
	if len(l.keys) < l.maxKeys() {
		return
	}
	var oldest string
	var t time.Time
	for k, b := range l.keys {
		if oldest == "" || b.seen.Before(t) {
			oldest, t = k, b.seen
		}
	}
	delete(l.keys, oldest)
}

// Allow takes a token for key. When none is left it returns false and how
// long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.maxKeys() {
			l.evict(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.keys[key] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Hour
	}
	d := res.DelayFrom(now)
	res.CancelAt(now)
	return false, d
}

// Len is the number of clients tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// ClientKey is the default rate-limit key: the account when the caller is
// authenticated, else the client address.
func ClientKey(r *http.Request) string {
	if a := account.From(r.Context()); a.AccountID != 0 {
		return "account:" + strconv.FormatInt(a.AccountID, 10)
	}
	return "ip:" + ClientIP(r)
}

// Check takes a token for the caller of r (ClientKey). On refusal it sets
// Retry-After and returns an errs.RateLimited error for WriteError.
func (l *Limiter) Check(w http.ResponseWriter, r *http.Request) error {
	ok, wait := l.Allow(ClientKey(r))
	if ok {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return &errs.Error{Code: errs.RateLimited, Message: "请求过于频繁，请 " + strconv.Itoa(secs) + " 秒后重试 (rate limit exceeded, retry after " + strconv.Itoa(secs) + "s)"}
}

// Middleware refuses requests over the limit with 429 and a JSON error body.
func (l *Limiter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := l.Check(w, r); err != nil {
			WriteError(w, r, nil, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}
