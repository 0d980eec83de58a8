package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"ecredit/app"
	"ecredit/errs"
	"ecredit/ledger"
	"ecredit/pii"
	"ecredit/sqlstore"
)

// A backup is a directory:
//
//	manifest.json  what is in it: engine, time, versions, the row count of
//	               every table, and each file's size and SHA-256
//	README.txt     the same for people, and the warning that it holds keys
//	ecredit.db     SQLite: a consistent copy (VACUUM INTO), or
//	ecredit.dump   PostgreSQL: pg_dump custom format of one snapshot
//	pii.key        the personal-data master key in effect (secret)
//	ledger.key     the ledger's signing key (secret)
//	ledger.pub     the ledger's public key
//	holidays.txt   the working-day calendar, when the data directory has one
//
// A restore checks every file's hash, writes into an empty target only,
// compares every table's row count with the manifest and verifies the
// whole ledger.

const (
	backupFormat   = "ecredit-backup/1"
	manifestFile   = "manifest.json"
	backupReadme   = "README.txt"
	backupSQLite   = "ecredit.db"
	backupPGDump   = "ecredit.dump"
	piiKeyFile     = "pii.key"
	pgBinEnv       = "ECREDIT_PG_BIN"
	backupPGBinUse = "PostgreSQL 客户端程序目录（pg_dump、pg_restore），默认按服务器主版本在 /usr/lib/postgresql/N/bin 或 PATH 中查找 (directory of pg_dump/pg_restore; default: the server's major version under /usr/lib/postgresql, else PATH) [" + pgBinEnv + "]"
)

// manifest describes a backup.
type manifest struct {
	Format        string                `json:"format"`
	Engine        string                `json:"engine"`
	CreatedAt     time.Time             `json:"created_at"`
	Version       string                `json:"ecredit_version"`
	SchemaVersion int64                 `json:"schema_version"`
	ServerMajor   int                   `json:"postgres_major,omitempty"`
	Tables        sqlstore.TableCounts  `json:"tables"`
	Files         []backupFile          `json:"files"`
	Keys          bool                  `json:"keys_included"`
	Notes         []string              `json:"notes,omitempty"`
	byName        map[string]backupFile // Files by name, set by readManifest
}

// backupFile is one file of a backup.
type backupFile struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	What   string `json:"what"`
	Secret bool   `json:"secret,omitempty"`
}

func runBackup(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("backup", "--out DIR [--data DIR] [--db URL] [--no-keys]",
		"在服务运行时做一致的在线备份：SQLite 用 VACUUM INTO 复制同一时刻的数据库；PostgreSQL 用 pg_dump（自定义格式）导出同一快照。\n"+
			"备份目录还包含数据目录所需的密钥文件（个人信息密钥 pii.key、账本签名密钥 ledger.key 与公钥 ledger.pub），\n"+
			"以及 manifest.json（每张表的行数、每个文件的 SHA-256）。备份含密钥，须与数据库同等保密。\n"+
			"Makes a consistent online backup while the server runs: SQLite by VACUUM INTO, PostgreSQL by pg_dump (custom\n"+
			"format) of one snapshot, plus the key files the data needs (pii.key, ledger.key, ledger.pub) and manifest.json\n"+
			"(every table's row count, every file's SHA-256). The backup holds secret keys: keep it as safe as the database.",
		stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	out := fs.String("out", "", "备份目录，须不存在或为空 (backup directory; must be missing or empty)")
	noKeys := fs.Bool("no-keys", false, "不把密钥写入备份（密钥另行保管时），恢复时须经环境变量提供 (leave the keys out; a restore then needs them from the environment)")
	pgBin := fs.String("pg-bin", os.Getenv(pgBinEnv), backupPGBinUse)
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "多余的参数 (unexpected arguments): %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	if strings.TrimSpace(*out) == "" {
		fmt.Fprintln(stderr, "错误 (error): 请用 --out 指定备份目录 (--out is required)")
		return 2
	}
	m, err := backup(ctx, &sf, *out, !*noKeys, *pgBin, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "备份完成 (backup written): %s\n引擎 %s，主体 %d，信用记录 %d，账本 %d 条，检查点 %d 个；文件 %d 个%s\n",
		*out, m.Engine, m.Tables["subjects"], m.Tables["records"], m.Tables.LedgerSize(), m.Tables["ledger_checkpoints"], len(m.Files),
		map[bool]string{true: "（含密钥，请妥善保管 / holds secret keys）", false: "（不含密钥 / without keys）"}[m.Keys])
	for _, n := range m.Notes {
		fmt.Fprintf(stderr, "提示 (note): %s\n", n)
	}
	return 0
}

// backup writes the backup of the store named by sf into dir. A backup
// that fails leaves nothing behind (manifest.json, written last, marks a
// complete one).
func backup(ctx context.Context, sf *storeFlags, dir string, withKeys bool, pgBin string, stderr io.Writer) (_ *manifest, err error) {
	const op = "backup"
	if err := emptyDir(dir, "out"); err != nil {
		return nil, err
	}
	created := missing(dir)
	defer func() {
		if err != nil {
			clearDir(dir, created)
		}
	}()
	cfg := sf.config(quietLogger(stderr))
	dsn := cfg.DSN()
	pg := strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
	if !pg {
		// sqlstore.Open would create a missing file: a backup of nothing is
		// an error, not an empty database.
		if _, err := os.Stat(dsn); err != nil {
			return nil, &errs.Error{Code: errs.NotFound, Op: op, Field: "db", Message: fmt.Sprintf("没有数据库文件 %s (no database file)", dsn), Err: err}
		}
	}
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	schema, _, err := db.MigrationVersion(ctx)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "out", Message: fmt.Sprintf("无法创建备份目录 %s (cannot create the backup directory)", dir), Err: err}
	}
	m := &manifest{Format: backupFormat, Engine: db.Engine(), CreatedAt: time.Now().UTC().Truncate(time.Second),
		Version: buildVersion(), SchemaVersion: schema, Keys: withKeys}
	if !pg {
		if m.Tables, err = db.BackupSQLite(ctx, filepath.Join(dir, backupSQLite)); err != nil {
			return nil, err
		}
		if err := os.Chmod(filepath.Join(dir, backupSQLite), 0o600); err != nil {
			return nil, &errs.Error{Code: errs.Invalid, Op: op, Message: "无法设置备份文件权限 (cannot chmod the copy)", Err: err}
		}
		if err := m.add(dir, backupSQLite, "SQLite 数据库的一致副本 (consistent copy of the SQLite database, VACUUM INTO)", false); err != nil {
			return nil, err
		}
	} else {
		if m.ServerMajor, err = db.ServerVersion(ctx); err != nil {
			return nil, err
		}
		tool, err := pgTool("pg_dump", m.ServerMajor, pgBin)
		if err != nil {
			return nil, err
		}
		err = db.WithSnapshot(ctx, func(snap string, counts sqlstore.TableCounts) error {
			m.Tables = counts
			return runPG(ctx, tool, dsn, "--format=custom", "--snapshot="+snap, "--file="+filepath.Join(dir, backupPGDump))
		})
		if err != nil {
			return nil, err
		}
		if err := os.Chmod(filepath.Join(dir, backupPGDump), 0o600); err != nil {
			return nil, &errs.Error{Code: errs.Invalid, Op: op, Message: "无法设置备份文件权限 (cannot chmod the dump)", Err: err}
		}
		if err := m.add(dir, backupPGDump, fmt.Sprintf("PostgreSQL %d 的 pg_dump 自定义格式导出，与 tables 行数同一快照 (pg_dump custom format of the snapshot the counts were taken in)", m.ServerMajor), false); err != nil {
			return nil, err
		}
	}
	if withKeys {
		if err := backupKeys(m, dir, sf.data); err != nil {
			return nil, err
		}
	} else {
		m.Notes = append(m.Notes, "备份不含密钥：恢复后须经 ECREDIT_PII_KEY 与 ECREDIT_LEDGER_KEY_FILE 提供原密钥 (no keys: a restore needs the original keys from the environment)")
	}
	if hol := filepath.Join(sf.data, app.HolidayFile); sf.data != "" {
		if b, err := os.ReadFile(hol); err == nil {
			if err := writeFileSync(filepath.Join(dir, app.HolidayFile), b, 0o644); err != nil {
				return nil, err
			}
			if err := m.add(dir, app.HolidayFile, "节假日与调休日历 (working-day calendar)", false); err != nil {
				return nil, err
			}
		}
	}
	if err := writeFileSync(filepath.Join(dir, backupReadme), []byte(m.readme()), 0o644); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := writeFileSync(filepath.Join(dir, manifestFile), append(b, '\n'), 0o600); err != nil {
		return nil, err
	}
	return m, syncDir(dir)
}

// backupKeys copies the keys the data needs into the backup: the PII
// master key in effect (from the environment, its key file or DATA/pii.key)
// and the ledger's signing and public keys.
func backupKeys(m *manifest, dir, data string) error {
	key, err := pii.LoadKey(data, false)
	switch {
	case err == nil:
		if err := writeFileSync(filepath.Join(dir, piiKeyFile), []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return err
		}
		from := "DATA/pii.key"
		if os.Getenv("ECREDIT_PII_KEY") != "" {
			from = "ECREDIT_PII_KEY"
		} else if f := os.Getenv("ECREDIT_PII_KEY_FILE"); f != "" {
			from = f
		}
		if err := m.add(dir, piiKeyFile, "个人信息主密钥（取自 "+from+"），没有它无法解密个人信息 (personal-data master key; without it personal data is lost)", true); err != nil {
			return err
		}
	case m.Tables["subjects"] > 0:
		return &errs.Error{Code: errs.Invalid, Op: "backup", Field: "pii_key", Message: "找不到个人信息密钥（ECREDIT_PII_KEY、ECREDIT_PII_KEY_FILE 或数据目录中的 pii.key），备份将无法解密；若密钥另行保管请用 --no-keys (the PII key is missing; use --no-keys if it is kept elsewhere)", Err: err}
	default:
		m.Notes = append(m.Notes, "数据库中没有主体，也没有个人信息密钥，备份不含 pii.key (no subjects and no PII key)")
	}
	signer := os.Getenv(ledger.KeyFileEnv)
	if signer == "" {
		signer = filepath.Join(data, ledger.KeyFile)
	}
	for _, f := range []struct {
		src, name, what string
		secret          bool
	}{
		{signer, ledger.KeyFile, "账本签名私钥，没有它无法继续签署检查点 (ledger signing key)", true},
		{filepath.Join(data, ledger.PubFile), ledger.PubFile, "账本公钥，用于验证检查点 (ledger public key)", false},
	} {
		b, err := os.ReadFile(f.src)
		if errors.Is(err, os.ErrNotExist) {
			if f.secret && m.Tables["ledger_checkpoints"] > 0 {
				return &errs.Error{Code: errs.Invalid, Op: "backup", Field: "ledger_key", Message: "账本已有签名检查点，但找不到签名密钥 " + f.src + " (the ledger has checkpoints but its signing key is missing)", Err: err}
			}
			m.Notes = append(m.Notes, fmt.Sprintf("没有 %s，备份不含该文件 (no %s)", f.src, f.name))
			continue
		}
		if err != nil {
			return &errs.Error{Code: errs.Invalid, Op: "backup", Message: fmt.Sprintf("无法读取 %s (cannot read)", f.src), Err: err}
		}
		mode := os.FileMode(0o644)
		if f.secret {
			mode = 0o600
		}
		if err := writeFileSync(filepath.Join(dir, f.name), b, mode); err != nil {
			return err
		}
		if err := m.add(dir, f.name, f.what, f.secret); err != nil {
			return err
		}
	}
	return nil
}

// add records the file name of dir in the manifest with its size and hash.
func (m *manifest) add(dir, name, what string, secret bool) error {
	n, sum, err := hashFile(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	m.Files = append(m.Files, backupFile{Name: name, Bytes: n, SHA256: sum, What: what, Secret: secret})
	return nil
}

func (m *manifest) readme() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ecredit 备份 (ecredit backup) — %s\n\n", m.CreatedAt.Format(time.RFC3339))
	fmt.Fprintf(&b, "引擎 (engine): %s；迁移版本 (schema version): %d；ecredit %s\n", m.Engine, m.SchemaVersion, m.Version)
	fmt.Fprintf(&b, "主体 (subjects) %d，信用记录 (records) %d，账本条目 (ledger entries) %d，检查点 (checkpoints) %d\n\n",
		m.Tables["subjects"], m.Tables["records"], m.Tables.LedgerSize(), m.Tables["ledger_checkpoints"])
	b.WriteString("文件 (files):\n")
	for _, f := range m.Files {
		secret := ""
		if f.Secret {
			secret = "  [机密 SECRET]"
		}
		fmt.Fprintf(&b, "  %-14s %s%s\n", f.Name, f.What, secret)
	}
	if m.Keys {
		b.WriteString("\n本备份包含密钥：任何得到它的人都能解密个人信息并签署账本检查点，请按机密数据保管。\n" +
			"This backup holds secret keys: whoever has it can decrypt personal data and sign ledger checkpoints.\n")
	}
	b.WriteString("\n恢复 (restore): ecredit restore --from THIS_DIR --data NEW_EMPTY_DIR")
	if m.Engine == sqlstore.EnginePostgres {
		b.WriteString(" --db postgres://…/EMPTY_DATABASE")
	}
	b.WriteString("\n")
	return b.String()
}

func runRestore(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("restore", "--from BACKUP --data DIR [--db URL] [--no-verify]",
		"从 ecredit backup 的备份恢复到空的目标：SQLite 写入空数据目录；PostgreSQL 用 pg_restore 导入空数据库（--db），密钥写入空数据目录。\n"+
			"先核对每个文件的 SHA-256，目标非空时拒绝；恢复后逐表核对行数，并重算整个账本（同 ecredit ledger verify）。\n"+
			"Restores a backup of `ecredit backup` into an empty target: SQLite into an empty data directory; PostgreSQL by\n"+
			"pg_restore into an empty database (--db), the keys into an empty data directory. Checks every file's SHA-256 first,\n"+
			"refuses a non-empty target, then compares every table's row count and verifies the whole ledger.",
		stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	from := fs.String("from", "", "备份目录 (backup directory)")
	noVerify := fs.Bool("no-verify", false, "恢复后不重算账本（仅核对行数）(skip the ledger verification; row counts are still compared)")
	pgBin := fs.String("pg-bin", os.Getenv(pgBinEnv), backupPGBinUse)
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "多余的参数 (unexpected arguments): %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	if strings.TrimSpace(*from) == "" {
		fmt.Fprintln(stderr, "错误 (error): 请用 --from 指定备份目录 (--from is required)")
		return 2
	}
	m, rep, err := restore(ctx, &sf, *from, *pgBin, !*noVerify, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "恢复完成 (restored): %s → %s\n主体 %d，信用记录 %d，账本 %d 条，各表行数与备份一致 (every table's row count matches)\n",
		*from, redactDSN(sf.config(nil).DSN()), m.Tables["subjects"], m.Tables["records"], m.Tables.LedgerSize())
	if rep != nil {
		fmt.Fprintf(stdout, "账本校验通过：%d 条，%d 个检查点，根哈希 %s (ledger verified)\n", rep.Checked, rep.CheckpointsChecked, rep.Root)
	}
	return 0
}

// restore restores the backup in dir into the store named by sf. When
// copying fails, the files written so far are removed; when a check of
// the restored copy fails, the copy stays for inspection.
func restore(ctx context.Context, sf *storeFlags, dir, pgBin string, verify bool, stderr io.Writer) (*manifest, *ledger.Report, error) {
	const op = "restore"
	m, err := readManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	cfg := sf.config(quietLogger(stderr))
	dsn := cfg.DSN()
	pg := strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
	switch {
	case m.Engine == sqlstore.EnginePostgres && !pg:
		return nil, nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "db", Message: "这是 PostgreSQL 备份，请用 --db postgres://… 指定一个空数据库 (a PostgreSQL backup needs --db postgres://… of an empty database)"}
	case m.Engine == sqlstore.EngineSQLite && pg:
		return nil, nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "db", Message: "这是 SQLite 备份，不能恢复到 PostgreSQL (a SQLite backup cannot be restored into PostgreSQL)"}
	case sf.data == "":
		return nil, nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "data", Message: "请用 --data 指定一个空的数据目录 (an empty --data directory is required)"}
	}
	if err := emptyDir(sf.data, "data"); err != nil {
		return nil, nil, err
	}
	if !pg {
		if _, err := os.Stat(dsn); err == nil {
			return nil, nil, &errs.Error{Code: errs.Conflict, Op: op, Field: "db", Message: fmt.Sprintf("目标数据库文件 %s 已存在，拒绝覆盖 (the target database file exists; refusing to overwrite it)", dsn)}
		}
	}
	created := missing(sf.data)
	if err := os.MkdirAll(sf.data, 0o700); err != nil {
		return nil, nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "data", Message: fmt.Sprintf("无法创建数据目录 %s (cannot create the data directory)", sf.data), Err: err}
	}
	if err := restoreFiles(ctx, m, dir, sf.data, dsn, pg, pgBin); err != nil {
		clearDir(sf.data, created)
		if !pg && filepath.Dir(dsn) != filepath.Clean(sf.data) {
			os.Remove(dsn)
		}
		return nil, nil, err
	}
	return checkRestored(ctx, m, sf, cfg, dsn, verify)
}

// restoreFiles writes the database (a copy of the SQLite file, or
// pg_restore into the empty database) and the key files.
func restoreFiles(ctx context.Context, m *manifest, dir, data, dsn string, pg bool, pgBin string) error {
	const op = "restore"
	if !pg {
		if err := os.MkdirAll(filepath.Dir(dsn), 0o700); err != nil {
			return &errs.Error{Code: errs.Invalid, Op: op, Field: "db", Message: fmt.Sprintf("无法创建目录 %s (cannot create the directory)", filepath.Dir(dsn)), Err: err}
		}
		if err := copyFileSync(filepath.Join(dir, backupSQLite), dsn, 0o600); err != nil {
			return err
		}
	} else {
		db, err := sqlstore.Open(ctx, dsn)
		if err != nil {
			return err
		}
		empty, err := db.IsEmpty(ctx)
		major, verr := db.ServerVersion(ctx)
		db.Close()
		if err = errors.Join(err, verr); err != nil {
			return err
		}
		if !empty {
			return &errs.Error{Code: errs.Conflict, Op: op, Field: "db", Message: "目标数据库不是空的，拒绝覆盖；请新建一个空数据库 (the target database is not empty; refusing to overwrite it)"}
		}
		tool, err := pgTool("pg_restore", max(major, m.ServerMajor), pgBin)
		if err != nil {
			return err
		}
		if err := runPG(ctx, tool, dsn, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", filepath.Join(dir, backupPGDump)); err != nil {
			return err
		}
	}
	for _, f := range m.Files {
		if f.Name == backupSQLite || f.Name == backupPGDump {
			continue
		}
		mode := os.FileMode(0o644)
		if f.Secret {
			mode = 0o600
		}
		if err := copyFileSync(filepath.Join(dir, f.Name), filepath.Join(data, f.Name), mode); err != nil {
			return err
		}
	}
	return syncDir(data)
}

// checkRestored compares every table's row count with the manifest, then
// verifies the ledger.
func checkRestored(ctx context.Context, m *manifest, sf *storeFlags, cfg app.Config, dsn string, verify bool) (*manifest, *ledger.Report, error) {
	const op = "restore"

	// Every table as the backup counted it, before any migration.
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	got, err := db.TableCounts(ctx)
	db.Close()
	if err != nil {
		return nil, nil, err
	}
	if d := got.Diff(m.Tables); len(d) > 0 {
		return nil, nil, &errs.Error{Code: errs.Internal, Op: op, Message: "恢复后的行数与备份清单不符 (restored row counts differ from the manifest): " + strings.Join(d, "; ")}
	}
	if !verify {
		return m, nil, nil
	}
	a, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	defer a.Close()
	v, _, err := ledger.LoadVerifier(sf.data)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	rep, err := ledger.Verify(ctx, a.Store, v, ledgerRecomputers(a).Recompute, nil)
	if err != nil {
		return nil, nil, err
	}
	if !rep.OK() {
		var first []string
		for _, mm := range rep.Mismatches[:min(3, len(rep.Mismatches))] {
			first = append(first, mm.String())
		}
		return nil, nil, &errs.Error{Code: errs.Internal, Op: op, Message: fmt.Sprintf("恢复后的账本校验未通过：%d 处不一致，例如 %s (the restored ledger does not verify)", rep.MismatchCount, strings.Join(first, "; "))}
	}
	return m, rep, nil
}

// readManifest reads a backup's manifest and checks every file it lists.
func readManifest(dir string) (*manifest, error) {
	const op = "restore"
	b, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "from", Message: fmt.Sprintf("%s 不是 ecredit 备份：没有 %s (not an ecredit backup)", dir, manifestFile), Err: err}
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Format != backupFormat {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "from", Message: fmt.Sprintf("%s 无法识别，应为 %s 格式 (unrecognised manifest)", manifestFile, backupFormat), Err: err}
	}
	main := backupSQLite
	if m.Engine == sqlstore.EnginePostgres {
		main = backupPGDump
	}
	m.byName = map[string]backupFile{}
	for _, f := range m.Files {
		if f.Name != filepath.Base(f.Name) || strings.HasPrefix(f.Name, ".") {
			return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "from", Message: fmt.Sprintf("清单中的文件名「%s」无效 (bad file name in the manifest)", f.Name)}
		}
		n, sum, err := hashFile(filepath.Join(dir, f.Name))
		if err != nil {
			return nil, err
		}
		if n != f.Bytes || sum != f.SHA256 {
			return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "from", Message: fmt.Sprintf("备份文件 %s 已损坏或被改动：SHA-256 或大小与清单不符 (file does not match the manifest)", f.Name)}
		}
		m.byName[f.Name] = f
	}
	if _, ok := m.byName[main]; !ok {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "from", Message: fmt.Sprintf("备份缺少 %s (the backup lacks its database)", main)}
	}
	return &m, nil
}

// clearDir removes everything in dir (which was missing or empty before
// the failed command), and dir itself when the command created it.
func clearDir(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// missing reports whether path does not exist.
func missing(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, os.ErrNotExist)
}

// emptyDir fails unless dir is missing or an empty directory.
func emptyDir(dir, field string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return &errs.Error{Code: errs.Invalid, Field: field, Message: fmt.Sprintf("%s 不是可读的目录 (not a readable directory)", dir), Err: err}
	case len(ents) > 0:
		return &errs.Error{Code: errs.Conflict, Field: field, Message: fmt.Sprintf("目录 %s 不是空的，拒绝覆盖 (the directory is not empty; refusing to overwrite it)", dir)}
	}
	return nil
}

// pgTool finds the PostgreSQL client program name (pg_dump, pg_restore)
// for a server of the given major version: in dir when given, else
// Debian's /usr/lib/postgresql/MAJOR/bin, else the newest newer version
// there, else PATH.
func pgTool(name string, major int, dir string) (string, error) {
	if dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			return "", &errs.Error{Code: errs.Invalid, Field: "pg-bin", Message: fmt.Sprintf("%s 中没有 %s (not found)", dir, name), Err: err}
		}
		return p, nil
	}
	if major > 0 {
		if p := filepath.Join("/usr/lib/postgresql", strconv.Itoa(major), "bin", name); fileExists(p) {
			return p, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgDirVersion(dirs[i]) > pgDirVersion(dirs[j]) })
	for _, d := range dirs {
		if p := filepath.Join(d, name); pgDirVersion(d) >= major && fileExists(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", &errs.Error{Code: errs.Unavailable, Field: "pg-bin", Message: fmt.Sprintf(
		"找不到 PostgreSQL %d 的 %s；请安装 postgresql-client-%d，或用 --pg-bin 指定目录 (%s not found: install the PostgreSQL client or give --pg-bin)", major, name, major, name)}
}

func pgDirVersion(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// runPG runs a PostgreSQL client program on the database dsn. A password
// in the DSN goes to the program in PGPASSWORD, not on its command line.
func runPG(ctx context.Context, tool, dsn string, args ...string) error {
	env := os.Environ()
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
			u.User = url.User(u.User.Username())
			dsn = u.String()
		}
	}
	cmd := exec.CommandContext(ctx, tool, append(args, "--dbname="+dsn)...)
	cmd.Env = env
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &errOut
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errOut.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		return &errs.Error{Code: errs.Internal, Op: filepath.Base(tool), Message: fmt.Sprintf("%s 失败 (failed): %v: %s", filepath.Base(tool), err, msg), Err: err}
	}
	return nil
}

// redactDSN hides a password in a postgres:// DSN.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("无法读取 %s (cannot read)", path), Err: err}
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("无法读取 %s (cannot read)", path), Err: err}
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// writeFileSync writes b to a new file path with mode, durably.
func writeFileSync(path string, b []byte, mode os.FileMode) error {
	return writeSync(path, mode, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// copyFileSync copies src to the new file dst with mode, durably: into a
// temporary file, synced, then renamed into place.
func copyFileSync(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("无法读取 %s (cannot read)", src), Err: err}
	}
	defer in.Close()
	return writeSync(dst, mode, func(w io.Writer) error { _, err := io.Copy(w, in); return err })
}

func writeSync(path string, mode os.FileMode, fill func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err == nil {
		err = fill(f)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, path)
		}
		if err != nil {
			os.Remove(tmp)
		}
	}
	if err != nil {
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("无法写入 %s (cannot write)", path), Err: err}
	}
	return nil
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("无法打开 %s (cannot open)", dir), Err: err}
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("无法同步 %s (cannot sync)", dir), Err: err}
	}
	return nil
}
