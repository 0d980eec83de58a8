package sqlstore

import (
	"context"
	"database/sql"
	"slices"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/trace"
)

// The register of trace sites (migration 00027).

const siteCols = "gln, ext, subject_id, name, region, created_at, updated_at, version"

func scanSite(sc scanner) (*trace.Site, error) {
	var s trace.Site
	var created, updated int64
	if err := sc.Scan(&s.GLN, &s.Extension, &s.SubjectID, &s.Name, &s.Region, &created, &updated, &s.Version); err != nil {
		return nil, err
	}
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &s, nil
}

// sitesPerQuery is how many GLNs one lookup names: the lists are padded
// to a power of two up to it, so that a few kept statements serve all.
const sitesPerQuery = 64

// SitesByKeys returns the registered sites among keys, by key: the sites
// of their GLNs, sitesPerQuery GLNs a query.
func (db *DB) SitesByKeys(ctx context.Context, keys []trace.SiteKey) (map[trace.SiteKey]*trace.Site, error) {
	const op = "sqlstore.SitesByKeys"
	want := make(map[trace.SiteKey]bool, len(keys))
	var glns []string
	for _, k := range keys {
		if !want[k] {
			want[k] = true
			glns = append(glns, k.GLN)
		}
	}
	slices.Sort(glns)
	glns = slices.Compact(glns)
	out := map[trace.SiteKey]*trace.Site{}
	for start := 0; start < len(glns); start += sitesPerQuery {
		chunk := glns[start:min(start+sitesPerQuery, len(glns))]
		n := 1
		for n < len(chunk) {
			n *= 2
		}
		args := make([]any, n)
		for i := range args {
			args[i] = chunk[min(i, len(chunk)-1)]
		}
		err := db.eachRow(ctx, db.r, "SELECT "+siteCols+" FROM trace_sites WHERE gln IN ("+qmarks(n)+")", args, func(r *sql.Rows) error {
			s, err := scanSite(r)
			if err == nil && want[s.Key()] {
				out[s.Key()] = s
			}
			return err
		})
		if err != nil {
			return nil, mapErr(op, err)
		}
	}
	return out, nil
}

// SaveSites inserts the new sites and updates the changed ones, version
// checked, with the audit entry, in one transaction (see trace.Store).
func (db *DB) SaveSites(ctx context.Context, news, changed []*trace.Site, a *audit.Entry) error {
	const op = "sqlstore.SaveSites"
	for _, s := range slices.Concat(news, changed) {
		norm(&s.CreatedAt)
		norm(&s.UpdatedAt)
	}
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		for _, s := range news {
			if _, err := db.exec(ctx, tx, "INSERT INTO trace_sites ("+siteCols+") VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
				s.GLN, s.Extension, s.SubjectID, s.Name, s.Region, micros(s.CreatedAt), micros(s.UpdatedAt)); err != nil {
				return err
			}
		}
		for _, s := range changed {
			res, err := db.exec(ctx, tx, "UPDATE trace_sites SET subject_id = ?, name = ?, region = ?, updated_at = ?, version = version + 1 WHERE gln = ? AND ext = ? AND version = ?",
				s.SubjectID, s.Name, s.Region, micros(s.UpdatedAt), s.GLN, s.Extension, s.Version)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n != 1 {
				return &errs.Error{Code: errs.Conflict, Field: "version", Message: "地点「" + s.Name + "」已被同时修改，请重试 (a site changed concurrently)"}
			}
		}
		return db.appendAudit(ctx, tx, a, "", 0)
	})
	if err != nil {
		if errs.Is(err, errs.Conflict) && errs.FieldOf(err) == "" {
			return &errs.Error{Code: errs.Conflict, Op: op, Field: "gln", Message: "地点已被同时登记，请重试 (a site registered concurrently)", Err: err}
		}
		return err
	}
	for _, s := range news {
		s.Version = 1
	}
	for _, s := range changed {
		s.Version++
	}
	return nil
}

// SubjectSites returns the subject's sites by GLN and extension.
func (db *DB) SubjectSites(ctx context.Context, subjectID int64) ([]*trace.Site, error) {
	const op = "sqlstore.SubjectSites"
	var out []*trace.Site
	err := db.eachRow(ctx, db.r, "SELECT "+siteCols+" FROM trace_sites WHERE subject_id = ? ORDER BY gln, ext", []any{subjectID}, func(r *sql.Rows) error {
		s, err := scanSite(r)
		if err == nil {
			out = append(out, s)
		}
		return err
	})
	return out, mapErr(op, err)
}
