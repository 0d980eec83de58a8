package httpapi

import (
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"ecredit/errs"
	"ecredit/httpx"
)

// pathID parses the {id} wildcard: a positive integer, else 400 field "id".
func pathID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, ok := httpx.ParseID(s)
	if !ok {
		return 0, errs.Field("id", "路径中的 id 必须是正整数，而不是「%s」(id must be a positive integer)", clip(s, 40))
	}
	return id, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// params reads query parameters strictly: an unknown or repeated parameter
// is an error naming it, and each getter names the parameter it rejects.
type params struct {
	v    url.Values
	errs errs.List
}

func newParams(r *http.Request, allowed ...string) *params {
	p := &params{v: r.URL.Query()}
	for _, k := range slices.Sorted(maps.Keys(p.v)) {
		vs := p.v[k]
		known := false
		for _, a := range allowed {
			if k == a {
				known = true
				break
			}
		}
		switch {
		case !known:
			p.errs.Add(k, "未知的查询参数 %s，可用：%s (unknown query parameter)", clip(k, 40), strings.Join(allowed, ", "))
		case len(vs) > 1:
			p.errs.Add(k, "查询参数 %s 只能出现一次 (repeated query parameter)", k)
		}
	}
	return p
}

func (p *params) str(name string, max int) string {
	s := strings.TrimSpace(p.v.Get(name))
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		p.errs.Add(name, "参数 %s 过长或不是有效文本（最多 %d 个字符）(too long or invalid)", name, max)
		return ""
	}
	return s
}

func (p *params) id(name string) int64 {
	s := p.v.Get(name)
	if s == "" {
		return 0
	}
	n, ok := httpx.ParseID(s)
	if !ok {
		p.errs.Add(name, "参数 %s 必须是正整数 (must be a positive integer)", name)
		return 0
	}
	return n
}

// limit reads "limit": 1–max, default def.
func (p *params) limit(def, max int) int {
	s := p.v.Get("limit")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		p.errs.Add("limit", "参数 limit 必须是 1–%d 的整数 (limit must be 1–%d)", max, max)
		return def
	}
	return n
}

// cursor reads the opaque "cursor" of a previous page (the id of its last
// item).
func (p *params) cursor() int64 {
	s := p.v.Get("cursor")
	if s == "" {
		return 0
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	n, err2 := strconv.ParseInt(string(b), 10, 64)
	if err != nil || err2 != nil || n <= 0 {
		p.errs.Add("cursor", "参数 cursor 无效，请使用上一页返回的 next_cursor (invalid cursor)")
		return 0
	}
	return n
}

func (p *params) err() error { return p.errs.Err() }

// nextCursor is the cursor of the page after one ending at lastID, or "" when
// the page was not full.
func nextCursor(n, limit int, lastID int64) string {
	if n < limit || lastID == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(lastID, 10)))
}
