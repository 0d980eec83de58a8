package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// A Flow is one journey through the portal or the console. Register it from
// the flow's own file:
//
//	func init() { register("trade-ratings", flowTradeRatings) }
//
//	func flowTradeRatings(t *testing.T, b *Tab) {
//		b.Go("/subjects/" + id)
//		b.WaitText(".ratings", "好评率")
//	}
//
// Every flow gets a fresh tab on the shared server (the demo city, seed 1)
// and a shared browser. Flows run one after another in name order; a flow
// must not depend on another one having run.
type Flow func(t *testing.T, b *Tab)

type namedFlow struct {
	name string
	run  Flow
}

var flows []namedFlow

func register(name string, f Flow) { flows = append(flows, namedFlow{name, f}) }

// Budgets: one step of a flow (a navigation, a wait for text), and the whole
// flow.
const (
	stepTimeout = 30 * time.Second
	// A download waits for the server's PDF renderer (its own Chromium,
	// started on first use, with a 30 s render budget).
	downloadTimeout = 2 * time.Minute
	flowTimeout     = 5 * time.Minute // a cap for a machine under load; about 20 s a flow otherwise
	// demoSubjects keeps the demo city small: start-up takes about a
	// second, and the city still has every kind of subject and record.
	demoSubjects = 300
)

var (
	skipReason   string // set by TestMain when Chromium is missing outside CI
	chromiumPath string
	binary       string // the ecredit binary, built by TestMain
	workDir      string // binary and data directory, removed at the end

	artifactsOnce sync.Once
	artifactsDir  string
	keepArtifacts bool // $ECREDIT_ARTIFACTS given, or a flow failed
	artifactsMu   sync.Mutex

	cityOnce sync.Once
	theCity  *City
	cityErr  error

	browserOnce   sync.Once
	browserCtx    context.Context
	browserErr    error
	browserCancel = func() {}
)

func TestMain(m *testing.M) {
	chromiumPath = findChromium()
	if chromiumPath == "" {
		msg := "e2e: Chromium not found (looked for $ECREDIT_CHROMIUM, /usr/bin/chromium, chromium, chromium-browser, google-chrome); install the Debian package chromium"
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, msg+" — CI=true, so this is a failure, not a skip")
			os.Exit(1)
		}
		skipReason = msg + " — skipping the browser tests (with CI=true they would fail)"
		os.Exit(m.Run())
	}
	var err error
	if workDir, err = os.MkdirTemp("", "ecredit-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(workDir, "ecredit")
	build := exec.Command("go", "build", "-o", binary, "ecredit/cmd/ecredit")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build ecredit:", err)
		os.RemoveAll(workDir)
		os.Exit(1)
	}
	code := m.Run()
	browserCancel()
	if theCity != nil {
		theCity.stop()
	}
	os.RemoveAll(workDir)
	if artifactsDir != "" {
		if code == 0 && !keepArtifacts {
			os.RemoveAll(artifactsDir)
		} else {
			fmt.Fprintln(os.Stderr, "e2e: artifacts (screenshots, pages, server log) in", artifactsDir)
		}
	}
	os.Exit(code)
}

func findChromium() string {
	if p := os.Getenv("ECREDIT_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// artifacts returns the directory for screenshots and logs of failures.
func artifacts() string {
	artifactsOnce.Do(func() {
		if d := os.Getenv("ECREDIT_ARTIFACTS"); d != "" {
			artifactsDir, keepArtifacts = d, true
			if err := os.MkdirAll(d, 0o755); err == nil {
				return
			}
		}
		d, err := os.MkdirTemp("", "ecredit-e2e-artifacts-")
		if err != nil {
			d = os.TempDir()
		}
		artifactsDir = d
	})
	return artifactsDir
}

// City is the running ecredit: `serve --demo` on a fresh data directory.
type City struct {
	Base    string // http://127.0.0.1:PORT
	DataDir string
	// Console logins from the demo credentials file.
	AdminLogin, AdminPassword string
	DeptLogin, DeptPassword   string // 承德市市场监督管理局 (市场监管)
	// AdminKey is the admin's API key, for finding test data the public
	// API does not list (orders, the change feed).
	AdminKey string

	cmd  *exec.Cmd
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{}
}

var servingRE = regexp.MustCompile(`serving on (http://127\.0\.0\.1:[0-9]+)/`)

// city starts the server once for every flow.
func city(t *testing.T) *City {
	t.Helper()
	cityOnce.Do(func() { theCity, cityErr = startCity() })
	if cityErr != nil {
		t.Fatalf("e2e: start ecredit: %v", cityErr)
	}
	return theCity
}

func startCity() (*City, error) {
	c := &City{DataDir: filepath.Join(workDir, "data"), done: make(chan struct{})}
	c.cmd = exec.Command(binary, "serve", "--demo", "--demo-subjects", fmt.Sprint(demoSubjects),
		"--addr", "127.0.0.1:0", "--data", c.DataDir)
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ECREDIT_") {
			env = append(env, kv)
		}
	}
	c.cmd.Env = env
	pipe, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	c.cmd.Stdout = io.Discard
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	found := make(chan string, 1)
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.log.WriteString(line + "\n")
			c.mu.Unlock()
			if m := servingRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		c.cmd.Wait()
	}()
	select {
	case c.Base = <-found:
	case <-c.done:
		return nil, fmt.Errorf("ecredit serve exited:\n%s", c.logText())
	case <-time.After(90 * time.Second):
		c.stop()
		return nil, fmt.Errorf("ecredit serve did not start in 90 s:\n%s", c.logText())
	}
	creds, err := os.ReadFile(filepath.Join(c.DataDir, "demo-credentials.txt"))
	if err != nil {
		c.stop()
		return nil, err
	}
	if c.AdminLogin, c.AdminPassword, err = credential(creds, "管理员 (admin"); err == nil {
		c.DeptLogin, c.DeptPassword, err = credential(creds, "政府部门 (department")
	}
	if err == nil {
		c.AdminKey, err = apiKey(creds, "管理员 (admin")
	}
	if err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// credential reads the login and password that follow the heading line
// starting with heading in the demo credentials file.
func credential(creds []byte, heading string) (login, password string, err error) {
	i := bytes.Index(creds, []byte("\n"+heading))
	if i < 0 {
		return "", "", fmt.Errorf("demo credentials: no %q section", heading)
	}
	m := regexp.MustCompile(`登录名 login: (\S+)\n\s+密码 password: (\S+)`).FindSubmatch(creds[i:])
	if m == nil {
		return "", "", fmt.Errorf("demo credentials: no login and password under %q", heading)
	}
	return string(m[1]), string(m[2]), nil
}

// apiKey reads the API key under the heading line starting with heading
// in the demo credentials file.
func apiKey(creds []byte, heading string) (string, error) {
	i := bytes.Index(creds, []byte("\n"+heading))
	if i < 0 {
		return "", fmt.Errorf("demo credentials: no %q section", heading)
	}
	m := regexp.MustCompile(`登录名 login: \S+\n\s+密码 password: \S+\n\s+API 密钥 key: (ek_\S+)`).FindSubmatch(creds[i:])
	if m == nil {
		return "", fmt.Errorf("demo credentials: no API key under %q", heading)
	}
	return string(m[1]), nil
}

func (c *City) logText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log.String()
}

func (c *City) stop() {
	if c.cmd.Process == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// GetJSON fetches an API path outside the browser (to find test data) and
// decodes the JSON answer into v.
func (c *City) GetJSON(t *testing.T, path string, v any) {
	t.Helper()
	c.getJSON(t, "", path, v)
}

// AdminJSON is GetJSON with the admin's API key.
func (c *City) AdminJSON(t *testing.T, path string, v any) {
	t.Helper()
	c.getJSON(t, c.AdminKey, path, v)
}

// getJSON fetches path (with key, when given) and decodes the answer, which
// must be 200 OK.
func (c *City) getJSON(t *testing.T, key, path string, v any) {
	t.Helper()
	c.getJSONStatus(t, key, path, v, http.StatusOK)
}

// getJSONStatus fetches path (with key, when given) and returns the status;
// a 200 answer is decoded into v, any other fails the test unless it is
// among also. The public API is rate limited per client, and every flow and
// the browser share one loopback address: a 429 is waited out (its
// Retry-After) and retried, a few times.
func (c *City) getJSONStatus(t *testing.T, key, path string, v any, also ...int) int {
	t.Helper()
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequest("GET", c.Base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests && attempt < 5 {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(wait, 1)) * time.Second)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			if !slices.Contains(also, resp.StatusCode) {
				t.Fatalf("GET %s: %s\n%.500s", path, resp.Status, body)
			}
			return resp.StatusCode
		}
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode
	}
}

// startBrowser starts the one headless Chromium the flows share.
func startBrowser() (context.Context, error) {
	browserOnce.Do(func() {
		// A profile whose preferences make PDFs download instead of
		// opening in the built-in viewer, as a user who saves a report
		// would have it.
		profile := filepath.Join(workDir, "chromium-profile")
		prefs := `{"plugins": {"always_open_pdf_externally": true}, "download": {"prompt_for_download": false}}`
		if err := os.MkdirAll(filepath.Join(profile, "Default"), 0o700); err != nil {
			browserErr = err
			return
		}
		if err := os.WriteFile(filepath.Join(profile, "Default", "Preferences"), []byte(prefs), 0o600); err != nil {
			browserErr = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.UserDataDir(profile),
			chromedp.ExecPath(chromiumPath),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.WindowSize(1280, 900),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("lang", "zh-CN"),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		browserCancel = func() { cancel(); cancelAlloc() }
		if err := chromedp.Do(ctx); err != nil {
			browserErr = fmt.Errorf("start %s: %w", chromiumPath, err)
			return
		}
		browserCtx = ctx
	})
	return browserCtx, browserErr
}

// TestBrowser runs every registered flow in its own tab.
func TestBrowser(t *testing.T) {
	if skipReason != "" {
		t.Skip(skipReason)
	}
	c := city(t)
	parent, err := startBrowser()
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	sorted := slices.Clone(flows)
	slices.SortFunc(sorted, func(a, b namedFlow) int { return strings.Compare(a.name, b.name) })
	for _, f := range sorted {
		t.Run(f.name, func(t *testing.T) {
			b := newTab(t, parent, c, f.name)
			f.run(t, b)
		})
	}
}

// Tab is a flow's browser tab. Its methods fail the test (with the step
// named) rather than return errors.
type Tab struct {
	T    *testing.T
	City *City
	ctx  context.Context
	name string
}

func newTab(t *testing.T, parent context.Context, c *City, name string) *Tab {
	tab, cancelTab := chromedp.NewContext(parent)
	ctx, cancel := context.WithTimeout(tab, flowTimeout)
	t.Cleanup(func() { cancel(); cancelTab() })
	b := &Tab{T: t, City: c, ctx: tab, name: name}
	// The tab's first run opens it; a timeout must not be on that first
	// call (it would bound the tab's whole life).
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	b.ctx = ctx
	// Runs before the tab closes (cleanups run last-in first-out).
	t.Cleanup(func() {
		if t.Failed() {
			b.keepFailure()
		}
	})
	return b
}

// keepFailure writes a full-page screenshot, the page's HTML and the server
// log to the artifacts directory.
func (b *Tab) keepFailure() {
	artifactsMu.Lock()
	keepArtifacts = true
	artifactsMu.Unlock()
	dir := artifacts()
	base := filepath.Join(dir, safeName(b.T.Name()))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 20*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(base+".png", png, 0o644)
	} else {
		b.T.Logf("screenshot: %v", err)
	}
	if url, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		b.T.Logf("page at failure: %s", url)
	}
	if html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); err == nil {
		os.WriteFile(base+".html", []byte(html), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "server.log"), []byte(b.City.logText()), 0o644)
	b.T.Logf("e2e artifacts: %s.png, %s.html, %s", base, base, filepath.Join(dir, "server.log"))
}

func safeName(s string) string {
	return regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(s, "_")
}

// run runs one step with the step budget and fails the test naming it.
func (b *Tab) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.T.Fatalf("%s: %v", what, err)
	}
}

// Go opens a path of the city (or a full URL) and waits for the page.
func (b *Tab) Go(path string) {
	b.T.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = b.City.Base + path
	}
	b.run("open "+u, chromedp.Navigate(u), chromedp.WaitReady(chromedp.CSS("body")))
}

// Click clicks the first element matching the CSS selector. When the click
// loads another page, follow it with WaitText or WaitURL on the new page.
func (b *Tab) Click(sel string) {
	b.T.Helper()
	b.run("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// Type types text into the input matching sel (key by key).
func (b *Tab) Type(sel, text string) {
	b.T.Helper()
	b.run("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
}

// SetValue sets the value of an input or select (for text the keyboard
// cannot type, and for selects).
func (b *Tab) SetValue(sel, value string) {
	b.T.Helper()
	b.run("set "+sel, chromedp.SetValue(chromedp.CSS(sel), value, chromedp.NodeReady))
}

// Upload sets the files of a file input.
func (b *Tab) Upload(sel string, files ...string) {
	b.T.Helper()
	b.run("upload to "+sel, chromedp.SetUploadFiles(chromedp.CSS(sel), files, chromedp.NodeReady))
}

// eval evaluates a JavaScript expression that returns a string.
func (b *Tab) eval(expr string) (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[string](expr))
}

// texts returns the innerText of every element matching sel, in order.
func (b *Tab) texts(sel string) ([]string, error) {
	out, err := b.eval(`JSON.stringify(Array.from(document.querySelectorAll(` + jsString(sel) + `)).map(function (e) { return e.innerText; }))`)
	if err != nil {
		return nil, err
	}
	var list []string
	err = json.Unmarshal([]byte(out), &list)
	return list, err
}

// Texts returns the innerText of every element matching sel, now.
func (b *Tab) Texts(sel string) []string {
	b.T.Helper()
	list, err := b.texts(sel)
	if err != nil {
		b.T.Fatalf("read %s: %v", sel, err)
	}
	return list
}

// WaitText waits until an element matching sel contains want (the page
// after a click or a form post) and returns that element's text.
func (b *Tab) WaitText(sel, want string) string {
	b.T.Helper()
	deadline := time.Now().Add(stepTimeout)
	var last []string
	var err error
	for time.Now().Before(deadline) {
		last, err = b.texts(sel)
		if err == nil {
			for _, s := range last {
				if strings.Contains(s, want) {
					return s
				}
			}
		}
		if b.ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	url, _ := b.eval(`location.href`)
	b.T.Fatalf("no %s containing %q on %s (found %q, %v)", sel, want, url, clip(last), err)
	return ""
}

func clip(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if r := []rune(s); len(r) > 300 {
			s = string(r[:300]) + "…"
		}
		out = append(out, s)
	}
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}

// URL returns the address of the page shown.
func (b *Tab) URL() string {
	b.T.Helper()
	u, err := b.eval(`location.href`)
	if err != nil {
		b.T.Fatalf("location: %v", err)
	}
	return u
}

// WaitURL waits until the page's path (without the query) is path and the
// page has loaded (its rows are all there to read).
func (b *Tab) WaitURL(path string) {
	b.T.Helper()
	deadline := time.Now().Add(stepTimeout)
	var u string
	for time.Now().Before(deadline) && b.ctx.Err() == nil {
		u, _ = b.eval(`location.pathname`)
		if u == path {
			if st, _ := b.eval(`document.readyState`); st == "complete" {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.T.Fatalf("page did not reach %s (at %s)", path, u)
}

// Download clicks the link matching sel, lets the browser download what it
// points to, and returns the file's bytes. When the server answers with an
// error page instead (a PDF renderer that timed out on a loaded machine
// answers 503 "请稍后重试"), it goes back and tries once more.
func (b *Tab) Download(sel string) []byte {
	b.T.Helper()
	from := b.URL()
	for attempt := 1; ; attempt++ {
		data, errPage := b.tryDownload(sel)
		if data != nil {
			return data
		}
		if attempt == 2 {
			b.T.Fatalf("download from %s: the server answered a page instead: %s", sel, errPage)
		}
		b.T.Logf("download from %s answered a page instead (%s); retrying once", sel, errPage)
		b.Go(from)
	}
}

// tryDownload clicks sel and waits for the download; when the browser shows
// a page instead, it returns that page's heading and message.
func (b *Tab) tryDownload(sel string) ([]byte, string) {
	b.T.Helper()
	dir := b.T.TempDir()
	ctx, cancel := context.WithTimeout(b.ctx, downloadTimeout)
	defer cancel()
	_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: ptr(true)})
	if err != nil {
		b.T.Fatalf("allow downloads: %v", err)
	}
	href, err := b.eval(`(function () { var a = document.querySelector(` + jsString(sel) + `); return a ? new URL(a.href).pathname : ""; })()`)
	if err != nil || href == "" {
		b.T.Fatalf("no link %s on the page (%v)", sel, err)
	}
	finished := make(chan string, 1) // the GUID of a completed download, "" if canceled
	if err := chromedp.Listen(ctx, func(ev any) {
		if p, ok := ev.(*cdpbrowser.EventDownloadProgress); ok {
			switch p.State {
			case cdpbrowser.DownloadProgressStateCompleted:
				select {
				case finished <- p.GUID:
				default:
				}
			case cdpbrowser.DownloadProgressStateCanceled:
				select {
				case finished <- "":
				default:
				}
			}
		}
	}); err != nil {
		b.T.Fatalf("listen for downloads: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		b.T.Fatalf("click %s: %v", sel, err)
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case guid := <-finished:
			if guid == "" {
				b.T.Fatalf("download from %s canceled", sel)
			}
			data, err := os.ReadFile(filepath.Join(dir, guid))
			if err != nil {
				b.T.Fatal(err)
			}
			return data, ""
		case <-tick.C:
			// The link's address shown as a page: an error answer.
			page, err := b.eval(`location.pathname === ` + jsString(href) + ` && document.readyState === "complete" ? document.title + " — " + (document.querySelector("main") || document.body).innerText.slice(0, 300) : ""`)
			if err == nil && page != "" {
				return nil, page
			}
		case <-ctx.Done():
			b.T.Fatalf("download from %s: no completion within %s", sel, downloadTimeout)
		}
	}
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

func ptr[T any](v T) *T { return &v }

// Rows returns, for every table row matching sel, the innerText of its
// cells (th and td), each with its white space collapsed.
func (b *Tab) Rows(sel string) [][]string {
	b.T.Helper()
	out, err := b.eval(`JSON.stringify(Array.from(document.querySelectorAll(` + jsString(sel) + `)).map(function (tr) {
		return Array.from(tr.cells).map(function (c) { return c.innerText.replace(/\s+/g, " ").trim(); });
	}))`)
	var rows [][]string
	if err == nil {
		err = json.Unmarshal([]byte(out), &rows)
	}
	if err != nil {
		b.T.Fatalf("read rows %s: %v", sel, err)
	}
	return rows
}

// KV returns the two-column rows matching sel (th, td) as a map from the
// heading to the value, white space collapsed.
func (b *Tab) KV(sel string) map[string]string {
	b.T.Helper()
	m := map[string]string{}
	for _, r := range b.Rows(sel) {
		if len(r) == 2 {
			m[r[0]] = r[1]
		}
	}
	return m
}

// evalJSON evaluates a JavaScript expression and decodes its value (passed
// through JSON.stringify) into v.
func (b *Tab) evalJSON(expr string, v any) error {
	out, err := b.eval("JSON.stringify(" + expr + ")")
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(out), v)
}

// waitURLChange waits until the page's address is no longer from (a click
// that loads another page, which may have the same path).
func (b *Tab) waitURLChange(from string) {
	b.T.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) && b.ctx.Err() == nil {
		if u, err := b.eval(`location.href`); err == nil && u != from {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.T.Fatalf("the page stayed at %s", from)
}
