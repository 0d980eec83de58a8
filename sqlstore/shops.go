package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"ecredit/audit"
	"ecredit/errs"
	"ecredit/registry"
)

const shopCols = `id, platform_id, owner_id, name, url, domain, category, status, platform_shop_id, created_at, updated_at, version`

func scanShop(r scanner) (*registry.Shop, error) {
	var sh registry.Shop
	var status string
	var psid sql.NullString
	var created, updated int64
	if err := r.Scan(&sh.ID, &sh.PlatformID, &sh.OwnerID, &sh.Name, &sh.URL, &sh.Domain, &sh.Category, &status, &psid,
		&created, &updated, &sh.Version); err != nil {
		return nil, err
	}
	sh.Status, sh.PlatformShopID = registry.Status(status), psid.String
	sh.CreatedAt, sh.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &sh, nil
}

// CreateShop inserts sh with its audit entry; it sets sh.ID and
// sh.Version = 1. A platform shop id already used on the platform is
// Conflict on "platform_shop_id"; a missing platform or owner is Invalid.
func (db *DB) CreateShop(ctx context.Context, sh *registry.Shop, ev *audit.Entry) error {
	const op = "sqlstore.CreateShop"
	if sh.CreatedAt.IsZero() {
		sh.CreatedAt = db.now()
	}
	if sh.UpdatedAt.IsZero() {
		sh.UpdatedAt = sh.CreatedAt
	}
	norm(&sh.CreatedAt)
	norm(&sh.UpdatedAt)
	var id int64
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		id, err = db.insertID(ctx, tx, `INSERT INTO shops (platform_id, owner_id, name, url, domain, category, status, platform_shop_id,
			created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
			sh.PlatformID, sh.OwnerID, sh.Name, sh.URL, sh.Domain, sh.Category, string(sh.Status), nullStr(sh.PlatformShopID),
			micros(sh.CreatedAt), micros(sh.UpdatedAt))
		if err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, ev, "shop", id)
	})
	if err != nil {
		return err
	}
	sh.ID, sh.Version = id, 1
	return nil
}

// UpdateShop writes sh if the stored version equals sh.Version, then
// increments sh.Version.
func (db *DB) UpdateShop(ctx context.Context, sh *registry.Shop, ev *audit.Entry) error {
	const op = "sqlstore.UpdateShop"
	if sh.UpdatedAt.IsZero() {
		sh.UpdatedAt = db.now()
	}
	norm(&sh.UpdatedAt)
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, `UPDATE shops SET platform_id = ?, owner_id = ?, name = ?, url = ?, domain = ?, category = ?,
			status = ?, platform_shop_id = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`,
			sh.PlatformID, sh.OwnerID, sh.Name, sh.URL, sh.Domain, sh.Category, string(sh.Status), nullStr(sh.PlatformShopID),
			micros(sh.UpdatedAt), sh.ID, sh.Version)
		if err != nil {
			return err
		}
		if err := db.staleOrMissing(ctx, tx, res, "shops", sh.ID, "店铺", "shop"); err != nil {
			return err
		}
		if err := db.appendAudit(ctx, tx, ev, "shop", 0); err != nil {
			return err
		}
		return nil
	})
	if err == nil {
		sh.Version++
	}
	return err
}

// GetShop returns the shop with id, or NotFound.
func (db *DB) GetShop(ctx context.Context, id int64) (*registry.Shop, error) {
	const op = "sqlstore.GetShop"
	sh, err := scanShop(db.readRow(ctx, "SELECT "+shopCols+" FROM shops WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.Wrap(op, notFound("店铺", "shop", id))
	}
	if err != nil {
		return nil, mapErr(op, err)
	}
	return sh, nil
}

// ListShops returns shops in ascending id order after f.After, filtered by
// f. Domain matches exactly, case-insensitively (domains are stored in
// lower case).
func (db *DB) ListShops(ctx context.Context, f registry.ShopFilter) ([]*registry.Shop, error) {
	const op = "sqlstore.ListShops"
	var where []string
	var args []any
	add := func(cond string, a any) { where = append(where, cond); args = append(args, a) }
	if f.After > 0 {
		add("id > ?", f.After)
	}
	if f.PlatformID != 0 {
		add("platform_id = ?", f.PlatformID)
	}
	if f.OwnerID != 0 {
		add("owner_id = ?", f.OwnerID)
	}
	if f.Domain != "" {
		add("domain = ?", strings.ToLower(strings.TrimSuffix(strings.TrimSpace(f.Domain), ".")))
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	q := "SELECT " + shopCols + " FROM shops"
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
	var out []*registry.Shop
	for rows.Next() {
		sh, err := scanShop(rows)
		if err != nil {
			return nil, mapErr(op, err)
		}
		out = append(out, sh)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	return out, nil
}
