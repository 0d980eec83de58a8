// Command scale measures ecredit's public reads at city scale: it builds (or
// reuses) a demo city of N subjects with N×R credit records, starts the real
// application on a loopback port and drives, with K concurrent clients for
// D seconds each,
//
//   - GET /api/v1/public/subjects/{code} (public JSON profile),
//   - GET /subjects/{id} (HTML profile),
//   - GET /api/v1/public/subjects?q=… (name search, 2–4 characters of real
//     names),
//
// and, as the ceiling of the same run, a bare net/http handler on another
// loopback port serving the bytes of one profile response. It reports per
// endpoint requests a second, p50, p99, errors and the ratio to the ceiling,
// on stdout and in OUT/scale-*.txt.
//
// The application's per-client rate limits are lifted (app.Config
// NoRateLimit): every request comes from 127.0.0.1, which the public limit
// would hold to a few requests a second.
//
// Usage:
//
//	go run ./bench/scale --subjects 100000 --records-per-subject 10 --data /tmp/city100k
//	go run ./bench/scale --data /tmp/city100k --clients 16 --duration 20s   # reuse the city
//	go run ./bench/scale --data /tmp/city100k --serve /tmp/urls             # for bench/load.sh (wrk)
//
// See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"ecredit/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	subjects, perSubject int
	data, db, out        string
	cpuProfile           string
	seed                 int64
	clients              int
	duration             time.Duration
	// serve: write URL lists to this directory and serve the city (and
	// the ceiling) for an outside load generator until interrupted.
	serve string
	urls  int
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.subjects, "subjects", 10000, "subjects of the city to generate (ignored when the store already holds a city)")
	fs.IntVar(&o.perSubject, "records-per-subject", 10, "credit records per subject: the city gets subjects × this many, spread over its organisations")
	fs.StringVar(&o.data, "data", "", "data directory (SQLite database, PII key, ledger key); required")
	fs.StringVar(&o.db, "db", "", "store DSN (postgres://…); empty: SQLite in --data")
	fs.StringVar(&o.out, "out", "bench/out", "directory for the scale-*.txt result file")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the load phase (server and clients) to this file")
	fs.Int64Var(&o.seed, "seed", 1, "generator seed")
	fs.IntVar(&o.clients, "clients", 2*runtime.GOMAXPROCS(0), "concurrent clients per endpoint")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each endpoint is driven")
	fs.StringVar(&o.serve, "serve", "", "serve an existing city for bench/load.sh instead of measuring: write URL lists and servers.env to this directory, then serve the application (rate limits lifted) and the ceiling until interrupted")
	fs.IntVar(&o.urls, "urls", 20000, "with --serve: paths written per endpoint")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.data == "":
		return o, errors.New("--data is required (use a directory outside the repository, e.g. /tmp/city)")
	case o.subjects < 1 || o.perSubject < 0:
		return o, errors.New("--subjects must be positive and --records-per-subject not negative")
	case o.clients < 1 || o.duration <= 0:
		return o, errors.New("--clients and --duration must be positive")
	case o.urls < 1:
		return o, errors.New("--urls must be positive")
	}
	return o, nil
}

// run builds or reuses the city, measures and writes the report.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (*Report, error) {
	o, err := parse(args, stderr)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Open(ctx, app.Config{DataDir: o.data, DB: o.db, Logger: log, NoRateLimit: true})
	if err != nil {
		return nil, err
	}
	defer a.Close()
	if o.serve != "" {
		return nil, serveForLoad(ctx, a, o, stderr)
	}
	city, err := buildCity(ctx, a, o.seed, o.subjects, o.perSubject, stderr)
	if err != nil {
		return nil, err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := measure(ctx, a, city, o.clients, o.duration, o.seed)
	if err != nil {
		return nil, err
	}
	rep.Engine, rep.Command = a.Store.Engine(), "go run ./bench/scale "+strings.Join(args, " ")
	text := rep.String()
	fmt.Fprint(stdout, text)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return rep, err
	}
	path := filepath.Join(o.out, "scale-"+time.Now().UTC().Format("20060102T150405Z")+".txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return rep, err
	}
	fmt.Fprintln(stderr, "scale: results in", path)
	return rep, nil
}
