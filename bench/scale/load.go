package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"ecredit/app"
)

// Result is one endpoint's figures.
type Result struct {
	Name     string
	Requests int64 // completed with the expected status
	Errors   int64 // transport errors and unexpected statuses
	Elapsed  time.Duration
	P50, P99 time.Duration
	FirstErr string
}

// Rate is successful requests a second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Report is a whole run.
type Report struct {
	Command, Engine  string
	City             *City
	Clients          int
	Duration         time.Duration
	Ceiling          Result
	Endpoints        []Result
	CeilingBodyBytes int
}

// measure starts the application and the ceiling server on loopback ports
// and drives each endpoint in turn.
func measure(ctx context.Context, a *app.App, city *City, clients int, d time.Duration, seed int64) (*Report, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := a.Server(ctx)
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, IdleConnTimeout: time.Minute, DisableCompression: true}}
	defer hc.CloseIdleConnections()

	// The ceiling serves the bytes of one real profile response.
	sample := city.Orgs[len(city.Orgs)/2]
	body, ctype, err := fetch(ctx, hc, base+"/api/v1/public/subjects/"+url.PathEscape(sample.Code))
	if err != nil {
		return nil, fmt.Errorf("sample profile: %w", err)
	}
	csrv, ceilBase, err := startCeiling(body, ctype)
	if err != nil {
		return nil, err
	}
	defer csrv.Close()
	ceilURL := ceilBase + "/api/v1/public/subjects/" + sample.Code

	var endpoints []endpoint
	for _, e := range publicEndpoints(city.Orgs) {
		endpoints = append(endpoints, endpoint{e.name, func(r *rand.Rand) string { return base + e.path(r) }, e.key})
	}
	rep := &Report{City: city, Clients: clients, Duration: d, CeilingBodyBytes: len(body)}
	rep.Ceiling = drive(ctx, hc, "ceiling: bare net/http, same bytes", func(*rand.Rand) string { return ceilURL }, clients, d, seed)
	for i, e := range endpoints {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rep.Endpoints = append(rep.Endpoints, drive(ctx, hc, e.name, e.path, clients, d, seed+int64(i)+1))
	}
	return rep, nil
}

// endpoint is a driven route: its name and a random path (or URL) of it.
type endpoint struct {
	name string
	path func(r *rand.Rand) string
	key  string // short name: the URL list file of bench/load.sh
}

// publicEndpoints are the public reads measured, as random paths over the
// city's organisations: the JSON profile, the HTML profile and the name
// search (bench/load.sh drives the same paths with wrk).
func publicEndpoints(orgs []subject) []endpoint {
	return []endpoint{
		{"GET /api/v1/public/subjects/{code}", func(r *rand.Rand) string {
			return "/api/v1/public/subjects/" + url.PathEscape(orgs[r.IntN(len(orgs))].Code)
		}, "profile"},
		{"GET /subjects/{id} (HTML)", func(r *rand.Rand) string {
			return "/subjects/" + strconv.FormatInt(orgs[r.IntN(len(orgs))].ID, 10)
		}, "html"},
		{"GET /api/v1/public/subjects?q=", func(r *rand.Rand) string {
			return "/api/v1/public/subjects?q=" + url.QueryEscape(substring(orgs[r.IntN(len(orgs))].Name, r))
		}, "search"},
	}
}

// startCeiling serves body (with its content type) for every request on a
// loopback port: a bare net/http handler, the ceiling of the run. It
// returns the server and its base URL.
func startCeiling(body []byte, ctype string) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, "http://" + ln.Addr().String(), nil
}

// substring is a random run of 2–4 Chinese characters of name (the search
// wants at least two consecutive ones); the whole name when it has no such
// run.
func substring(name string, r *rand.Rand) string {
	var runs [][]rune
	var cur []rune
	for _, c := range name + " " {
		if unicode.Is(unicode.Han, c) {
			cur = append(cur, c)
			continue
		}
		if len(cur) >= 2 {
			runs = append(runs, cur)
		}
		cur = nil
	}
	if len(runs) == 0 {
		return name
	}
	rs := runs[r.IntN(len(runs))]
	n := min(2+r.IntN(3), len(rs))
	i := r.IntN(len(rs) - n + 1)
	return string(rs[i : i+n])
}

func fetch(ctx context.Context, hc *http.Client, u string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: %s: %.200s", u, resp.Status, b)
	}
	return b, resp.Header.Get("Content-Type"), nil
}

// drive runs clients goroutines requesting url(r) for d and collects the
// latencies of the successful requests.
func drive(ctx context.Context, hc *http.Client, name string, next func(*rand.Rand) string, clients int, d time.Duration, seed int64) Result {
	res := Result{Name: name}
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(seed), uint64(c)))
			var my []time.Duration
			var ok, bad int64
			var first string
			for time.Now().Before(deadline) && ctx.Err() == nil {
				u := next(r)
				t0 := time.Now()
				err := get(ctx, hc, u)
				if err != nil {
					bad++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				my = append(my, time.Since(t0))
				ok++
			}
			mu.Lock()
			lat = append(lat, my...)
			res.Requests += ok
			res.Errors += bad
			if res.FirstErr == "" {
				res.FirstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(lat)
	res.P50, res.P99 = quantile(lat, 0.50), quantile(lat, 0.99)
	return res
}

// get requests u and drains the body; anything but 200 is an error.
func get(ctx context.Context, hc *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.200s", u, resp.Status, b)
	}
	return nil
}

// quantile of sorted latencies (nearest rank); 0 when none.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// String is the report as text.
func (r *Report) String() string {
	var b strings.Builder
	c := r.City
	fmt.Fprintf(&b, "ecredit scale benchmark  %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "command:  %s\n", r.Command)
	fmt.Fprintf(&b, "engine:   %s; %s %s/%s, GOMAXPROCS %d; rate limits lifted (app.Config.NoRateLimit)\n",
		r.Engine, runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0))
	fmt.Fprintf(&b, "city:     %d subjects (%d organisations with a credit code), %d credit records\n", c.Subjects, len(c.Orgs), c.Records)
	if c.SubjectsMade > 0 {
		fmt.Fprintf(&b, "built:    %d subjects in %.1f s (%.0f/s)\n", c.SubjectsMade, c.SubjectTime.Seconds(), float64(c.SubjectsMade)/c.SubjectTime.Seconds())
	}
	if c.RecordsMade > 0 {
		fmt.Fprintf(&b, "built:    %d records via record.Service.IngestBatch in %.1f s (%.0f/s)\n", c.RecordsMade, c.RecordTime.Seconds(), float64(c.RecordsMade)/c.RecordTime.Seconds())
	}
	if !c.Built {
		b.WriteString("built:    no (reused the store's city)\n")
	}
	fmt.Fprintf(&b, "load:     %d concurrent keep-alive clients, %s per endpoint, loopback; ceiling body %d bytes\n\n", r.Clients, r.Duration, r.CeilingBodyBytes)
	fmt.Fprintf(&b, "%-40s %10s %10s %11s %11s %7s %8s\n", "endpoint", "requests", "req/s", "p50", "p99", "errors", "ratio")
	row := func(x Result) {
		ratio := "-"
		if cr := r.Ceiling.Rate(); cr > 0 {
			ratio = fmt.Sprintf("%.3f", x.Rate()/cr)
		}
		fmt.Fprintf(&b, "%-40s %10d %10.0f %11s %11s %7d %8s\n", x.Name, x.Requests, x.Rate(), ms(x.P50), ms(x.P99), x.Errors, ratio)
	}
	row(r.Ceiling)
	for _, e := range r.Endpoints {
		row(e)
	}
	for _, e := range append([]Result{r.Ceiling}, r.Endpoints...) {
		if e.FirstErr != "" {
			fmt.Fprintf(&b, "first error of %s: %s\n", e.Name, e.FirstErr)
		}
	}
	return b.String()
}
