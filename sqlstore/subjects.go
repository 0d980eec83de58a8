package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/pii"
	"ecredit/registry"
)

const subjectCols = `id, kind, form, name, credit_code, code_warning,
	id_cipher, id_index, id_masked, phone_cipher, phone_index, phone_masked,
	name_cipher, name_index, name_masked, legal_rep, region_code, address, status,
	verify, verified_at, verified_by, reverify_due, mark, created_by, created_at, updated_at, version`

const insertSubject = `INSERT INTO subjects (kind, form, name, credit_code, code_warning,
	id_cipher, id_index, id_masked, phone_cipher, phone_index, phone_masked,
	name_cipher, name_index, name_masked, legal_rep, region_code, address, status,
	verify, verified_at, verified_by, reverify_due, mark, created_by, created_at, updated_at, version)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// subjectArgs returns the values of insertSubject after normalising the
// subject's times.
func (db *DB) subjectArgs(s *registry.Subject) []any {
	now := db.now()
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = s.CreatedAt
	}
	norm(&s.CreatedAt)
	norm(&s.UpdatedAt)
	norm(&s.VerifiedAt)
	norm(&s.ReverifyDue)
	if s.Verify == "" {
		s.Verify = registry.VerifyNone
	}
	s.Version = 1
	return []any{string(s.Kind), s.Form, s.Name, nullStr(s.CreditCode), s.CodeWarning,
		nullBytes(s.IDNumber.Cipher), nullBytes(s.IDNumber.Index), s.IDNumber.Masked,
		nullBytes(s.Phone.Cipher), nullBytes(s.Phone.Index), s.Phone.Masked,
		nullBytes(s.NameSeal.Cipher), nullBytes(s.NameSeal.Index), s.NameSeal.Masked,
		s.LegalRep, s.RegionCode, s.Address, string(s.Status),
		string(s.Verify), micros(s.VerifiedAt), s.VerifiedBy, micros(s.ReverifyDue), nullStr(s.Mark),
		s.CreatedBy, micros(s.CreatedAt), micros(s.UpdatedAt), s.Version}
}

type scanner interface{ Scan(dest ...any) error }

func scanSubject(r scanner) (*registry.Subject, error) {
	var s registry.Subject
	var kind, status, verify string
	var code, mark sql.NullString
	var verifiedAt, due, created, updated int64
	err := r.Scan(&s.ID, &kind, &s.Form, &s.Name, &code, &s.CodeWarning,
		&s.IDNumber.Cipher, &s.IDNumber.Index, &s.IDNumber.Masked,
		&s.Phone.Cipher, &s.Phone.Index, &s.Phone.Masked,
		&s.NameSeal.Cipher, &s.NameSeal.Index, &s.NameSeal.Masked,
		&s.LegalRep, &s.RegionCode, &s.Address, &status,
		&verify, &verifiedAt, &s.VerifiedBy, &due, &mark, &s.CreatedBy, &created, &updated, &s.Version)
	if err != nil {
		return nil, err
	}
	s.Kind, s.Status, s.Verify = registry.Kind(kind), registry.Status(status), registry.VerifyState(verify)
	s.CreditCode, s.Mark = code.String, mark.String
	s.VerifiedAt, s.ReverifyDue = fromMicros(verifiedAt), fromMicros(due)
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	s.IDNumber = sealed(s.IDNumber)
	s.Phone = sealed(s.Phone)
	s.NameSeal = sealed(s.NameSeal)
	return &s, nil
}

// sealed makes an empty stored value the zero Sealed.
func sealed(s pii.Sealed) pii.Sealed {
	if len(s.Cipher) == 0 && len(s.Index) == 0 && s.Masked == "" {
		return pii.Sealed{}
	}
	return s
}

const insertAudit = `INSERT INTO audit_log (at, actor_id, actor_name, role, action, object, detail, remote, request_id, via)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// appendAudit writes ev inside tx. When id is not 0 (a created object) and
// ev.Object carries no id yet, ":<id>" is appended ("subject" →
// "subject:42"); an empty Object becomes kind:id.
//
// On SQLite, inside a transaction on the writer, it runs the statement
// prepareAudit prepared once for the store: parsing the INSERT anew cost
// about 0.4 ms, a twentieth of a 1000-event batch.
func (db *DB) appendAudit(ctx context.Context, tx querier, ev *audit.Entry, kind string, id int64) error {
	if ev == nil {
		return nil
	}
	if t, ok := tx.(*sql.Tx); ok {
		if st := db.auditStmt.Load(); st != nil {
			ts := t.StmtContext(ctx, st)
			defer ts.Close()
			return db.appendAuditWith(ctx, func(args ...any) *sql.Row { return ts.QueryRowContext(ctx, args...) }, ev, kind, id)
		}
	}
	return db.appendAuditWith(ctx, func(args ...any) *sql.Row {
		return tx.QueryRowContext(ctx, db.d.Rebind(insertAudit), args...)
	}, ev, kind, id)
}

// appendAuditWith is appendAudit through a given query (a prepared
// statement in batches).
func (db *DB) appendAuditWith(ctx context.Context, query func(args ...any) *sql.Row, ev *audit.Entry, kind string, id int64) error {
	if ev == nil {
		return nil
	}
	return query(db.auditArgs(ev, kind, id)...).Scan(&ev.ID)
}

// auditArgs completes ev (its object's id, its time) as appendAudit
// does and returns the arguments of insertAudit.
func (db *DB) auditArgs(ev *audit.Entry, kind string, id int64) []any {
	if id != 0 {
		switch {
		case ev.Object == "":
			ev.Object = kind + ":" + strconv.FormatInt(id, 10)
		case !strings.Contains(ev.Object, ":"):
			ev.Object += ":" + strconv.FormatInt(id, 10)
		}
	}
	if ev.At.IsZero() {
		ev.At = db.now()
	}
	norm(&ev.At)
	return []any{micros(ev.At), ev.ActorID, ev.ActorName, ev.Role, ev.Action, ev.Object, ev.Detail, ev.Remote, ev.RequestID, ev.Via}
}

// CreateSubject inserts s and its audit entry in one transaction; it sets
// s.ID and s.Version = 1.
func (db *DB) CreateSubject(ctx context.Context, s *registry.Subject, ev *audit.Entry) error {
	const op = "sqlstore.CreateSubject"
	var id int64
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		if id, err = db.insertID(ctx, tx, insertSubject, db.subjectArgs(s)...); err != nil {
			return err
		}
		if err := db.indexSubjectTx(ctx, tx, id, s, true); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, ev, "subject", id)
	})
	if err == nil {
		s.ID = id
	}
	return err
}

// BatchError says which element of a batch failed; it unwraps to the
// mapped *errs.Error.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("batch item %d: %v", e.Index, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }

// BatchIndex is the index of the failing element (see registry.Store).
func (e *BatchError) BatchIndex() int { return e.Index }

// CreateSubjects inserts many subjects in one transaction with one prepared
// statement, each with the audit entry ev returns for it (ev may be nil, or
// return nil for no entry). On any failure nothing is written and the error
// is a *BatchError naming the failing index, wrapping the mapped error
// (errs.CodeOf and errs.FieldOf see through it).
func (db *DB) CreateSubjects(ctx context.Context, subs []*registry.Subject, ev func(*registry.Subject) *audit.Entry) error {
	const op = "sqlstore.CreateSubjects"
	if len(subs) == 0 {
		return nil
	}
	ids := make([]int64, len(subs))
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, db.d.Rebind(insertSubject+" RETURNING id"))
		if err != nil {
			return err
		}
		defer ins.Close()
		var aud *sql.Stmt
		if ev != nil {
			if aud, err = tx.PrepareContext(ctx, db.d.Rebind(insertAudit)); err != nil {
				return err
			}
			defer aud.Close()
		}
		auditRow := func(args ...any) *sql.Row { return aud.QueryRowContext(ctx, args...) }
		idx, err := db.newSearchIndexer(ctx, tx)
		if err != nil {
			return err
		}
		defer idx.close()
		for i, s := range subs {
			if err := ins.QueryRowContext(ctx, db.subjectArgs(s)...).Scan(&ids[i]); err != nil {
				return &BatchError{Index: i, Err: mapErr(op, err)}
			}
			if err := idx.add(ctx, ids[i], s); err != nil {
				return &BatchError{Index: i, Err: mapErr(op, err)}
			}
			if ev != nil {
				if e := ev(s); e != nil {
					if err := db.appendAuditWith(ctx, auditRow, e, "subject", ids[i]); err != nil {
						return &BatchError{Index: i, Err: mapErr(op, err)}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, s := range subs {
		s.ID = ids[i]
	}
	return nil
}

// UpdateSubject writes s if the stored version equals s.Version, then
// increments s.Version. A stale version is Conflict on field "version".
func (db *DB) UpdateSubject(ctx context.Context, s *registry.Subject, ev *audit.Entry) error {
	const op = "sqlstore.UpdateSubject"
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = db.now()
	}
	norm(&s.UpdatedAt)
	norm(&s.VerifiedAt)
	norm(&s.ReverifyDue)
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE subjects SET kind = ?, form = ?, name = ?, credit_code = ?, code_warning = ?,
			id_cipher = ?, id_index = ?, id_masked = ?, phone_cipher = ?, phone_index = ?, phone_masked = ?,
			name_cipher = ?, name_index = ?, name_masked = ?, legal_rep = ?, region_code = ?, address = ?, status = ?,
			verify = ?, verified_at = ?, verified_by = ?, reverify_due = ?, mark = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ?`,
			string(s.Kind), s.Form, s.Name, nullStr(s.CreditCode), s.CodeWarning,
			nullBytes(s.IDNumber.Cipher), nullBytes(s.IDNumber.Index), s.IDNumber.Masked,
			nullBytes(s.Phone.Cipher), nullBytes(s.Phone.Index), s.Phone.Masked,
			nullBytes(s.NameSeal.Cipher), nullBytes(s.NameSeal.Index), s.NameSeal.Masked,
			s.LegalRep, s.RegionCode, s.Address, string(s.Status),
			string(s.Verify), micros(s.VerifiedAt), s.VerifiedBy, micros(s.ReverifyDue), nullStr(s.Mark),
			micros(s.UpdatedAt), s.ID, s.Version)
		if err != nil {
			return err
		}
		if err := db.staleOrMissing(ctx, tx, res, "subjects", s.ID, "主体", "subject"); err != nil {
			return err
		}
		if err := db.indexSubjectTx(ctx, tx, s.ID, s, false); err != nil {
			return err
		}
		if err := db.appendAudit(ctx, tx, ev, "subject", 0); err != nil {
			return err
		}
		return nil
	})
	if err == nil {
		s.Version++
	}
	return err
}

// staleOrMissing turns an optimistic update that touched no row into
// Conflict (the row exists with another version) or NotFound.
func (db *DB) staleOrMissing(ctx context.Context, tx querier, res sql.Result, table string, id int64, what, whatEn string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var version int
	err = tx.QueryRowContext(ctx, db.d.Rebind("SELECT version FROM "+table+" WHERE id = ?"), id).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(what, whatEn, id)
	}
	if err != nil {
		return err
	}
	return &errs.Error{Code: errs.Conflict, Field: "version",
		Message: fmt.Sprintf("%s已被他人修改（当前版本 %d），请刷新后重试 (stale version)", what, version)}
}

func (db *DB) getSubject(ctx context.Context, op, where string, arg any, what any) (*registry.Subject, error) {
	s, err := scanSubject(db.readRow(ctx, "SELECT "+subjectCols+" FROM subjects WHERE "+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("主体", "subject", what))
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	return s, nil
}

// GetSubject returns the subject with id, or NotFound.
func (db *DB) GetSubject(ctx context.Context, id int64) (*registry.Subject, error) {
	return db.getSubject(ctx, "sqlstore.GetSubject", "id = ?", id, id)
}

// FindSubjectByCode returns the subject with the normalised credit code.
func (db *DB) FindSubjectByCode(ctx context.Context, creditCode string) (*registry.Subject, error) {
	if creditCode == "" {
		return nil, &errs.Error{Code: errs.NotFound, Op: "sqlstore.FindSubjectByCode", Message: "主体不存在 (subject not found)"}
	}
	return db.getSubject(ctx, "sqlstore.FindSubjectByCode", "credit_code = ?", creditCode, creditCode)
}

// FindSubjectByIDIndex returns the person whose ID-number HMAC index is
// index.
func (db *DB) FindSubjectByIDIndex(ctx context.Context, index []byte) (*registry.Subject, error) {
	if len(index) == 0 {
		return nil, &errs.Error{Code: errs.NotFound, Op: "sqlstore.FindSubjectByIDIndex", Message: "主体不存在 (subject not found)"}
	}
	return db.getSubject(ctx, "sqlstore.FindSubjectByIDIndex", "id_index = ?", index, "(按身份号码)")
}

// FindSubjectByMark returns the subject carrying the identity verification
// mark.
func (db *DB) FindSubjectByMark(ctx context.Context, mark string) (*registry.Subject, error) {
	if mark == "" {
		return nil, &errs.Error{Code: errs.NotFound, Op: "sqlstore.FindSubjectByMark", Message: "主体不存在 (subject not found)"}
	}
	return db.getSubject(ctx, "sqlstore.FindSubjectByMark", "mark = ?", mark, mark)
}

// ListSubjects returns subjects in ascending id order after f.After,
// filtered by f. Verify filters by the state the service shows: VerifyOK
// matches subjects whose latest verification passed and is not yet due again
// by the store's clock, VerifyExpired those past the date. ReverifyBefore
// selects passed verifications due before the given time (expired or not).
func (db *DB) ListSubjects(ctx context.Context, f registry.Filter) ([]*registry.Subject, error) {
	const op = "sqlstore.ListSubjects"
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.After > 0 {
		add("id > ?", f.After)
	}
	if f.Kind != "" {
		add("kind = ?", string(f.Kind))
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if f.Region != "" {
		add(`region_code LIKE ? ESCAPE '\'`, likeEscape(f.Region)+"%")
	}
	switch f.Verify {
	case "":
	case registry.VerifyExpired:
		add("verify = ? AND reverify_due > 0 AND reverify_due <= ?", string(registry.VerifyOK), micros(db.now()))
	case registry.VerifyOK:
		add("verify = ? AND (reverify_due = 0 OR reverify_due > ?)", string(registry.VerifyOK), micros(db.now()))
	default:
		add("verify = ?", string(f.Verify))
	}
	if !f.ReverifyBefore.IsZero() {
		add("verify = ? AND reverify_due > 0 AND reverify_due < ?", string(registry.VerifyOK), micros(f.ReverifyBefore))
	}
	if f.PlatformID != 0 {
		add("EXISTS (SELECT 1 FROM shops WHERE shops.owner_id = subjects.id AND shops.platform_id = ?)", f.PlatformID)
	}
	if f.Name != "" {
		add("name "+db.d.ilike+` ? ESCAPE '\'`, "%"+likeEscape(f.Name)+"%")
	}
	if len(f.IDIndex) > 0 {
		add("id_index = ?", f.IDIndex)
	}
	if len(f.PhoneIndex) > 0 {
		add("phone_index = ?", f.PhoneIndex)
	}
	q := "SELECT " + subjectCols + " FROM subjects"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id LIMIT ?"
	args = append(args, clampLimit(f.Limit, 50, 10000))
	rows, err := db.readQuery(ctx, q, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	var out []*registry.Subject
	for rows.Next() {
		s, err := scanSubject(rows)
		if err != nil {
			return nil, mapErr(op, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}

// CountSubjects returns the number of subjects.
func (db *DB) CountSubjects(ctx context.Context) (int64, error) {
	var n int64
	if err := db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM subjects").Scan(&n); err != nil {
		return 0, mapErr("sqlstore.CountSubjects", err)
	}
	return n, nil
}

// AddVerification appends v (setting v.ID) and writes the subject's derived
// verification fields from s, bumping its version (s.Version is set to the
// stored one), in one transaction with ev.
func (db *DB) AddVerification(ctx context.Context, v *registry.Verification, s *registry.Subject, ev *audit.Entry) error {
	const op = "sqlstore.AddVerification"
	if v.At.IsZero() {
		v.At = db.now()
	}
	norm(&v.At)
	norm(&v.ValidUntil)
	norm(&s.VerifiedAt)
	norm(&s.ReverifyDue)
	if s.UpdatedAt.IsZero() {
		s.UpdatedAt = v.At
	}
	norm(&s.UpdatedAt)
	if v.SubjectID == 0 {
		v.SubjectID = s.ID
	}
	if v.SubjectID != s.ID {
		return &errs.Error{Code: errs.Invalid, Op: op, Field: "subject_id", Message: "核验记录与主体不一致 (verification is for another subject)"}
	}
	var id int64
	var version int
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, db.d.Rebind(`UPDATE subjects SET verify = ?, verified_at = ?, verified_by = ?, reverify_due = ?,
			updated_at = ?, version = version + 1 WHERE id = ? RETURNING version`),
			string(s.Verify), micros(s.VerifiedAt), s.VerifiedBy, micros(s.ReverifyDue), micros(s.UpdatedAt), s.ID).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("主体", "subject", s.ID)
		}
		if err != nil {
			return err
		}
		id, err = db.insertID(ctx, tx, `INSERT INTO verifications (subject_id, method, passed, verified_by, account_id, at, valid_until, note)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			v.SubjectID, v.Method, v.Passed, v.VerifiedBy, v.AccountID, micros(v.At), micros(v.ValidUntil), v.Note)
		if err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, ev, "subject", 0)
	})
	if err == nil {
		v.ID, s.Version = id, version
	}
	return err
}

// ListVerifications returns a subject's verification history, newest first.
func (db *DB) ListVerifications(ctx context.Context, subjectID int64) ([]*registry.Verification, error) {
	const op = "sqlstore.ListVerifications"
	rows, err := db.readQuery(ctx, `SELECT id, subject_id, method, passed, verified_by, account_id, at, valid_until, note
		FROM verifications WHERE subject_id = ? ORDER BY id DESC`, subjectID)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	var out []*registry.Verification
	for rows.Next() {
		var v registry.Verification
		var at, until int64
		if err := rows.Scan(&v.ID, &v.SubjectID, &v.Method, &v.Passed, &v.VerifiedBy, &v.AccountID, &at, &until, &v.Note); err != nil {
			return nil, mapErr(op, err)
		}
		v.At, v.ValidUntil = fromMicros(at), fromMicros(until)
		out = append(out, &v)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}
