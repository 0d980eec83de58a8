package sqlstore

import "ecredit/registry"

// SubjectArgs exposes the subject insert values to the benchmarks, so that
// the raw-insert ceiling writes exactly the values the store writes.
func (db *DB) SubjectArgs(s *registry.Subject) []any { return db.subjectArgs(s) }
