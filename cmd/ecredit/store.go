package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"

	"ecredit/account"
	"ecredit/app"
)

// storeFlags are the flags of every subcommand that touches the store.
type storeFlags struct {
	data string
	db   string
}

const defaultData = "ecredit-data"

func (s *storeFlags) register(fs *flag.FlagSet) {
	data := os.Getenv("ECREDIT_DATA")
	if data == "" {
		data = defaultData
	}
	fs.StringVar(&s.data, "data", data,
		"数据目录：内置 SQLite 数据库、个人信息密钥、演示账户凭据 (data directory: embedded SQLite, PII key, demo credentials) [ECREDIT_DATA]")
	fs.StringVar(&s.db, "db", os.Getenv("ECREDIT_DB"),
		"数据库：postgres://… 或 SQLite 文件路径；默认为数据目录中的 ecredit.db (database: postgres://… or a SQLite file; default DATA/ecredit.db) [ECREDIT_DB]")
}

func (s *storeFlags) config(logger *slog.Logger) app.Config {
	return app.Config{DataDir: s.data, DB: s.db, Logger: logger}
}

// quietLogger logs warnings and errors only, for commands whose output is
// their result.
func quietLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// cliActor is who a command-line action is done by: the system, as the
// operating-system user, via "cli" (for the audit log).
func cliActor() account.Actor {
	a := account.System
	a.Via = "cli"
	name := strings.TrimSpace(os.Getenv("USER"))
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	if name != "" {
		a.Name = name
	}
	return a
}

// openStore opens the store and services for a command-line action.
func openStore(ctx context.Context, s *storeFlags, stderr io.Writer) (*app.App, context.Context, error) {
	a, err := app.OpenStore(ctx, s.config(quietLogger(stderr)))
	if err != nil {
		return nil, ctx, err
	}
	return a, account.With(ctx, cliActor()), nil
}
