package main

import (
	"context"
	"fmt"
	"io"

	"ecredit/sqlstore"
)

func runMigrate(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("migrate", "[--data DIR] [--db URL] [--to N]",
		"执行全部未执行的数据库迁移并显示版本（serve 启动时也会自动迁移）；--to N 升级或回退到版本 N（回退用于换回旧版程序，数据随之转换）。\n"+
			"Applies every pending database migration and prints the version (serve also migrates at start); --to N moves up or down to version N (down: to run an older release, the data converted back).",
		stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	to := fs.Int64("to", -1, "迁移到的版本，默认最新 (target version; default the latest)")
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
	if *to >= 0 {
		err = db.MigrateTo(ctx, *to)
	} else {
		err = db.Migrate(ctx)
	}
	if err != nil {
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
