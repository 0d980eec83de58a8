package main

import (
	"context"
	"fmt"
	"io"

	"ecredit/sqlstore"
)

func runMigrate(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("migrate", "[--data DIR] [--db URL]",
		"执行全部未执行的数据库迁移并显示版本（serve 启动时也会自动迁移）。\n"+
			"Applies every pending database migration and prints the version (serve also migrates at start).",
		stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	cfg := sf.config(quietLogger(stderr))
	db, err := sqlstore.Open(ctx, cfg.DSN())
	if err != nil {
		return fail(stderr, err)
	}
	defer db.Close()
	before, _, err := db.MigrationVersion(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	if err := db.Migrate(ctx); err != nil {
		return fail(stderr, err)
	}
	current, latest, err := db.MigrationVersion(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "数据库 (%s) 迁移版本 %d → %d，最新 %d (migrated from version %d to %d, latest %d)\n",
		db.Engine(), before, current, latest, before, current, latest)
	return 0
}
