package main

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// TestSmoke runs the whole harness on a tiny SQLite city, then again on the
// same data directory, which must be reused rather than regenerated. It
// checks that every endpoint answered and none failed (a rate limit left on
// would show as 429 errors), not how fast.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the application and drives it for a few seconds")
	}
	data, out := t.TempDir(), t.TempDir()
	args := []string{"--subjects", "200", "--records-per-subject", "2", "--duration", "1s", "--clients", "2", "--data", data, "--out", out}
	ctx := context.Background()

	rep, err := run(ctx, args, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.City.Built || rep.City.Subjects != 200 || rep.City.Records != 400 || rep.City.RecordsMade != 400 {
		t.Fatalf("city: built %v, %d subjects, %d records (%d made); want built, 200, 400",
			rep.City.Built, rep.City.Subjects, rep.City.Records, rep.City.RecordsMade)
	}
	check(t, rep)
	files, _ := filepath.Glob(filepath.Join(out, "scale-*.txt"))
	if len(files) != 1 {
		t.Fatalf("result files %v, want one", files)
	}
	text, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GET /api/v1/public/subjects/{code}", "GET /subjects/{id}", "GET /api/v1/public/subjects?q=", "ceiling", "400 credit records"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("result file lacks %q:\n%s", want, text)
		}
	}

	// A second run asking for a different city reuses the stored one.
	args[1] = "300"
	rep, err = run(ctx, args, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rep.City.Built || rep.City.Subjects != 200 || rep.City.Records != 400 {
		t.Fatalf("second run: built %v, %d subjects, %d records; want the stored 200/400 reused",
			rep.City.Built, rep.City.Subjects, rep.City.Records)
	}
	check(t, rep)

	serveSmoke(t, data)
}

// serveSmoke runs --serve (for bench/load.sh) on the city: the lists must
// hold paths that the application answers with 200, and the ceiling must
// serve the bytes of the sampled profile.
func serveSmoke(t *testing.T, data string) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := run(ctx, []string{"--data", data, "--serve", dir, "--urls", "5"}, io.Discard, io.Discard)
		done <- err
	}()
	var env string
	for range 300 {
		if b, err := os.ReadFile(filepath.Join(dir, ServersFile)); err == nil {
			env = string(b)
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("--serve stopped: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(env), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	if vars["APP"] == "" || vars["CEILING"] == "" || vars["SUBJECTS"] != "200" || vars["RECORDS"] != "400" {
		cancel()
		t.Fatalf("servers.env:\n%s", env)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	ceilPath, _ := os.ReadFile(filepath.Join(dir, "ceiling.txt"))
	want, _, err := fetch(ctx, hc, vars["APP"]+strings.TrimSpace(string(ceilPath)))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := fetch(ctx, hc, vars["CEILING"]+"/anything")
	// (a profile carries the time it was answered, so the bytes are those
	// of the sample taken at start, not of this fetch)
	code := filepath.Base(strings.TrimSpace(string(ceilPath)))
	if err != nil || len(want) == 0 || vars["CEILING_BYTES"] != strconv.Itoa(len(got)) || !strings.Contains(string(got), `"credit_code":"`+code+`"`) {
		t.Errorf("ceiling serves %d bytes (%v), want the %d of the sample profile of %s", len(got), err, len(want), code)
	}
	for _, key := range []string{"profile", "html", "search"} {
		b, err := os.ReadFile(filepath.Join(dir, key+".txt"))
		lines := strings.Fields(string(b))
		if err != nil || len(lines) != 5 {
			t.Fatalf("%s.txt: %d paths, %v", key, len(lines), err)
		}
		for _, p := range lines {
			if err := get(ctx, hc, vars["APP"]+p); err != nil {
				t.Errorf("%s: %v", key, err)
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("--serve: %v", err)
	}
}

func check(t *testing.T, rep *Report) {
	t.Helper()
	for _, r := range append([]Result{rep.Ceiling}, rep.Endpoints...) {
		if r.Requests == 0 || r.Rate() <= 0 || r.Errors != 0 {
			t.Errorf("%s: %d requests, %.0f/s, %d errors (first: %s); want some and no errors", r.Name, r.Requests, r.Rate(), r.Errors, r.FirstErr)
		}
	}
	if len(rep.Endpoints) != 3 {
		t.Errorf("%d endpoints measured, want 3", len(rep.Endpoints))
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--data is required"},
		{[]string{"--data", "/tmp/x", "--subjects", "0"}, "--subjects must be positive"},
		{[]string{"--data", "/tmp/x", "--clients", "0"}, "--clients and --duration"},
		{[]string{"--data", "/tmp/x", "extra"}, "unexpected argument"},
		{[]string{"--data", "/tmp/x", "--serve", "/tmp/u", "--urls", "0"}, "--urls must be positive"},
	} {
		_, err := parse(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%q) = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestSubstring(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ name, only string }{
		{"承德市双桥区山庄商贸有限公司", ""},
		{"物流（承德）有限公司", ""},
		{"京东", "京东"},
		{"ABC 公司", "公司"},
		{"ABC", "ABC"}, // no Chinese run: the whole name
	} {
		for range 50 {
			s := substring(tc.name, r)
			if tc.only != "" {
				if s != tc.only {
					t.Fatalf("substring(%q) = %q, want %q", tc.name, s, tc.only)
				}
				continue
			}
			n := utf8.RuneCountInString(s)
			if n < 2 || n > 4 || !strings.Contains(tc.name, s) {
				t.Fatalf("substring(%q) = %q, want 2–4 characters of it", tc.name, s)
			}
			for _, c := range s {
				if !unicode.Is(unicode.Han, c) {
					t.Fatalf("substring(%q) = %q holds a non-Chinese character", tc.name, s)
				}
			}
		}
	}
}
