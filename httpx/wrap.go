package httpx

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxBody is the request body limit when Options.MaxBody is 0.
const DefaultMaxBody = 1 << 20

// Recommended server limits for the http.Server that serves Wrap (set by
// the app): slow clients cannot hold connections open forever.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 60 * time.Second
	WriteTimeout      = 120 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 64 << 10
)

// ContentSecurityPolicy is sent on every response: everything from our own
// origin only, no inline script or style, no framing.
const ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

// Options configures Wrap.
type Options struct {
	// Logger receives the access log and panics; nil means slog.Default().
	Logger *slog.Logger
	// Registry receives the HTTP metrics; nil means no metrics. Use a
	// registry of your own, not the global default.
	Registry prometheus.Registerer
	// TrustedProxies are the networks whose X-Forwarded-For / X-Real-IP
	// headers are believed (e.g. the Nginx in front). Empty: none.
	TrustedProxies []netip.Prefix
	// MaxBody limits request bodies (default 1 MiB). A handler may raise the
	// limit of one request with SetBodyLimit before it reads the body.
	MaxBody int64
	// NoAccessLog turns the per-request log line off (benchmarks).
	NoAccessLog bool
}

// ParseCIDRs parses a list of CIDRs or single addresses (for
// Options.TrustedProxies), naming the first bad entry.
func ParseCIDRs(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %v", s, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %v", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// info is the per-request state Wrap puts in the context. Inner handlers
// fill in what only they know (the route pattern, a raised body limit).
type info struct {
	id       string
	clientIP string

	mu       sync.Mutex
	route    string
	redact   bool
	limit    int64
	bodyRead bool
}

type ctxKey struct{}

func infoOf(r *http.Request) *info {
	if r == nil {
		return nil
	}
	i, _ := r.Context().Value(ctxKey{}).(*info)
	return i
}

// RequestID returns the id of the request ("" outside Wrap).
func RequestID(r *http.Request) string {
	if i := infoOf(r); i != nil {
		return i.id
	}
	return ""
}

// RequestIDFrom returns the request id carried by ctx ("" if none).
func RequestIDFrom(ctx context.Context) string {
	if i, ok := ctx.Value(ctxKey{}).(*info); ok {
		return i.id
	}
	return ""
}

// NoteRoute records the route pattern that served r (r.Pattern after a
// ServeMux routed it) for the metrics and the access log. Handlers behind a
// mux that Wrap does not see directly call it after routing.
func NoteRoute(r *http.Request) {
	if i := infoOf(r); i != nil && r.Pattern != "" {
		i.mu.Lock()
		i.route = r.Pattern
		i.mu.Unlock()
	}
}

// RedactPath asks the access log to log the route pattern instead of the
// path of r, because the path holds personal data (an ID number to check).
func RedactPath(r *http.Request) {
	if i := infoOf(r); i != nil {
		i.mu.Lock()
		i.redact = true
		i.mu.Unlock()
	}
}

// SetBodyLimit changes the body limit of r (e.g. raises it for a batch
// upload). It has effect only before the body is first read and only inside
// Wrap; it reports whether it took effect.
func SetBodyLimit(r *http.Request, n int64) bool {
	i := infoOf(r)
	if i == nil {
		return false
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.bodyRead {
		return false
	}
	i.limit = n
	return true
}

// lazyLimit applies http.MaxBytesReader with the limit current at the first
// read, so that SetBodyLimit can change it until then.
type lazyLimit struct {
	w    http.ResponseWriter
	body io.ReadCloser
	i    *info
	rc   io.ReadCloser
}

func (l *lazyLimit) Read(p []byte) (int, error) {
	if l.rc == nil {
		l.i.mu.Lock()
		l.i.bodyRead = true
		n := l.i.limit
		l.i.mu.Unlock()
		l.rc = http.MaxBytesReader(l.w, l.body, n)
	}
	return l.rc.Read(p)
}

func (l *lazyLimit) Close() error { return l.body.Close() }

func newRequestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// validRequestID accepts an incoming X-Request-ID of 1–64 characters of
// [A-Za-z0-9-_].
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// recorder remembers the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *recorder) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, src)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	return &metrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecredit_http_requests_total",
			Help: "HTTP requests by route pattern, method and status class.",
		}, []string{"route", "method", "code"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ecredit_http_request_duration_seconds",
			Help:    "HTTP request duration by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"})),
	}
}

// metricMethod bounds the method label.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return fmt.Sprintf("%dxx", code/100)
}

func loggedPath(r *http.Request) string {
	if i := infoOf(r); i != nil {
		i.mu.Lock()
		defer i.mu.Unlock()
		if i.redact {
			if i.route != "" {
				return "[" + i.route + "]"
			}
			return "[redacted]"
		}
	}
	return maskDigits(r.URL.Path)
}

// maskDigits hides runs of 11 or more digits (an ID or phone number typed
// into a URL) in a logged path.
func maskDigits(p string) string {
	run := 0
	for i := 0; i <= len(p); i++ {
		if i < len(p) && p[i] >= '0' && p[i] <= '9' {
			run++
			continue
		}
		if run >= 11 {
			return maskDigitsSlow(p)
		}
		run = 0
	}
	return p
}

func maskDigitsSlow(p string) string {
	var b strings.Builder
	start := -1
	flush := func(end int) {
		if end-start >= 11 {
			b.WriteString(p[start:start+3] + "…")
		} else {
			b.WriteString(p[start:end])
		}
		start = -1
	}
	for i := 0; i < len(p); i++ {
		if p[i] >= '0' && p[i] <= '9' {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			flush(i)
		}
		b.WriteByte(p[i])
	}
	if start >= 0 {
		flush(len(p))
	}
	return b.String()
}

// SecurityHeaders sets the headers every response carries.
func SecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
}

// Wrap is the outermost middleware: request id, client address, security
// headers, body limit, panic recovery, access log and metrics.
func Wrap(h http.Handler, o Options) http.Handler {
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	maxBody := o.MaxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	m := newMetrics(o.Registry)
	trusted := o.TrustedProxies
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = newRequestID()
		}
		inf := &info{id: id, clientIP: clientIP(r, trusted), limit: maxBody}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, inf))
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &lazyLimit{w: w, body: r.Body, i: inf}
		}
		SecurityHeaders(w.Header())
		w.Header().Set("X-Request-ID", id)
		rec := &recorder{ResponseWriter: w}

		defer func() {
			p := recover()
			if p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.ErrorContext(r.Context(), "panic", "request_id", id, "method", r.Method, "path", loggedPath(r),
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.status == 0 {
					writePanic(rec, r)
				}
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			inf.mu.Lock()
			route := inf.route
			inf.mu.Unlock()
			if route == "" {
				route = r.Pattern
			}
			if route == "" {
				route = "other"
			}
			d := time.Since(start)
			if m != nil {
				method := metricMethod(r.Method)
				m.requests.WithLabelValues(route, method, statusClass(status)).Inc()
				m.duration.WithLabelValues(route, method).Observe(d.Seconds())
			}
			if !o.NoAccessLog {
				level := slog.LevelInfo
				if status >= 500 {
					level = slog.LevelError
				}
				logger.LogAttrs(r.Context(), level, "http",
					slog.String("method", r.Method), slog.String("path", loggedPath(r)), slog.String("route", route),
					slog.Int("status", status), slog.Int64("bytes", rec.bytes),
					slog.Duration("duration", d), slog.String("request_id", id), slog.String("client_ip", inf.clientIP))
			}
		}()
		h.ServeHTTP(rec, r)
	})
}

func writePanic(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		WriteJSON(w, http.StatusInternalServerError, ErrorBody{Error: ErrorInfo{Code: "internal",
			Message: "内部错误，请稍后重试 (internal error)", RequestID: RequestID(r)}})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, "内部错误，请稍后重试 (internal error) — 请求编号 "+RequestID(r)+"\n")
}

func wantsJSON(r *http.Request) bool {
	p := r.URL.Path
	return strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/metrics" ||
		strings.Contains(r.Header.Get("Accept"), "application/json")
}
