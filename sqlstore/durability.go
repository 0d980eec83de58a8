package sqlstore

import (
	"context"
	"strconv"
	"strings"
)

// pgDurability are the PostgreSQL settings a durable commit needs on.
var pgDurability = []string{"fsync", "synchronous_commit", "full_page_writes"}

// DurabilityGaps names the settings under which a commit the store
// acknowledges may be lost or the database damaged by an OS crash or a
// power cut: on PostgreSQL fsync, synchronous_commit (off; local and the
// remote levels are durable here) and full_page_writes off; on SQLite a
// writer not syncing each commit (synchronous below FULL, which Open
// sets). Empty means durable.
func (db *DB) DurabilityGaps(ctx context.Context) ([]string, error) {
	const op = "sqlstore.DurabilityGaps"
	settings := map[string]string{}
	if db.d.name == EnginePostgres {
		for _, name := range pgDurability {
			var v string
			if err := db.r.QueryRowContext(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
				return nil, mapErr(op, err)
			}
			settings[name] = v
		}
	} else {
		var v string
		if err := db.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&v); err != nil {
			return nil, mapErr(op, err)
		}
		settings["synchronous"] = v
	}
	return durabilityGaps(db.d.name, settings), nil
}

// durabilityGaps is DurabilityGaps' judgement of the engine's settings
// (PostgreSQL: fsync, synchronous_commit, full_page_writes by name;
// SQLite: synchronous as PRAGMA synchronous gives it, 0–3).
func durabilityGaps(engine string, settings map[string]string) []string {
	var gaps []string
	if engine == EnginePostgres {
		for _, name := range pgDurability {
			if v := strings.ToLower(strings.TrimSpace(settings[name])); v == "off" || v == "false" || v == "0" {
				gaps = append(gaps, name+"="+v)
			}
		}
		return gaps
	}
	if n, err := strconv.Atoi(strings.TrimSpace(settings["synchronous"])); err != nil || n < 2 {
		gaps = append(gaps, "synchronous="+settings["synchronous"])
	}
	return gaps
}
