package proof

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// malformedCount is how many malformed requests the campaign sends
// (PROOF_MALFORMED raises it; PROOF_SEED changes the sequence).
func malformedCount() int {
	if n, err := strconv.Atoi(os.Getenv("PROOF_MALFORMED")); err == nil && n > 0 {
		return n
	}
	return 10000
}

func malformedSeed() uint64 {
	if n, err := strconv.ParseUint(os.Getenv("PROOF_SEED"), 10, 64); err == nil {
		return n
	}
	return 20261125
}

// Bad values for path parameters and query values.
var badValues = []string{
	"", "0", "-1", "-9223372036854775808", "9223372036854775808", "99999999999999999999999999", "NaN", "Inf", "-Inf", "1e309", "1.5", "+1",
	" 1", "0x10", "1_000", "１２３", "٣", "null", "true", "[]", "{}", "\x00", "%00", "../../etc/passwd", "..", ".", "~",
	"' OR '1'='1", "1; DROP TABLE subjects; --", "\" OR 1=1 --", "1' UNION SELECT * FROM accounts --",
	"<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "{{.}}", "${jndi:ldap://x}", "%s%s%s%n",
	"😀", "\u202e\u0041", "\ufeff1", "张三", "\u00a0", "\t", "\r\nX-Injected: 1", strings.Repeat("9", 300),
	strings.Repeat("字", 500), strings.Repeat("A", 5000), "130802199001011235", "91110000600037341L", "ECM-0000-0000-0000",
	"penalty.exe", "licence.", ".csv", "report.", "withdraw/../withdraw", "a/b", "2026-13-45", "0000-00-00", "99999-01-01",
}

// Broken JSON bodies.
var badJSON = []string{
	"", "{", "}", "[", "]", "{\"", "{\"name\":", "{\"name\":\"a\"", "{\"name\":\"a\",}", "{'name':'a'}", "nul", "null", "true", "0", "-",
	"\"string\"", "[1,2,3]", "{\"name\":\"a\"}{\"name\":\"b\"}", "{\"name\":\"a\"} trailing", "{\"a\":1e999999}", "{\"fine\":1e400}",
	"{\"owner_id\":123456789012345678901234567890}", "{\"owner_id\":-1}", "{\"owner_id\":1.5}", "{\"owner_id\":\"1\"}", "{\"valid_days\":\"10\"}",
	"{\"passed\":\"yes\"}", "{\"name\":\"a\",\"name\":\"b\"}", "{\"__proto__\":{\"admin\":true}}", "{\"constructor\":{}}",
	"{\"kind\":123}", "{\"kind\":null}", "{\"fields\":[]}", "{\"fields\":{\"a\":1}}", "{\"fields\":{\"a\":{\"b\":\"c\"}}}", "{\"type\":\"penalty\",\"fields\":null}",
	"\ufeff{\"name\":\"a\"}", "\xef\xbb\xbf\xef\xbb\xbf{}", "{\"name\":\"\xff\xfe\"}", "{\"name\":\"\\ud800\"}", "{\"name\":\"\\u0000\"}",
	"\xff\xfe{\x00\"\x00}\x00", "{\"reason\":" + strconv.Quote(strings.Repeat("长", 100000)) + "}", "{\"id\":1,\"role\":\"admin\"}",
	"{\"name\":\"" + strings.Repeat("a", 1<<16) + "\"}", "{\"a\":" + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "}",
	strings.Repeat("[", 50000), strings.Repeat("{\"a\":", 20000) + "1" + strings.Repeat("}", 20000),
	"{\"label\":" + strings.Repeat("9", 1000) + "}", "{\"approve\":1}", "{\"upheld\":\"true\"}", "{\"revoked_on\":\"2026-02-30\"}",
	"{\"revoked_on\":\"9999-12-31\"}", "{\"revoked_on\":\"-0001-01-01\"}", "{\"reason\":\"x\",\"revoked_on\":\"20261301\"}",
}

// Broken NDJSON batch bodies.
var badNDJSON = []string{
	"\n\n\n", "{\n}", "{}\n{}\n{}", "[]\n", "[{}]", "[{},", "{\"type\":\"penalty\"}\n{\"type\":", "\xff\xfe\n", "\ufeff{}\n",
	strings.Repeat("{}\n", 1200), strings.Repeat("{\"type\":\"penalty\",\"fields\":{}}\n", 50), "{\"kind\":\"merchant\"}\r\n{\"kind\":\"seller\"}\r\n",
	strings.Repeat("x", 200000) + "\n", "null\nnull\n", "1\n2\n", "\"a\"\n", "{\"type\":\"penalty\",\"fields\":{\"处罚决定日期\":\"2026-02-30\"}}\n",
	"{\"type\":\"penalty\",\"fields\":{\"证件号码\":\"130802199001011235\",\"行政相对人名称\":\"张三\"}}\n",
}

var contentTypes = []string{
	"application/json", "application/x-ndjson", "text/plain", "application/xml", "multipart/form-data", "multipart/form-data; boundary=",
	"application/x-www-form-urlencoded", "application/json; charset=gb18030", "application/json; charset=\"", ";;;", "\x00", "",
	"text/csv", "application/octet-stream", strings.Repeat("a/", 200),
}

var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "FOO"}

// wildcard matches a ServeMux wildcard.
var wildcard = regexp.MustCompile(`\{([a-z]+)(\.\.\.)?\}|\{\$\}`)

// campaign is the state of one malformed-request run.
type campaign struct {
	e        *env
	routes   []string // patterns
	bodies   map[string][]byte
	keyIDs   []int64 // throwaway keys the key routes may revoke
	sessions map[role]session
}

func (c *campaign) fill(rng *rand.Rand, pattern string, bad bool) string {
	_, path, _ := strings.Cut(pattern, " ")
	return wildcard.ReplaceAllStringFunc(path, func(w string) string {
		if w == "{$}" {
			return ""
		}
		name := wildcard.FindStringSubmatch(w)[1]
		if bad || rng.IntN(3) == 0 {
			return url.PathEscape(badValues[rng.IntN(len(badValues))])
		}
		switch name {
		case "id":
			if strings.Contains(path, "/keys/") {
				return id(c.keyIDs[rng.IntN(len(c.keyIDs))])
			}
			return strconv.Itoa(1 + rng.IntN(60))
		case "code":
			return c.e.merchantA.CreditCode
		case "mark":
			return c.e.merchantA.Mark
		case "file":
			return []string{"penalty.csv", "licence.xlsx", "penalty.xlsx"}[rng.IntN(3)]
		case "name":
			return "site.css"
		case "rest":
			return []string{"report", "x", "code"}[rng.IntN(3)]
		case "action":
			return []string{"withdraw", "answer", "review", "decide", "objection", "repair", "delete"}[rng.IntN(7)]
		}
		return "x"
	})
}

func (c *campaign) junkQuery(rng *rand.Rand) string {
	keys := []string{"q", "limit", "cursor", "offset", "kind", "status", "region", "verification", "platform_id", "owner_id", "name",
		"type", "public", "after", "from", "to", "codes", "index", "size", "old", "new", "h", "next", "code", "done", "actor_id", "before", "x"}
	var parts []string
	for n := 1 + rng.IntN(4); n > 0; n-- {
		k := keys[rng.IntN(len(keys))]
		v := badValues[rng.IntN(len(badValues))]
		switch rng.IntN(6) {
		case 0:
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v)+"&"+url.QueryEscape(k)+"=2") // repeated
		case 1:
			parts = append(parts, url.QueryEscape(k)) // no value
		default:
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	return "?" + strings.Join(parts, "&")
}

// mutate breaks a valid body: truncation, a flipped byte, a wrong type.
func mutate(rng *rand.Rand, b []byte) []byte {
	if len(b) == 0 {
		return []byte(badJSON[rng.IntN(len(badJSON))])
	}
	out := append([]byte(nil), b...)
	switch rng.IntN(5) {
	case 0:
		return out[:rng.IntN(len(out))]
	case 1:
		out[rng.IntN(len(out))] ^= byte(1 + rng.IntN(255))
		return out
	case 2:
		return bytes.Replace(out, []byte(`"`), []byte(``), 1+rng.IntN(3))
	case 3:
		s := string(out)
		if i := strings.Index(s, ":"); i >= 0 {
			vals := []string{"1e999", "[]", "{}", "null", "-1", "true", "\"\\ud800\"", "18446744073709551616"}
			return []byte(s[:i+1] + vals[rng.IntN(len(vals))] + "," + s[i+1:])
		}
		return out
	default:
		return append(out, []byte(badJSON[rng.IntN(len(badJSON))])...)
	}
}

// malformed is one generated request; raw, when set, is sent as is over
// a TCP connection (request lines net/http's client refuses to write).
type malformed struct {
	who role
	rq  req
	raw []byte
}

func (c *campaign) generate(rng *rand.Rand) malformed {
	pattern := c.routes[rng.IntN(len(c.routes))]
	method, _, _ := strings.Cut(pattern, " ")
	who := roles[rng.IntN(len(roles))]
	m := malformed{who: who, rq: req{method: method}}
	path := c.fill(rng, pattern, false)
	body := c.bodies[pattern]
	console := strings.HasPrefix(path, "/console/")
	switch k := rng.IntN(100); {
	case k < 10: // wrong method
		m.rq.method = methods[rng.IntN(len(methods))]
		m.rq.body = body
	case k < 25: // bad path parameters
		path = c.fill(rng, pattern, true)
		m.rq.body = body
	case k < 38: // bad query parameters
		path += c.junkQuery(rng)
	case k < 55: // broken JSON bodies
		if rng.IntN(2) == 0 {
			m.rq.body = mutate(rng, body)
		} else {
			m.rq.body = []byte(badJSON[rng.IntN(len(badJSON))])
		}
		m.rq.ctype = "application/json"
	case k < 62: // broken NDJSON
		m.rq.body = []byte(badNDJSON[rng.IntN(len(badNDJSON))])
		m.rq.ctype = "application/x-ndjson"
	case k < 69: // wrong content types
		m.rq.body = body
		if len(m.rq.body) == 0 {
			m.rq.body = []byte("a=b")
		}
		m.rq.ctype = contentTypes[rng.IntN(len(contentTypes))]
	case k < 71: // oversized bodies
		m.rq.body = bytes.Repeat([]byte("{\"a\":\"xxxxxxxxxxxxxxx\"},"), (1<<20)/22+rng.IntN(4096))
		m.rq.ctype = "application/json"
	case k < 80: // bad auth headers
		h := http.Header{}
		switch rng.IntN(8) {
		case 0:
			h.Set("Authorization", "Bearer")
		case 1:
			h.Set("Authorization", "Basic YWRtaW46YWRtaW4=")
		case 2:
			h.Set("Authorization", "Bearer ek_"+badValues[rng.IntN(len(badValues))])
		case 3:
			h.Set("Authorization", "Bearer "+strings.Repeat("k", 8000))
		case 4:
			h.Set("X-API-Key", "ek_garbage")
			h.Set("Authorization", "Bearer "+c.e.keys[rPlatA])
		case 5:
			h.Set("Cookie", "ecredit_session="+strings.Repeat("s", 4000))
		case 6:
			h.Set("Cookie", "ecredit_session=\x7f; ecredit_session=a")
		default:
			h.Set("Authorization", "bearer  "+c.e.keys[rPlatB][:10])
		}
		m.rq.header, m.rq.body = h, body
	case k < 83: // a signed-in upload of a broken file
		who = []role{rDept, rAdmin}[rng.IntN(2)]
		m.who, path, console = who, "/console/records/import", true
		file := penaltyCSV(c.e, 2, true)
		switch rng.IntN(4) {
		case 0:
			file = mutate(rng, file)
		case 1:
			file = []byte("PK\x03\x04" + badJSON[rng.IntN(len(badJSON))])
		case 2:
			file = []byte("\xff\xfe" + strings.Repeat("\x00,", 1000))
		}
		name := []string{"a.csv", "a.xlsx", "a.txt", "", "../../a.csv"}[rng.IntN(5)]
		m.rq.method, m.rq.form, m.rq.file, m.rq.fileName = "POST", url.Values{"type": {[]string{"penalty", "licence", "other", "x"}[rng.IntN(4)]},
			"source": {badValues[rng.IntN(len(badValues))]}, "csrf": {c.sessions[who].csrf}}, file, name
	case k < 92 && console: // console forms: missing, forged, another session's CSRF
		f := url.Values{"reason": {badValues[rng.IntN(len(badValues))]}, "name": {badValues[rng.IntN(len(badValues))]},
			"kind": {"merchant"}, "version": {badValues[rng.IntN(len(badValues))]}, "login": {"proof.nobody"}, "password": {"x"}}
		switch rng.IntN(4) {
		case 0: // missing
		case 1:
			f.Set("csrf", "forged-"+strconv.Itoa(rng.IntN(1000)))
		case 2:
			f.Set("csrf", c.e.sessions[rPlatA].csrf) // another session's token
		default:
			f["csrf"] = []string{"a", "b"}
		}
		m.rq.method, m.rq.form, m.rq.noCSRF = "POST", f, true
	case k < 96: // raw request lines
		target := []string{path + "%zz", path + "%", path + "/%c0%ae%c0%ae/", "/" + strings.Repeat("a/", 2000), path + "?%zz=1", path + "#frag",
			"*", "http://evil.example" + path, path + "\t", path + "?q=%E4%B8"}[rng.IntN(10)]
		meth := methods[rng.IntN(len(methods))]
		cl := ""
		b := body
		if rng.IntN(3) == 0 {
			cl = "Content-Length: 5\r\n" // shorter than the body
			b = append(append([]byte(nil), b...), "{\"x\":1}\r\n"...)
		} else if len(b) > 0 {
			cl = "Content-Length: " + strconv.Itoa(len(b)) + "\r\n"
		}
		m.raw = []byte(meth + " " + target + " HTTP/1.1\r\nHost: proof\r\nX-Forwarded-For: " + c.e.clientAddr() + "\r\n" + cl + "Connection: close\r\n\r\n" + string(b))
	default: // forms with junk fields, encodings and sizes
		f := url.Values{}
		for n := rng.IntN(6); n >= 0; n-- {
			f.Add(badValues[rng.IntN(len(badValues))], badValues[rng.IntN(len(badValues))])
		}
		m.rq.method, m.rq.form = "POST", f
		if rng.IntN(3) == 0 {
			m.rq.form = nil
			m.rq.body, m.rq.ctype = []byte("a=%zz&b=%&c="+strings.Repeat("%E4", 1000)), "application/x-www-form-urlencoded"
		}
	}
	m.rq.path = path
	if console && m.rq.form == nil && m.rq.header == nil && (who == rDept || who == rAdmin) && rng.IntN(2) == 0 {
		// a signed-in staff request with a body but no form token
		m.rq.header = http.Header{"Cookie": {"ecredit_session=" + c.sessions[who].token}}
	}
	return m
}

// rawOf writes rq as raw HTTP/1.1 (for headers net/http's client will
// not send).
func rawOf(rq req) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: proof\r\nConnection: close\r\n", rq.method, rq.path)
	for k, vs := range rq.header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if rq.ctype != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", rq.ctype)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(rq.body))
	b.Write(rq.body)
	return b.Bytes()
}

// sendRaw writes a raw request and reads the status of the answer.
func (c *campaign) sendRaw(raw []byte) (int, error) {
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(c.e.srv.URL, "http://"), 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write(raw); err != nil {
		return 0, err
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// TestMalformedRequests sends a seeded campaign of malformed requests
// across every route of the API and the site: no answer may be a 5xx, no
// handler may panic.
func TestMalformedRequests(t *testing.T) {
	e := setup(t)
	api, site := routesOf(t, e)
	c := &campaign{e: e, routes: append(api, site...), bodies: map[string][]byte{}, sessions: map[role]session{}}
	// Valid bodies to break, from the access matrix's requests.
	for _, set := range [][]accessCase{apiCases, webCases} {
		for _, ac := range set {
			if _, done := c.bodies[ac.pattern]; done || ac.pattern == "POST /console/logout" {
				continue
			}
			rq := ac.req(e, rAdmin)
			if rq.form != nil {
				c.bodies[ac.pattern] = []byte(rq.form.Encode())
			} else {
				c.bodies[ac.pattern] = rq.body
			}
		}
	}
	for i := 0; i < 20; i++ {
		_, k := must2(e.app.Accounts.CreateKey(system, e.actors[rAgency].AccountID, "campaign"))
		c.keyIDs = append(c.keyIDs, k.ID)
	}
	for _, r := range roles[1:] {
		c.sessions[r] = must(e.login(r))
	}
	n := malformedCount()
	seed := malformedSeed()
	panics0 := e.panics()
	errs0, _ := e.serverErrors(t)

	const workers = 4
	var sent, fiveXX, transport, rawSent atomic.Int64
	statuses := make([]atomic.Int64, 600)
	var mu sync.Mutex
	var failures, slow []string
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for i := w; i < n; i += workers {
				m := c.generate(rng)
				var status int
				var err error
				start := time.Now()
				if m.raw == nil {
					var r resp
					r, err = c.e.sendAs(m.who, m.rq, c.sessions)
					status = r.status
					if err != nil && strings.Contains(err.Error(), "invalid header field") {
						m.raw, err = rawOf(m.rq), nil // headers the client refuses to write
					}
				}
				if m.raw != nil {
					status, err = c.sendRaw(m.raw)
					rawSent.Add(1)
				}
				if d := time.Since(start); d > 500*time.Millisecond {
					mu.Lock()
					slow = append(slow, fmt.Sprintf("%v %s %.80q %d bytes", d.Round(time.Millisecond), m.rq.method, m.rq.path, len(m.rq.body)+len(m.raw)))
					mu.Unlock()
				}
				sent.Add(1)
				if err != nil {
					transport.Add(1)
					mu.Lock()
					if len(failures) < 30 {
						failures = append(failures, fmt.Sprintf("#%d %s %.200q: transport error %v", i, m.rq.method, m.rq.path, err))
					}
					mu.Unlock()
					continue
				}
				if status > 0 && status < len(statuses) {
					statuses[status].Add(1)
				}
				if status >= 500 {
					fiveXX.Add(1)
					mu.Lock()
					if len(failures) < 30 {
						failures = append(failures, fmt.Sprintf("#%d as %s: %s %.200q ctype %q body %.200q raw %.200q → %d",
							i, m.who, m.rq.method, m.rq.path, m.rq.ctype, m.rq.body, m.raw, status))
					}
					mu.Unlock()
				}
			}
		}(w)
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	panics := e.panics() - panics0
	errs1, lines := e.serverErrors(t)
	if panics != 0 {
		t.Errorf("%d panics in the server log", panics)
	}
	if errs1 != errs0 {
		t.Errorf("/metrics counts %v new 5xx answers:\n%s", errs1-errs0, lines)
	}
	if fiveXX.Load() != 0 || transport.Load() != 0 {
		t.Errorf("%d 5xx answers, %d transport errors", fiveXX.Load(), transport.Load())
	}
	var hist []string
	for s := range statuses {
		if v := statuses[s].Load(); v > 0 {
			hist = append(hist, fmt.Sprintf("%d×%d", s, v))
		}
	}
	t.Logf("malformed campaign (seed %d): %d requests (%d raw) over %d routes, %d 5xx, %d panics; statuses %s",
		seed, sent.Load(), rawSent.Load(), len(c.routes), fiveXX.Load(), panics, strings.Join(hist, " "))
	if len(slow) > 0 {
		t.Logf("%d requests took over 0.5 s, e.g. %s", len(slow), strings.Join(slow[:min(len(slow), 10)], "; "))
	}
	if sent.Load() < int64(n) {
		t.Errorf("sent %d of %d", sent.Load(), n)
	}
}

// sendAs is send with the campaign's own console sessions, so that a
// forged form cannot sign the shared ones out.
func (e *env) sendAs(r role, rq req, sessions map[role]session) (resp, error) {
	if s, ok := sessions[r]; ok && rq.header == nil && !isAPIPath(rq.path) {
		rq.header = http.Header{"Cookie": {"ecredit_session=" + s.token}}
		return e.send(rPublic, rq)
	}
	return e.send(r, rq)
}
