package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"ecredit/errs"
)

// migrations holds one folder per engine with the same version numbers.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// MigrationFS returns the embedded migrations of an engine ("sqlite" or
// "postgres").
func MigrationFS(engine string) (fs.FS, error) {
	d := sqliteDialect
	if engine == EnginePostgres {
		d = postgresDialect
	}
	return fs.Sub(migrations, d.dir)
}

// Migrate applies every pending migration. On PostgreSQL a session advisory
// lock keeps two processes from migrating at once.
func (db *DB) Migrate(ctx context.Context) error {
	const op = "sqlstore.Migrate"
	p, err := db.provider()
	if err != nil {
		return mapErr(op, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return mapErr(op, err)
	}
	return nil
}

// MigrateTo moves the schema up or down to version, one migration at a
// time (each in its transaction): down runs the migrations' Down parts,
// newest first, to give a previous release its schema back with the data
// in the form it reads.
func (db *DB) MigrateTo(ctx context.Context, version int64) error {
	const op = "sqlstore.MigrateTo"
	p, err := db.provider()
	if err != nil {
		return mapErr(op, err)
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return mapErr(op, err)
	}
	latest := int64(0)
	for _, s := range p.ListSources() {
		latest = max(latest, s.Version)
	}
	switch {
	case version < 0 || version > latest:
		return &errs.Error{Code: errs.Invalid, Op: op, Field: "to", Message: fmt.Sprintf("迁移版本须在 0 到 %d 之间 (version out of range)", latest)}
	case version < current:
		_, err = p.DownTo(ctx, version)
	case version > current:
		_, err = p.UpTo(ctx, version)
	}
	return mapErr(op, err)
}

// MigrationVersion returns the current schema version and the newest one
// the binary knows.
func (db *DB) MigrationVersion(ctx context.Context) (current, latest int64, err error) {
	const op = "sqlstore.MigrationVersion"
	p, err := db.provider()
	if err != nil {
		return 0, 0, mapErr(op, err)
	}
	if current, err = p.GetDBVersion(ctx); err != nil {
		return 0, 0, mapErr(op, err)
	}
	for _, s := range p.ListSources() {
		latest = max(latest, s.Version)
	}
	return current, latest, nil
}

func (db *DB) provider() (*goose.Provider, error) {
	fsys, err := MigrationFS(db.d.name)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithSlog(slog.New(slog.DiscardHandler))}
	if db.d.name == EnginePostgres {
		l, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	return goose.NewProvider(db.d.goose, db.w, fsys, opts...)
}
