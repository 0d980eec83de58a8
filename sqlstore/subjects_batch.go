package sqlstore

import (
	"context"
	"strings"

	"ecredit/registry"
)

// FindSubjectsByCodes returns the subjects with the given normalised
// credit codes, by code; unknown (and empty) codes are missing from the
// map. It is FindSubjectByCode for many codes at once (record ingest
// resolves a whole batch's subjects with it).
func (db *DB) FindSubjectsByCodes(ctx context.Context, codes []string) (map[string]*registry.Subject, error) {
	const op = "sqlstore.FindSubjectsByCodes"
	out := make(map[string]*registry.Subject, len(codes))
	want := make([]string, 0, len(codes))
	seen := make(map[string]bool, len(codes))
	for _, c := range codes {
		if c != "" && !seen[c] {
			seen[c] = true
			want = append(want, c)
		}
	}
	for start := 0; start < len(want); start += 500 {
		chunk := want[start:min(start+500, len(want))]
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = c
		}
		q := "SELECT " + subjectCols + " FROM subjects WHERE credit_code IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
		rows, err := db.readQuery(ctx, q, args...)
		if err != nil {
			return nil, mapErr(op, err)
		}
		for rows.Next() {
			s, err := scanSubject(rows)
			if err != nil {
				rows.Close()
				return nil, mapErr(op, err)
			}
			out[s.CreditCode] = s
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, mapErr(op, err)
		}
	}
	return out, nil
}
