// Package app wires ecredit together: it opens the store, loads the key that
// protects personal data, builds the services, composes the JSON API and the
// web site behind the shared HTTP middleware, and serves them with the
// server timeouts set.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/disclosure"
	"ecredit/errs"
	"ecredit/httpapi"
	"ecredit/httpx"
	"ecredit/ledger"
	"ecredit/logistics"
	"ecredit/pdf"
	"ecredit/pii"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/trace"
	"ecredit/trade"
	"ecredit/web"
)

// Config is what Open needs.
type Config struct {
	// DataDir holds the embedded SQLite database (ecredit.db) and the
	// generated PII key (pii.key). Created (0700) when missing.
	DataDir string
	// DB is the store's DSN: "postgres://…" for PostgreSQL or a SQLite file
	// path; "" means SQLite at DataDir/ecredit.db.
	DB             string
	Addr           string
	Logger         *slog.Logger
	TrustedProxies []string // CIDRs whose X-Forwarded-For is believed
	Secure         bool     // served over TLS: cookies are marked Secure
	Clock          clock.Clock
	// LedgerOrigin names the ledger (checkpoint origin and signing key
	// name); "" means ledger.DefaultOrigin.
	LedgerOrigin string
	// PublicURL is the portal's public address, printed (as a QR code) on
	// credit reports for their verification link; "" uses the request's
	// host.
	PublicURL string
	// NoRateLimit lifts the per-client rate limits of the public look-ups
	// and of the API (both limiters then allow every request). For load
	// tests driven from one address (bench/scale) only; never in
	// production.
	NoRateLimit bool
	// WarmInterval is how often Serve brings the kept reach of selling
	// batches up to date (trace.Service.WarmReach): 0 means WarmInterval,
	// a negative value never (the first trace of a hot batch then reads
	// all its orders).
	WarmInterval time.Duration
}

// HolidayFile is the optional working-day calendar in the data directory
// (see record.Calendar.Load); without it the built-in table is used.
const HolidayFile = "holidays.txt"

// CheckpointInterval is how often Serve signs a ledger checkpoint when the
// ledger has grown.
const CheckpointInterval = 60 * time.Second

// WarmInterval is how often the server brings the kept reach of the
// batches that are selling up to date (trace.Service.WarmReach), and
// warmSteps how many steps of trace.WarmStep order ids one round reads at
// most: a big store is caught up with over a few rounds after a start.
const (
	WarmInterval = 30 * time.Second
	warmSteps    = 20
)

// App is an opened ecredit.
type App struct {
	Config   Config
	Store    *sqlstore.DB
	Keys     *pii.Keys
	Registry *registry.Service
	Accounts *account.Service
	Records  *record.Service
	// Ledger signs checkpoints and proves inclusion and consistency (set
	// by Open, nil after OpenStore alone); LedgerKey is its verifier key
	// in note format.
	Ledger    *ledger.Log
	LedgerKey string
	// Disclosure is the public portal's search, profiles and credit
	// reports (set by Open); PDF renders reports with headless Chromium,
	// started on the first PDF request.
	Disclosure *disclosure.Service
	PDF        *pdf.Chromium
	Logger     *slog.Logger
	// Metrics is the Prometheus registry served at /metrics.
	Metrics *prometheus.Registry

	// Logistics holds parcels, tracking and the grades of logistics firms
	// (M4), graded by DATA/logistics_grades.json when it exists.
	Logistics *logistics.Service
	// Trace is product traceability (M10); recalls go into the ledger
	// through Records.
	Trace *trace.Service
	// Trade (M5): orders, reviews, shop reputation, agency evaluations.
	Trade *trade.Service

	handler http.Handler
}

// DSN returns the store DSN of cfg: DB, or the SQLite file in DataDir.
func (cfg Config) DSN() string {
	if strings.TrimSpace(cfg.DB) != "" {
		return strings.TrimSpace(cfg.DB)
	}
	return filepath.Join(cfg.DataDir, "ecredit.db")
}

// OpenStore opens and migrates the store and loads the PII key, without
// building the HTTP side: what command-line tools need.
func OpenStore(ctx context.Context, cfg Config) (*App, error) {
	const op = "app.Open"
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.DataDir == "" && strings.TrimSpace(cfg.DB) == "" {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "data", Message: "必须指定数据目录 --data 或数据库 --db (a data directory or a database is required)"}
	}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "data", Message: fmt.Sprintf("无法创建数据目录 %s (cannot create the data directory)", cfg.DataDir), Err: err}
		}
	}
	logVersions(cfg.Logger)
	db, err := sqlstore.Open(ctx, cfg.DSN())
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	db.SetClock(cfg.Clock)
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, errs.Wrap(op, err)
	}
	// The name search index is tokenised in Go, so subjects that existed
	// before its migration (or were written around the store) are indexed
	// here, once.
	if rebuilt, err := db.EnsureSearchIndex(ctx); err != nil {
		db.Close()
		return nil, errs.Wrap(op, err)
	} else if rebuilt {
		cfg.Logger.Info("search index rebuilt — 已重建名称检索索引")
	}
	keys, err := loadKeys(ctx, cfg, db)
	if err != nil {
		db.Close()
		return nil, errs.Wrap(op, err)
	}
	a := &App{Config: cfg, Store: db, Keys: keys, Logger: cfg.Logger}
	a.Registry = &registry.Service{Store: db, Audit: db, Keys: keys, Clock: cfg.Clock}
	a.Accounts = &account.Service{Store: db, Audit: db, Clock: cfg.Clock, Keys: keys}
	cal, err := loadCalendar(cfg.DataDir)
	if err != nil {
		db.Close()
		return nil, errs.Wrap(op, err)
	}
	a.Records = &record.Service{Store: db, Subjects: db, Keys: keys, Clock: cfg.Clock, Calendar: cal}
	// Logistics credit (M4).
	pol, err := loadLogisticsPolicy(cfg.DataDir)
	if err != nil {
		db.Close()
		return nil, errs.Wrap(op, err)
	}
	a.Logistics = &logistics.Service{Store: db, Subjects: db, Keys: keys, Clock: cfg.Clock, Policy: pol}
	// Traceability (M10).
	a.Trace = &trace.Service{Store: db, Subjects: db, Records: db, Recorder: a.Records, Clock: cfg.Clock}
	a.Trade = &trade.Service{Store: db, Clock: cfg.Clock} // trade (M5)
	return a, nil
}

// LogisticsPolicyFile is the optional grading policy of logistics firms in
// the data directory (JSON, the fields of logistics.Policy; absent fields
// keep logistics.DefaultPolicy).
const LogisticsPolicyFile = "logistics_grades.json"

// loadLogisticsPolicy reads DATA/logistics_grades.json when it exists;
// nil means the default policy.
func loadLogisticsPolicy(dataDir string) (*logistics.Policy, error) {
	if dataDir == "" {
		return nil, nil
	}
	path := filepath.Join(dataDir, LogisticsPolicyFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &errs.Error{Code: errs.Invalid, Field: "logistics_grades", Message: "物流信用评级配置 " + path + " 无法读取 (cannot read the grading policy)", Err: err}
	}
	defer f.Close()
	p, err := logistics.LoadPolicy(f)
	if err != nil {
		return nil, &errs.Error{Code: errs.Invalid, Field: "logistics_grades", Message: "物流信用评级配置 " + path + " 有误：" + errs.MessageOf(err) + " (bad grading policy)", Err: err}
	}
	return &p, nil
}

// loadCalendar reads DATA/holidays.txt when it exists, else returns the
// built-in calendar.
func loadCalendar(dataDir string) (*record.Calendar, error) {
	if dataDir == "" {
		return record.DefaultCalendar(), nil
	}
	path := filepath.Join(dataDir, HolidayFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return record.DefaultCalendar(), nil
	}
	cal, err := record.LoadCalendarFile(path)
	if err != nil {
		return nil, &errs.Error{Code: errs.Invalid, Field: "holidays", Message: "节假日文件 " + path + " 无法读取：" + err.Error() + " (bad holiday file)", Err: err}
	}
	return cal, nil
}

// loadKeys loads the PII master key. On the embedded SQLite store a missing
// key file is generated into the data directory, unless the database
// already holds subjects (their personal data would become unreadable). On
// PostgreSQL the key must come from ECREDIT_PII_KEY, ECREDIT_PII_KEY_FILE
// or an existing pii.key in the data directory: a production database must
// never silently get a fresh key.
func loadKeys(ctx context.Context, cfg Config, db *sqlstore.DB) (*pii.Keys, error) {
	create := db.Engine() == sqlstore.EngineSQLite && cfg.DataDir != ""
	if create && os.Getenv("ECREDIT_PII_KEY") == "" && os.Getenv("ECREDIT_PII_KEY_FILE") == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "pii.key")); errors.Is(err, os.ErrNotExist) {
			n, err := db.CountSubjects(ctx)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				return nil, &errs.Error{Code: errs.Invalid, Field: "data", Message: fmt.Sprintf(
					"数据库已有 %d 个主体，但数据目录中没有个人信息密钥 pii.key；请恢复原密钥文件，或设置 ECREDIT_PII_KEY / ECREDIT_PII_KEY_FILE (the database holds data but the PII key is missing)", n)}
			}
		}
	}
	master, err := pii.LoadKey(cfg.DataDir, create)
	if err != nil {
		msg := "无法读取个人信息加密密钥：" + err.Error()
		if db.Engine() == sqlstore.EnginePostgres {
			msg = "使用 PostgreSQL 时必须提供个人信息加密密钥：设置 ECREDIT_PII_KEY（64 位十六进制，可用 `openssl rand -hex 32` 生成）或 ECREDIT_PII_KEY_FILE，或在数据目录中放置 pii.key（" + err.Error() + "）(PostgreSQL needs the PII key from the environment or an existing key file)"
		}
		return nil, &errs.Error{Code: errs.Invalid, Field: "pii_key", Message: msg, Err: err}
	}
	return pii.New(master)
}

// Open opens the store and builds the whole application: services, JSON
// API, web site and the middleware around them.
func Open(ctx context.Context, cfg Config) (*App, error) {
	a, err := OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	lg, keys, err := ledger.OpenLog(ctx, a.Store, a.Config.DataDir, a.Config.LedgerOrigin)
	if err != nil {
		a.Close()
		return nil, errs.Wrap("app.Open", err)
	}
	a.Ledger, a.LedgerKey = lg, keys.PublicKey
	a.Disclosure = &disclosure.Service{Store: a.Store, Log: lg, Clock: a.Config.Clock,
		Secret: a.Keys.Index("report_mac", "ecredit-report/1"),
		// Points, level, ratings and agency evaluations (trade, M5).
		Trade: a.Trade}
	if a.Logistics != nil {
		a.Disclosure.Logistics = a.Logistics // the grade on logistics firms' profiles (M4)
	}
	a.PDF = pdf.New()
	if err := a.buildHandler(); err != nil {
		a.Close()
		return nil, errs.Wrap("app.Open", err)
	}
	return a, nil
}

func (a *App) buildHandler() error {
	cfg := a.Config
	proxies, err := httpx.ParseCIDRs(cfg.TrustedProxies)
	if err != nil {
		return &errs.Error{Code: errs.Invalid, Field: "trusted-proxy", Message: err.Error()}
	}
	publicRate, apiRate := httpapi.PublicRate, float64(APIRate)
	if cfg.NoRateLimit {
		publicRate, apiRate = math.Inf(1), math.Inf(1) // rate.Inf: every request allowed
	}
	// One per-client budget for the public look-ups of the API and the
	// portal's search and profile pages, so that a scraper cannot double
	// it by alternating between them.
	publicLimiter := httpx.NewLimiter(publicRate, httpapi.PublicBurst)
	a.Metrics = prometheus.NewRegistry()
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	api, err := httpapi.New(httpapi.Deps{
		Registry: a.Registry,
		Accounts: a.Accounts,
		Audit:    a.Store,
		Clock:    cfg.Clock,
		Logger:   a.Logger,
		Ping:     a.Store.Ping,
		Engine:   a.Store.Engine(),
		Gatherer: a.Metrics,
		Records:  a.Records,
		Ledger:   a.Ledger,
		// The verifier key and each record's ledger entries, for proofs.
		LedgerKey:     a.LedgerKey,
		LedgerEntries: a.Store,
		// Public search and profiles (GET /api/v1/public/subjects…).
		Disclosure: a.Disclosure,
		// Public look-ups get httpapi's default per-client limit; every
		// /api/ request is limited per account or client as a backstop.
		PublicLimiter: publicLimiter,
		Limiter:       httpx.NewLimiter(apiRate, APIBurst),
		// Parcels, tracking and logistics grades (M4).
		Logistics: a.Logistics,
		// Traceability (M10).
		Trace: a.Trace,
		// Orders, reviews, evaluations and shop reputation (M5).
		Trade: a.Trade,
	})
	if err != nil {
		return err
	}
	site, err := web.New(web.Deps{
		Registry: a.Registry,
		Accounts: a.Accounts,
		Audit:    a.Store,
		Clock:    cfg.Clock,
		Logger:   a.Logger,
		Ping:     a.Store.Ping,
		Engine:   a.Store.Engine(),
		Secure:   cfg.Secure,
		Records:  a.Records,
		// Full-text search, profiles with records, credit reports (HTML,
		// PDF) and their verification.
		Disclosure: a.Disclosure,
		PDF:        a.PDF,
		PublicURL:  cfg.PublicURL,
		// The dashboard's figures by kind and verification state.
		Stats: func(ctx context.Context) (*web.Counts, error) {
			c, err := a.Store.CountSubjectsBy(ctx)
			if err != nil {
				return nil, err
			}
			return &web.Counts{Total: c.Total, ByKind: c.ByKind, ByVerify: c.ByVerify}, nil
		},
		// The grade of logistics firms on their profile and /logistics/{id} (M4).
		Logistics: a.Logistics,
		// Traceability (M10): the public trace page of a batch.
		Trace: a.Trace,
		// A shop's ratings page and the profile's ratings section (M5).
		Trade: a.Trade,
		// proof: the portal's search and profiles share the API's public
		// rate limit per client.
		PublicLimiter: publicLimiter,
	})
	if err != nil {
		return err
	}
	root := http.NewServeMux()
	root.Handle("/api/", api)
	root.Handle("/healthz", api)
	root.Handle("/metrics", api)
	root.Handle("/", site)
	a.handler = httpx.Wrap(root, httpx.Options{Logger: a.Logger, Registry: a.Metrics, TrustedProxies: proxies})
	return nil
}

// Handler is the whole HTTP side: the API under /api/, /healthz and
// /metrics, the web site everywhere else, behind httpx.Wrap.
func (a *App) Handler() http.Handler { return a.handler }

// APIRate and APIBurst limit /api/ requests per account (or client address
// for the public): generous, a backstop against runaway clients.
const (
	APIRate  = 200
	APIBurst = 1000
)

// Server timeouts.
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 60 * time.Second
	WriteTimeout      = 120 * time.Second
	IdleTimeout       = 120 * time.Second
	MaxHeaderBytes    = 64 << 10
	ShutdownTimeout   = 10 * time.Second
)

// Server returns the http.Server for the handler with every timeout and
// limit set; request contexts derive from ctx without its cancellation (a
// shutdown drains requests, it does not cancel them).
func (a *App) Server(ctx context.Context) *http.Server {
	return &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// Serve listens on addr ("127.0.0.1:8080", or port 0 for any free port),
// calls ready with the bound address, and serves until ctx is cancelled;
// then it shuts down gracefully, waiting up to ShutdownTimeout for requests
// in flight. A clean shutdown returns nil.
func (a *App) Serve(ctx context.Context, addr string, ready func(net.Addr)) error {
	if a.handler == nil {
		return errors.New("app: Serve needs an App from Open")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return &errs.Error{Code: errs.Invalid, Field: "addr", Message: fmt.Sprintf("无法监听 %s：%v (cannot listen)", addr, err), Err: err}
	}
	srv := a.Server(ctx)
	a.warnNotDurable(ctx)
	url := "http://" + ln.Addr().String() + "/"
	a.Logger.Info("serving on "+url+" — 浏览器打开 "+url, "addr", ln.Addr().String(), "engine", a.Store.Engine())
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// The background work: ledger checkpoints and warming the reach of
	// hot batches, stopped and waited for when Serve returns.
	bctx, stop := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { a.signCheckpoints(bctx, CheckpointInterval) })
	if warm := cmp.Or(a.Config.WarmInterval, WarmInterval); warm > 0 {
		background.Go(func() { a.warmReach(bctx, warm) })
	}
	defer func() { stop(); background.Wait() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Logger.Info("shutting down — 正在关闭")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("app: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// signCheckpoints signs a ledger checkpoint now and then every interval
// (Log.Checkpoint signs only when the ledger has grown), until ctx ends.
func (a *App) signCheckpoints(ctx context.Context, interval time.Duration) {
	if a.Ledger == nil {
		return
	}
	sign := func() {
		cctx, cancel := context.WithTimeout(ctx, interval)
		defer cancel()
		_, t, err := a.Ledger.Checkpoint(cctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.Logger.Error("ledger checkpoint failed — 账本检查点签名失败", "err", err.Error())
		case err == nil:
			a.Logger.Debug("ledger checkpoint", "size", t.N)
		}
	}
	every(ctx, interval, sign)
}

// every runs f now and then every interval, until ctx ends.
func every(ctx context.Context, interval time.Duration, f func()) {
	f()
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			f()
		}
	}
}

// warnNotDurable logs a warning when the database does not make each
// commit durable (sqlstore.DB.DurabilityGaps: a PostgreSQL server run
// with fsync, synchronous_commit or full_page_writes off): what the API
// answers as stored could then be lost in a power cut.
func (a *App) warnNotDurable(ctx context.Context) {
	gaps, err := a.Store.DurabilityGaps(ctx)
	switch {
	case err != nil:
		a.Logger.Warn("无法检查数据库的持久化设置 (cannot check the database's durability settings)", "err", err.Error())
	case len(gaps) > 0:
		a.Logger.Warn("数据库未将每次提交写入磁盘：断电或操作系统崩溃时，已确认的写入可能丢失，生产环境请开启 (commits are not durable: acknowledged writes may be lost in a power cut)",
			"engine", a.Store.Engine(), "settings", strings.Join(gaps, " "))
	}
}

// warmReach follows the orders as they come in and keeps the reach of
// hot batches up to date (trace.Service.WarmReach), so that the first
// trace or recall of a batch that sells does not read all its orders;
// it starts from the first order, a round every interval, until ctx ends.
func (a *App) warmReach(ctx context.Context, interval time.Duration) {
	if a.Trace == nil {
		return
	}
	var after int64
	round := func() {
		for range warmSteps {
			upto, n, err := a.Trace.WarmReach(ctx, after)
			if err != nil {
				if ctx.Err() == nil {
					a.Logger.Warn("warming the reach of hot batches failed — 热门批次流向预热失败", "err", err.Error(), "after", after)
				}
				return
			}
			if n > 0 {
				a.Logger.Debug("reach warmed", "batches", n, "orders_upto", upto)
			}
			if upto == after {
				return
			}
			after = upto
		}
	}
	every(ctx, interval, round)
}

// Close closes the store.
func (a *App) Close() error {
	if a.PDF != nil {
		a.PDF.Close() // stops Chromium if a PDF was rendered
	}
	if a.Store == nil {
		return nil
	}
	return a.Store.Close()
}

// testedLibc is the modernc.org/libc version each modernc.org/sqlite release
// was built and tested with (its go.mod). libc does not follow semver, so a
// different linked version is worth a warning (PocketBase does the same).
var testedLibc = map[string]string{
	"v1.62.0": "v1.80.1",
}

// Versions returns the linked versions of modernc.org/sqlite and
// modernc.org/libc from the build information ("" when unknown).
func Versions() (sqlite, libc string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", ""
	}
	for _, m := range bi.Deps {
		v := m.Version
		if m.Replace != nil {
			v = m.Replace.Version
		}
		switch m.Path {
		case "modernc.org/sqlite":
			sqlite = v
		case "modernc.org/libc":
			libc = v
		}
	}
	return sqlite, libc
}

func logVersions(log *slog.Logger) {
	s, l := Versions()
	if s == "" {
		return
	}
	if want, ok := testedLibc[s]; ok && want != l {
		// Informational: libc does not follow semver (PocketBase #6136); the
		// test suite runs against the linked version.
		log.Info("sqlite driver", "modernc.org/sqlite", s, "modernc.org/libc", l, "libc tested by sqlite release", want)
		return
	}
	log.Info("sqlite driver", "modernc.org/sqlite", s, "modernc.org/libc", l)
}
