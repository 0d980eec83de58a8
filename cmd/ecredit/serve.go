package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ecredit/account"
	"ecredit/app"
	"ecredit/demo"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("serve", "[--addr HOST:PORT] [--demo] [--data DIR] [--db URL]",
		"启动平台：JSON API（/api/v1）、门户网站与工作人员控制台。Ctrl-C 或 SIGTERM 平稳关闭。\n"+
			"Runs the platform: the JSON API (/api/v1), the public portal and the staff console. Ctrl-C or SIGTERM shuts down cleanly.\n"+
			"With --demo an empty database first gets the demo city and demo accounts (credentials in DATA/demo-credentials.txt).",
		stdout, stderr)
	var sf storeFlags
	sf.register(fs)
	addr := fs.String("addr", envOr("ECREDIT_ADDR", "127.0.0.1:8080"), "监听地址，端口 0 表示任选空闲端口 (listen address; port 0 picks a free port) [ECREDIT_ADDR]")
	withDemo := fs.Bool("demo", false, "数据库为空时先载入演示城市与演示账户 (load the demo city and accounts when the database is empty)")
	seed := fs.Int64("demo-seed", 1, "演示数据随机种子 (demo seed)")
	subjects := fs.Int("demo-subjects", demo.DefaultSubjects, "演示主体数量 (number of demo subjects)")
	secure := fs.Bool("secure", false, "经 HTTPS 提供服务时设置，Cookie 带 Secure 标志 (set when served over HTTPS: Secure cookies)")
	publicURL := fs.String("public-url", envOr("ECREDIT_PUBLIC_URL", ""), "公众访问本平台的网址，用于信用报告二维码，如 https://credit.chengde.gov.cn/ (public base URL for report QR codes; default: the request's host) [ECREDIT_PUBLIC_URL]")
	warm := fs.String("trace-warm", envOr("ECREDIT_TRACE_WARM", app.WarmInterval.String()), "多久预热一次热销批次的流向，如 30s、5m；off 为不预热（首次追溯热销批次时读取其全部订单）(how often the reach of selling batches is warmed; off: never) [ECREDIT_TRACE_WARM]")
	var proxies listFlag
	fs.Var(&proxies, "trusted-proxy", "可信反向代理的网段，可重复；仅信任其 X-Forwarded-For (CIDR of a trusted reverse proxy, repeatable)")
	if c := parse(fs, args, stdout); c >= 0 {
		return c
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "多余的参数 (unexpected arguments): %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	warmEvery, err := warmInterval(*warm)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := sf.config(logger)
	cfg.Addr, cfg.TrustedProxies, cfg.Secure, cfg.PublicURL, cfg.WarmInterval = *addr, proxies, *secure, *publicURL, warmEvery
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return fail(stderr, err)
	}
	defer a.Close()
	if *withDemo {
		if err := serveDemo(ctx, a, *seed, *subjects, logger, stderr); err != nil {
			return fail(stderr, err)
		}
	}
	if err := a.Serve(ctx, *addr, nil); err != nil {
		return fail(stderr, err)
	}
	logger.Info("stopped — 已停止")
	return 0
}

// serveDemo loads the demo city into an empty database, or says where the
// existing credentials are.
func serveDemo(ctx context.Context, a *app.App, seed int64, n int, logger *slog.Logger, progress io.Writer) error {
	count, err := a.Store.CountSubjects(ctx)
	if err != nil {
		return err
	}
	creds, _ := filepath.Abs(filepath.Join(a.Config.DataDir, credentialsFile))
	if count > 0 {
		if _, err := os.Stat(creds); err == nil {
			logger.Info("数据库已有数据，不再生成演示数据；演示账户凭据见 "+creds, "subjects", count, "credentials", creds)
		} else {
			logger.Info("数据库已有数据，不再生成演示数据 (database not empty: demo skipped)", "subjects", count)
		}
		return nil
	}
	logger.Info("正在生成演示城市 (generating the demo city)", "subjects", n, "seed", seed)
	path, err := loadDemo(account.With(ctx, cliActor()), a, seed, n, progress)
	if err != nil {
		return err
	}
	logger.Info("演示账户凭据已写入 "+path+" (demo credentials written)", "credentials", path)
	return nil
}

// warmInterval reads --trace-warm: a duration of at least a second, or
// "off" (a negative interval: never).
func warmInterval(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return -1, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Second {
		return 0, fmt.Errorf("--trace-warm「%s」无效：应为不短于 1 秒的时长（如 30s、5m）或 off (a duration of at least 1s, or off)", s)
	}
	return d, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
