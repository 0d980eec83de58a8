package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/errs"
)

const accountCols = `id, name, role, subject_id, department, login, password_hash, totp_secret, disabled, failed_logins,
	locked_until, created_at, updated_at, totp_pending, totp_step`

func scanAccount(r scanner) (*account.Account, error) {
	var a account.Account
	var role string
	var subject sql.NullInt64
	var login sql.NullString
	var locked, created, updated int64
	if err := r.Scan(&a.ID, &a.Name, &role, &subject, &a.Department, &login, &a.PasswordHash, &a.TOTPSecret, &a.Disabled,
		&a.FailedLogins, &locked, &created, &updated, &a.TOTPPending, &a.TOTPStep); err != nil {
		return nil, err
	}
	a.Role, a.SubjectID, a.Login = account.Role(role), subject.Int64, login.String
	a.LockedUntil, a.CreatedAt, a.UpdatedAt = fromMicros(locked), fromMicros(created), fromMicros(updated)
	return &a, nil
}

// CreateAccount inserts a with its audit entry and sets a.ID. A login in
// use is Conflict on "login".
func (db *DB) CreateAccount(ctx context.Context, a *account.Account, ev *audit.Entry) error {
	const op = "sqlstore.CreateAccount"
	if a.CreatedAt.IsZero() {
		a.CreatedAt = db.now()
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	norm(&a.CreatedAt)
	norm(&a.UpdatedAt)
	norm(&a.LockedUntil)
	var id int64
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		id, err = db.insertID(ctx, tx, `INSERT INTO accounts (name, role, subject_id, department, login, password_hash, totp_secret,
			disabled, failed_logins, locked_until, created_at, updated_at, totp_pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.Name, string(a.Role), nullID(a.SubjectID), a.Department, nullStr(a.Login), a.PasswordHash, a.TOTPSecret,
			a.Disabled, a.FailedLogins, micros(a.LockedUntil), micros(a.CreatedAt), micros(a.UpdatedAt), a.TOTPPending)
		if err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, ev, "account", id)
	})
	if err == nil {
		a.ID = id
	}
	return err
}

// UpdateAccount writes every field of a but TOTPStep (the last write wins) with its
// audit entry (ev may be nil, e.g. for counting failed logins when the
// caller audits them separately).
func (db *DB) UpdateAccount(ctx context.Context, a *account.Account, ev *audit.Entry) error {
	const op = "sqlstore.UpdateAccount"
	a.UpdatedAt = db.now()
	norm(&a.LockedUntil)
	return db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE accounts SET name = ?, role = ?, subject_id = ?, department = ?, login = ?,
			password_hash = ?, totp_secret = ?, disabled = ?, failed_logins = ?, locked_until = ?, updated_at = ?, totp_pending = ?
			WHERE id = ?`,
			a.Name, string(a.Role), nullID(a.SubjectID), a.Department, nullStr(a.Login), a.PasswordHash, a.TOTPSecret,
			a.Disabled, a.FailedLogins, micros(a.LockedUntil), micros(a.UpdatedAt), a.TOTPPending, a.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFound("账户", "account", a.ID)
		}
		return db.appendAudit(ctx, tx, ev, "account", 0)
	})
}

// GetAccount returns the account with id, or NotFound.
func (db *DB) GetAccount(ctx context.Context, id int64) (*account.Account, error) {
	const op = "sqlstore.GetAccount"
	a, err := scanAccount(db.readRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("账户", "account", id))
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	return a, nil
}

// FindAccountByLogin returns the account with the console login, or
// NotFound.
func (db *DB) FindAccountByLogin(ctx context.Context, login string) (*account.Account, error) {
	const op = "sqlstore.FindAccountByLogin"
	if login == "" {
		return nil, &errs.Error{Code: errs.NotFound, Op: op, Message: "账户不存在 (account not found)"}
	}
	a, err := scanAccount(db.readRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE login = ?", login))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &errs.Error{Code: errs.NotFound, Op: op, Message: "账户「" + login + "」不存在 (account not found)"}
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	return a, nil
}

// ListAccounts returns every account in id order.
func (db *DB) ListAccounts(ctx context.Context) ([]*account.Account, error) {
	const op = "sqlstore.ListAccounts"
	rows, err := db.r.QueryContext(ctx, "SELECT "+accountCols+" FROM accounts ORDER BY id")
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	var out []*account.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, mapErr(op, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}

const keyCols = `id, account_id, prefix, hash, label, created_at, last_used_at, revoked_at`

func scanKey(r scanner) (*account.APIKey, error) {
	var k account.APIKey
	var created, used, revoked int64
	if err := r.Scan(&k.ID, &k.AccountID, &k.Prefix, &k.Hash, &k.Label, &created, &used, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromMicros(created), fromMicros(used), fromMicros(revoked)
	return &k, nil
}

// CreateAPIKey inserts k with its audit entry and sets k.ID.
func (db *DB) CreateAPIKey(ctx context.Context, k *account.APIKey, ev *audit.Entry) error {
	const op = "sqlstore.CreateAPIKey"
	if k.CreatedAt.IsZero() {
		k.CreatedAt = db.now()
	}
	norm(&k.CreatedAt)
	norm(&k.LastUsedAt)
	norm(&k.RevokedAt)
	var id int64
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		id, err = db.insertID(ctx, tx, `INSERT INTO api_keys (account_id, prefix, hash, label, created_at, last_used_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.AccountID, k.Prefix, k.Hash, k.Label, micros(k.CreatedAt), micros(k.LastUsedAt), micros(k.RevokedAt))
		if err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, ev, "apikey", id)
	})
	if err == nil {
		k.ID = id
	}
	return err
}

// FindAPIKey returns the key with the public prefix, revoked or not (the
// caller checks RevokedAt), or NotFound.
func (db *DB) FindAPIKey(ctx context.Context, prefix string) (*account.APIKey, error) {
	const op = "sqlstore.FindAPIKey"
	k, err := scanKey(db.readRow(ctx, "SELECT "+keyCols+" FROM api_keys WHERE prefix = ?", prefix))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &errs.Error{Code: errs.NotFound, Op: op, Message: "API 密钥不存在 (API key not found)"}
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	return k, nil
}

// ListAPIKeys returns an account's keys in id order.
func (db *DB) ListAPIKeys(ctx context.Context, accountID int64) ([]*account.APIKey, error) {
	const op = "sqlstore.ListAPIKeys"
	rows, err := db.readQuery(ctx, "SELECT "+keyCols+" FROM api_keys WHERE account_id = ? ORDER BY id", accountID)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	var out []*account.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, mapErr(op, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}

// RevokeAPIKey marks key id revoked at at, with its audit entry. Revoking
// a revoked key keeps the first revocation time.
func (db *DB) RevokeAPIKey(ctx context.Context, id int64, at time.Time, ev *audit.Entry) error {
	const op = "sqlstore.RevokeAPIKey"
	if at.IsZero() {
		at = db.now()
	}
	return db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE api_keys SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END WHERE id = ?`,
			micros(at), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFound("API 密钥", "API key", id)
		}
		return db.appendAudit(ctx, tx, ev, "apikey", 0)
	})
}

// TouchAPIKey records the last use of key id.
func (db *DB) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	const op = "sqlstore.TouchAPIKey"
	if at.IsZero() {
		at = db.now()
	}
	return db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, micros(at), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFound("API 密钥", "API key", id)
		}
		return nil
	})
}

// CreateSession stores s.
func (db *DB) CreateSession(ctx context.Context, s *account.Session) error {
	const op = "sqlstore.CreateSession"
	if s.CreatedAt.IsZero() {
		s.CreatedAt = db.now()
	}
	norm(&s.CreatedAt)
	norm(&s.ExpiresAt)
	return db.write(ctx, op, func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, `INSERT INTO sessions (token_hash, account_id, csrf, created_at, expires_at, remote)
			VALUES (?, ?, ?, ?, ?, ?)`, s.TokenHash, s.AccountID, s.CSRF, micros(s.CreatedAt), micros(s.ExpiresAt), s.Remote)
		return err
	})
}

// GetSession returns the session with the token hash, expired or not (the
// caller checks ExpiresAt), or NotFound.
func (db *DB) GetSession(ctx context.Context, tokenHash []byte) (*account.Session, error) {
	const op = "sqlstore.GetSession"
	var s account.Session
	var created, expires int64
	err := db.readRow(ctx, `SELECT token_hash, account_id, csrf, created_at, expires_at, remote
		FROM sessions WHERE token_hash = ?`, tokenHash).Scan(&s.TokenHash, &s.AccountID, &s.CSRF, &created, &expires, &s.Remote)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &errs.Error{Code: errs.NotFound, Op: op, Message: "会话不存在或已退出 (session not found)"}
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &s, nil
}

// DeleteSession removes a session; deleting one that does not exist is not
// an error (signing out twice is harmless).
func (db *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	return db.write(ctx, "sqlstore.DeleteSession", func(tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
		return err
	})
}

// DeleteExpiredSessions removes the sessions that expired at or before now
// and returns how many.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := db.write(ctx, "sqlstore.DeleteExpiredSessions", func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `DELETE FROM sessions WHERE expires_at <= ?`, micros(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// UseTOTPStep raises the account's last accepted TOTP step to step, in one
// conditional UPDATE so that two sign-ins racing with the same code cannot
// both succeed. A step not later than the stored one is Conflict.
func (db *DB) UseTOTPStep(ctx context.Context, id, step int64) error {
	const op = "sqlstore.UseTOTPStep"
	return db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE accounts SET totp_step = ? WHERE id = ? AND totp_step < ?`, step, id, step)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		var one int
		if err := tx.QueryRowContext(ctx, db.d.Rebind(`SELECT 1 FROM accounts WHERE id = ?`), id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return notFound("账户", "account", id)
		} else if err != nil {
			return err
		}
		return &errs.Error{Code: errs.Conflict, Field: "code", Message: "动态验证码已使用过，请等待下一个验证码 (code already used)"}
	})
}
