package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	_ "modernc.org/sqlite" // the embedded engine, for its version

	"ecredit/app"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = ""

// buildVersion returns the version from -ldflags, else from the build
// information (module version, or the VCS revision of a development build).
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if (v == "" || v == "(devel)") && rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return "devel-" + rev + modified
	}
	if v == "" {
		return "(devel)"
	}
	return v
}

func sqliteVersion(ctx context.Context) string {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return "?"
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v); err != nil {
		return "?"
	}
	return v
}

func runVersion(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("version", "", "显示版本、Go 版本与内置 SQLite 版本 (prints the version, the Go version and the embedded SQLite version)", stdout, stderr)
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	drv, libc := app.Versions()
	fmt.Fprintf(stdout, "ecredit %s\n", buildVersion())
	fmt.Fprintf(stdout, "go      %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, "sqlite  %s (modernc.org/sqlite %s, modernc.org/libc %s)\n", sqliteVersion(ctx), drv, libc)
	return 0
}
