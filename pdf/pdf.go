// Package pdf renders HTML documents to PDF with headless Chromium through
// the DevTools protocol (github.com/chromedp/chromedp, Page.printToPDF).
// ecredit uses it for credit reports: the HTML is rendered by package web,
// self-contained (inline style, images as data: URIs), and handed over as a
// string, so the browser never fetches anything.
//
// The browser is started lazily on the first render and reused; each
// render opens its own tab with a timeout. If Chromium is missing the
// renderer answers errs.Unavailable with a message saying so (the portal
// turns it into a 503); if the browser dies it is restarted on the next
// render.
package pdf

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"ecredit/errs"
)

// DefaultPath is where Debian installs Chromium.
const DefaultPath = "/usr/bin/chromium"

// DefaultTimeout bounds one render.
const DefaultTimeout = 30 * time.Second

// Chromium renders PDFs with a headless Chromium. The zero value is not
// usable; use New. It is safe for concurrent use.
type Chromium struct {
	Path    string        // executable; DefaultPath, else "chromium" on PATH
	Timeout time.Duration // per render
	// MaxTabs bounds concurrent renders (default 2).
	MaxTabs int

	sem chan struct{}

	mu      sync.Mutex
	browser context.Context // nil until started
	stop    func()
}

// New returns a renderer; Chromium is started on first use.
func New() *Chromium {
	return &Chromium{Path: DefaultPath, Timeout: DefaultTimeout, MaxTabs: 2}
}

func unavailable(msg string, err error) error {
	return &errs.Error{Code: errs.Unavailable, Op: "pdf.Render", Message: msg, Err: err}
}

// executable resolves the browser to run.
func (c *Chromium) executable() (string, error) {
	for _, p := range []string{c.Path, "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path, nil
		}
	}
	return "", unavailable("PDF 生成服务不可用：服务器未安装 Chromium 浏览器（apt-get install chromium fonts-noto-cjk）(Chromium is not installed)", exec.ErrNotFound)
}

// start launches the browser if it is not running.
func (c *Chromium) start() (context.Context, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sem == nil {
		n := c.MaxTabs
		if n <= 0 {
			n = 2
		}
		c.sem = make(chan struct{}, n)
	}
	if c.browser != nil && c.browser.Err() == nil {
		return c.browser, nil
	}
	path, err := c.executable()
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	// Run with no actions starts the browser.
	if err := chromedp.Do(browser); err != nil {
		cancelBrowser()
		cancelAlloc()
		return nil, unavailable("PDF 生成服务不可用：无法启动 Chromium (cannot start Chromium)", err)
	}
	c.browser = browser
	c.stop = func() { cancelBrowser(); cancelAlloc() }
	return browser, nil
}

// Close stops the browser, if it runs.
func (c *Chromium) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop != nil {
		c.stop()
		c.stop, c.browser = nil, nil
	}
	return nil
}

// reset forgets a browser that failed, so the next render starts a new one.
func (c *Chromium) reset(b context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.browser == b && c.stop != nil {
		c.stop()
		c.stop, c.browser = nil, nil
	}
}

// waitAssets resolves when every image has loaded and the fonts are ready.
const waitAssets = `Promise.all(Array.from(document.images).map(function (i) {
	return i.complete ? true : new Promise(function (r) { i.onload = i.onerror = r; });
})).then(function () { return document.fonts ? document.fonts.ready : true; }).then(function () { return true; })`

// PDF renders a self-contained HTML document to an A4 PDF.
func (c *Chromium) PDF(ctx context.Context, html []byte) ([]byte, error) {
	browser, err := c.start()
	if err != nil {
		return nil, err
	}
	select {
	case c.sem <- struct{}{}:
		defer func() { <-c.sem }()
	case <-ctx.Done():
		return nil, unavailable("PDF 生成排队超时，请稍后重试 (renderer busy)", ctx.Err())
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tab, cancelTab := chromedp.NewContext(browser)
	defer cancelTab()
	tctx, cancel := context.WithTimeout(tab, timeout)
	defer cancel()
	// The caller's cancellation ends the render too.
	stopWatch := context.AfterFunc(ctx, cancel)
	defer stopWatch()

	out, err := render(tctx, string(html))
	if err != nil {
		if browser.Err() != nil {
			c.reset(browser)
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(tctx.Err(), context.DeadlineExceeded) {
			return nil, unavailable(fmt.Sprintf("PDF 生成超时（%s），请稍后重试 (rendering timed out)", timeout), err)
		}
		return nil, unavailable("PDF 生成失败，请稍后重试 (rendering failed)", err)
	}
	return out, nil
}

func render(ctx context.Context, html string) ([]byte, error) {
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		return nil, err
	}
	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		return nil, err
	}
	if tree.FrameTree == nil || tree.FrameTree.Frame == nil {
		return nil, errors.New("pdf: no frame")
	}
	if _, err := chromedp.Call(ctx, page.SetDocumentContent, page.SetDocumentContentParams{FrameID: tree.FrameTree.Frame.ID, HTML: html}); err != nil {
		return nil, err
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](waitAssets, chromedp.EvalAwaitPromise)); err != nil {
		return nil, err
	}
	return chromedp.Run(ctx, chromedp.PrintToPDF(
		chromedp.PDFPaper(chromedp.PaperA4),
		chromedp.PDFMargin(0.5),
		chromedp.PDFPrintBackground(),
	))
}
