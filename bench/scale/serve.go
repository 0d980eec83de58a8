package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ecredit/app"
)

// ServersFile is written last into the --serve directory: shell variable
// assignments naming the two servers, the signal that they are ready.
const ServersFile = "servers.env"

// serveForLoad serves an existing city for an outside load generator
// (bench/load.sh drives it with wrk): the application with its rate limits
// lifted on one loopback port, the ceiling (a bare net/http handler serving
// the bytes of one real profile response) on another. It writes, per
// endpoint, o.urls random paths (KEY.txt: profile, html, search), the
// ceiling's path (ceiling.txt) and then servers.env, and serves until ctx
// ends. It never builds a city.
func serveForLoad(ctx context.Context, a *app.App, o options, stderr io.Writer) error {
	n, err := a.Store.CountSubjects(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("the store holds no city; build one first (go run ./bench/scale --subjects N --data DIR); --serve never builds")
	}
	orgs, err := loadOrgs(ctx, a)
	if err != nil {
		return err
	}
	if len(orgs) == 0 {
		return fmt.Errorf("no subject with a credit code in the store")
	}
	records, err := countRecords(ctx, a)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := a.Server(ctx)
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	hc := &http.Client{Timeout: 30 * time.Second}
	sample := orgs[len(orgs)/2]
	samplePath := "/api/v1/public/subjects/" + url.PathEscape(sample.Code)
	body, ctype, err := fetch(ctx, hc, base+samplePath)
	if err != nil {
		return fmt.Errorf("sample profile: %w", err)
	}
	csrv, ceilBase, err := startCeiling(body, ctype)
	if err != nil {
		return err
	}
	defer csrv.Close()

	if err := os.MkdirAll(o.serve, 0o755); err != nil {
		return err
	}
	os.Remove(filepath.Join(o.serve, ServersFile))
	r := rand.New(rand.NewPCG(uint64(o.seed), 7))
	for _, e := range publicEndpoints(orgs) {
		var b strings.Builder
		for range o.urls {
			b.WriteString(e.path(r))
			b.WriteByte('\n')
		}
		if err := os.WriteFile(filepath.Join(o.serve, e.key+".txt"), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(o.serve, "ceiling.txt"), []byte(samplePath+"\n"), 0o644); err != nil {
		return err
	}
	env := fmt.Sprintf("APP=%s\nCEILING=%s\nCEILING_BYTES=%d\nSUBJECTS=%d\nORGS=%d\nRECORDS=%d\nENGINE=%s\n",
		base, ceilBase, len(body), n, len(orgs), records, a.Store.Engine())
	tmp := filepath.Join(o.serve, ServersFile+".tmp")
	if err := os.WriteFile(tmp, []byte(env), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(o.serve, ServersFile)); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "scale: serving %d subjects (%d organisations, %d records) at %s, ceiling at %s; URL lists in %s; interrupt to stop\n",
		n, len(orgs), records, base, ceilBase, o.serve)
	<-ctx.Done()
	return nil
}
