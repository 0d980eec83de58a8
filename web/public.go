package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"ecredit/account"
	"ecredit/code"
	"ecredit/disclosure"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/logistics"
	"ecredit/registry"
	"ecredit/trace"
)

// publicCtx puts the public actor in the request context.
func publicCtx(r *http.Request) context.Context {
	a := account.Public(httpx.ClientIP(r), httpx.RequestID(r))
	a.Via = "web"
	return account.With(r.Context(), a)
}

// publicView is what the public may see of a subject: the masked view
// without any phone number, with the verification state as of now.
func (s *Site) publicView(sub *registry.Subject) registry.SubjectView {
	s.refresh(sub)
	v := sub.View()
	v.Phone = ""
	if sub.Kind.Person() {
		v.Address = ""
	}
	return v
}

// refresh derives "expired" from the clock for subjects read straight from
// the store (the service does the same for its own reads).
func (s *Site) refresh(sub *registry.Subject) {
	if sub.Verify == registry.VerifyOK && !sub.ReverifyDue.IsZero() && !s.now().Before(sub.ReverifyDue) {
		sub.Verify = registry.VerifyExpired
	}
}

func (s *Site) home(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	var d homeData
	if s.d.Trace != nil {
		var err error
		if d.Recalls, _, err = s.d.Trace.PublicRecalls(publicCtx(r), 0, homeRecalls); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "home", &page{Title: "首页", Section: "home", Data: d})
}

// homeData is the home page's: the latest recalls (the notice board's
// head), when traceability is on.
type homeData struct {
	Recalls []trace.PublicRecall
}

// homeRecalls is how many of the latest recalls the home page lists.
const homeRecalls = 3

const searchLimit = 50

type searchData struct {
	Q       string
	Message string
	Results []registry.SubjectView
	ByCode  bool
	More    bool
	// Paging of full-text results (with the disclosure service).
	Offset   int
	PrevURL  string
	NextURL  string
	FullText bool
}

func (s *Site) search(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	if s.limited(w, r) {
		return
	}
	if s.d.Disclosure != nil {
		s.fullTextSearch(w, r)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := searchData{Q: q}
	status := http.StatusOK
	ctx := publicCtx(r)
	switch {
	case q == "":
		d.Message = "请输入企业名称、名称中的关键字或统一社会信用代码。"
	case utf8.RuneCountInString(q) > 100:
		d.Message = "查询内容过长，请输入不超过 100 个字符。"
		status = http.StatusBadRequest
	case looksLikeCode(q):
		d.ByCode = true
		sub, err := s.d.Registry.FindByCode(ctx, q)
		switch {
		case err == nil:
			d.Results = append(d.Results, s.publicView(sub))
		case errs.Is(err, errs.NotFound):
			d.Message = "未找到使用该统一社会信用代码登记的主体。"
		case errs.Is(err, errs.Invalid):
			d.Message = errs.MessageOf(err)
			status = http.StatusBadRequest
		default:
			s.fail(w, r, err)
			return
		}
	case utf8.RuneCountInString(q) < 2:
		d.Message = "请至少输入两个字。"
	default:
		list, err := s.d.PublicSearch(ctx, q, searchLimit+1)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(list) > searchLimit {
			list, d.More = list[:searchLimit], true
		}
		for _, sub := range list {
			d.Results = append(d.Results, s.publicView(sub))
		}
		if len(list) == 0 {
			d.Message = "没有找到名称包含「" + q + "」的主体。"
		}
	}
	s.render(w, r, status, "search", &page{Title: "主体查询", Section: "search", Data: d})
}

// searchPage is the page size of the portal's full-text search.
const searchPage = 20

// fullTextSearch is the search page over the bigram index: every two
// consecutive characters of the query must occur in the name; exact code,
// exact name and name prefix rank first. ?offset= pages.
func (s *Site) fullTextSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := searchData{Q: q, FullText: true}
	status := http.StatusOK
	if q == "" {
		d.Message = "请输入企业名称、名称中的关键字或统一社会信用代码。"
		s.render(w, r, status, "search", &page{Title: "主体查询", Section: "search", Data: d})
		return
	}
	offset := 0
	if o := r.URL.Query().Get("offset"); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 {
			s.errorPage(w, r, nil, http.StatusBadRequest, "参数 offset 应为非负整数 (offset must be a non-negative integer)")
			return
		}
		offset = n
	}
	res, err := s.d.Disclosure.Search(publicCtx(r), disclosure.SearchQuery{Q: q, Limit: searchPage, Offset: offset})
	switch {
	case err == nil:
	case errs.Is(err, errs.Invalid):
		d.Message = errs.MessageOf(err)
		s.render(w, r, http.StatusBadRequest, "search", &page{Title: "主体查询", Section: "search", Data: d})
		return
	default:
		s.fail(w, r, err)
		return
	}
	d.Results, d.ByCode, d.More, d.Offset = res.Results, res.ByCode, res.More, offset
	link := func(o int) string {
		v := url.Values{"q": {q}}
		if o > 0 {
			v.Set("offset", strconv.Itoa(o))
		}
		return "/search?" + v.Encode()
	}
	if offset > 0 {
		d.PrevURL = link(max(offset-searchPage, 0))
	}
	if res.More && offset+searchPage <= disclosure.MaxSearchOffset {
		d.NextURL = link(offset + searchPage)
	}
	if len(res.Results) == 0 {
		if res.ByCode {
			d.Message = "未找到使用该统一社会信用代码登记的主体。"
		} else {
			d.Message = "没有找到名称包含「" + q + "」的主体。"
		}
	}
	s.render(w, r, status, "search", &page{Title: "主体查询", Section: "search", Data: d})
}

// looksLikeCode reports whether a query is meant as a credit code: 18
// characters of the code alphabet once spaces and dashes are gone.
func looksLikeCode(q string) bool {
	n := strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "\u3000", "").Replace(q))
	if len(n) != 18 {
		return false
	}
	for _, c := range n {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

type profileShop struct {
	registry.ShopView
	PlatformName string
	OwnerName    string
}

type profileData struct {
	Subject      registry.SubjectView
	Shops        []profileShop // shops the subject runs
	PlatformShop []profileShop // for a platform: shops on it
	More         bool

	// Credit records in public view, when the site has the disclosure
	// service (Records false: the section is not shown at all).
	Records  bool
	Groups   []groupRows
	Disputed int
	Total    int

	// A logistics firm's grade and metrics (M4); nil for other subjects.
	Logistics *logistics.Public
	// Trade (M5): points, level, ratings over the subject's shops, and
	// agency evaluations; nil without the trade service.
	Trade *profileTrade
	// Sites: the trace sites the subject runs (M10).
	Sites []trace.SiteView
}

func (s *Site) publicSubject(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	if s.limited(w, r) {
		return
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	if s.d.Disclosure != nil {
		p, err := s.d.Disclosure.Profile(publicCtx(r), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.renderProfile(w, r, p)
		return
	}
	sub, err := s.d.Registry.Store.GetSubject(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderProfileOf(w, r, profileData{Subject: s.publicView(sub)})
}

// renderProfile shows a disclosure profile with the subject's shops.
func (s *Site) renderProfile(w http.ResponseWriter, r *http.Request, p *disclosure.Profile) {
	d := profileData{Subject: p.Subject, Records: true, Groups: groupsOf(p), Disputed: p.Disputed, Total: p.Total}
	d.Logistics = p.Logistics // logistics credit (M4)
	s.renderProfileOf(w, r, d)
}

func (s *Site) renderProfileOf(w http.ResponseWriter, r *http.Request, d profileData) {
	ctx := r.Context()
	store := s.d.Registry.Store
	id := d.Subject.ID
	pt, err := s.profileTrade(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Trade = pt
	if s.d.Trace != nil {
		if d.Sites, err = s.d.Trace.SubjectSites(ctx, id); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	names := map[int64]string{}
	nameOf := func(id int64) string {
		if n, ok := names[id]; ok {
			return n
		}
		n := ""
		if x, err := store.GetSubject(ctx, id); err == nil {
			n = s.publicView(x).Name
		}
		names[id] = n
		return n
	}
	owned, err := store.ListShops(ctx, registry.ShopFilter{OwnerID: id, Limit: 50})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, sh := range owned {
		d.Shops = append(d.Shops, profileShop{ShopView: sh.View(), PlatformName: nameOf(sh.PlatformID)})
	}
	if d.Subject.Kind == registry.KindPlatform {
		on, err := store.ListShops(ctx, registry.ShopFilter{PlatformID: id, Limit: 51})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(on) > 50 {
			on, d.More = on[:50], true
		}
		for _, sh := range on {
			d.PlatformShop = append(d.PlatformShop, profileShop{ShopView: sh.View(), OwnerName: nameOf(sh.OwnerID)})
		}
	}
	s.render(w, r, http.StatusOK, "profile", &page{Title: d.Subject.Name, Section: "search", Data: d})
}

type markData struct {
	Mark    string
	Checked bool
	Found   bool
	Message string
	Subject registry.SubjectView
}

func (s *Site) markCheck(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	m := strings.TrimSpace(r.PathValue("mark"))
	if m == "" {
		m = strings.TrimSpace(r.URL.Query().Get("m"))
	}
	d := markData{Mark: m}
	status := http.StatusOK
	if m != "" {
		d.Checked = true
		sub, err := s.d.Registry.CheckMark(publicCtx(r), m)
		switch {
		case err == nil:
			d.Found, d.Subject = true, s.publicView(sub)
		case errs.Is(err, errs.NotFound):
			d.Message = "未找到该核验标识，可能是伪造的。请勿与出示该标识的商家交易，并可向市场监管部门举报。"
			status = http.StatusNotFound
		case errs.Is(err, errs.Invalid):
			d.Message = errs.MessageOf(err)
			status = http.StatusBadRequest
		default:
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, status, "mark", &page{Title: "核验标识查验", Section: "marks", Data: d})
}

type codeData struct {
	Input  string
	Result *code.Result
}

// codeCheck parses a code typed by the visitor. The form posts, so an ID
// number typed there never appears in a URL, a log line or the history;
// GET ?c= works too for links. The page title never carries the code.
func (s *Site) codeCheck(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	var c string
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 4096)
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, r, err, http.StatusBadRequest, "表单无法解析或过大 (bad form)")
			return
		}
		c = r.PostForm.Get("c")
	} else {
		c = r.URL.Query().Get("c")
	}
	c = strings.TrimSpace(c)
	d := codeData{Input: c}
	if c != "" {
		if utf8.RuneCountInString(c) > 64 {
			c = string([]rune(c)[:64])
			d.Input = c
		}
		res := code.Parse(c, s.now())
		d.Result = &res
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "codes", &page{Title: "代码核验", Section: "codes", Data: d})
}
