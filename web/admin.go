package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/registry"
)

// ---- shops ----

type shopRow struct {
	registry.ShopView
	PlatformName string
	OwnerName    string
}

type shopsData struct {
	Platforms []option
	Platform  string
	Shops     []shopRow
	Next      string
	CanCreate bool
	Message   string
}

// platformOptions lists the registered platforms (there are few).
func (s *Site) platformOptions(ctx context.Context) ([]option, error) {
	list, err := s.d.Registry.ListSubjects(ctx, registry.Filter{Kind: registry.KindPlatform, Limit: 500})
	if err != nil {
		return nil, err
	}
	var o []option
	for _, p := range list {
		o = append(o, option{strconv.FormatInt(p.ID, 10), p.Name})
	}
	return o, nil
}

// subjectNames resolves subject ids to names, once per id.
type subjectNames struct {
	s     *Site
	ctx   context.Context
	names map[int64]string
}

func (n *subjectNames) name(id int64) string {
	if v, ok := n.names[id]; ok {
		return v
	}
	v := "#" + strconv.FormatInt(id, 10)
	if sub, err := n.s.d.Registry.GetSubject(n.ctx, id); err == nil {
		v = sub.Name
	}
	n.names[id] = v
	return v
}

func (s *Site) shops(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	ctx := r.Context()
	q := r.URL.Query()
	f := newForm(q)
	platformID := f.int64Field("platform", "平台")
	after := f.int64Field("after", "翻页位置")
	pl, err := s.platformOptions(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := shopsData{Platforms: pl, Platform: q.Get("platform"), CanCreate: c.Actor.Can(account.ScopeShopsWrite)}
	list, err := s.d.Registry.ListShops(ctx, registry.ShopFilter{PlatformID: platformID, After: after, Limit: pageSize + 1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(list) > pageSize {
		list = list[:pageSize]
		next := url.Values{}
		if platformID != 0 {
			next.Set("platform", strconv.FormatInt(platformID, 10))
		}
		next.Set("after", strconv.FormatInt(list[len(list)-1].ID, 10))
		d.Next = "?" + next.Encode()
	}
	names := &subjectNames{s: s, ctx: ctx, names: map[int64]string{}}
	for _, sh := range list {
		d.Shops = append(d.Shops, shopRow{ShopView: sh.View(), PlatformName: names.name(sh.PlatformID), OwnerName: names.name(sh.OwnerID)})
	}
	if len(list) == 0 {
		d.Message = "没有店铺。"
	}
	s.render(w, r, http.StatusOK, "shops", c.page("店铺", "shops", d))
}

type shopNewData struct {
	Platforms  []option
	Categories []option
	Form       *form
}

var shopFields = []string{"platform_id", "owner_id", "owner_credit_code", "name", "url", "category", "platform_shop_id"}

func (s *Site) shopNewForm(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if err := c.Actor.Require(account.ScopeShopsWrite); err != nil {
		s.fail(w, r, err)
		return
	}
	pl, err := s.platformOptions(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := newForm(url.Values{"platform_id": {r.URL.Query().Get("platform")}, "owner_id": {r.URL.Query().Get("owner")}})
	s.render(w, r, http.StatusOK, "shop_new", c.page("登记店铺", "shops", shopNewData{Platforms: pl, Categories: categoryOptions(), Form: f}))
}

func (s *Site) shopCreate(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	ctx := r.Context()
	f := newForm(r.PostForm)
	in := registry.ShopInput{
		PlatformID: f.int64Field("platform_id", "所属平台"), OwnerID: f.int64Field("owner_id", "经营者编号"),
		OwnerCode: strings.TrimSpace(f.Get("owner_credit_code")), Name: f.Get("name"), URL: f.Get("url"),
		Category: f.Get("category"), PlatformShopID: f.Get("platform_shop_id"),
	}
	var err error
	if !f.HasErrors() {
		var sh *registry.Shop
		sh, err = s.d.Registry.CreateShop(ctx, in)
		if err == nil {
			http.Redirect(w, r, "/console/subjects/"+strconv.FormatInt(sh.OwnerID, 10)+"?done=shop", http.StatusSeeOther)
			return
		}
		code := errs.CodeOf(err)
		if code != errs.Invalid && code != errs.Conflict {
			s.fail(w, r, err)
			return
		}
		f.fail(err, shopFields...)
	}
	pl, perr := s.platformOptions(ctx)
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	status := http.StatusBadRequest
	if errs.Is(err, errs.Conflict) {
		status = http.StatusConflict
	}
	s.render(w, r, status, "shop_new", c.page("登记店铺", "shops", shopNewData{Platforms: pl, Categories: categoryOptions(), Form: f}))
}

// ---- accounts ----

type accountRow struct {
	account.AccountView
	Keys []*account.APIKey
}

type accountsData struct {
	Accounts []accountRow
	Roles    []option
	Form     *form
	NewKey   string // shown once
	KeyFor   string // account name of NewKey
}

var accountFields = []string{"name", "role", "subject_id", "department", "login", "password", "no_key"}

func roleOptions() []option {
	var o []option
	for _, r := range account.Roles {
		o = append(o, option{string(r), r.Label()})
	}
	return o
}

func (s *Site) accountsData(ctx context.Context, f *form) (*accountsData, error) {
	list, err := s.d.Accounts.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	d := &accountsData{Roles: roleOptions(), Form: f}
	for _, a := range list {
		keys, err := s.d.Accounts.Store.ListAPIKeys(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		d.Accounts = append(d.Accounts, accountRow{AccountView: a.View(), Keys: keys})
	}
	return d, nil
}

func (s *Site) showAccounts(w http.ResponseWriter, r *http.Request, c *call, status int, f *form, notice, key, keyFor string) {
	d, err := s.accountsData(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.NewKey, d.KeyFor = key, keyFor
	p := c.page("账户与密钥", "accounts", d)
	p.Notice = notice
	s.render(w, r, status, "accounts", p)
}

func (s *Site) accounts(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if err := c.Actor.Require(account.ScopeAccountsManage); err != nil {
		s.fail(w, r, err)
		return
	}
	notice := ""
	if r.URL.Query().Get("done") == "revoked" {
		notice = "密钥已吊销，使用该密钥的请求将立即被拒绝。"
	}
	s.showAccounts(w, r, c, http.StatusOK, newForm(url.Values{"role": {string(account.RolePlatform)}}), notice, "", "")
}

func (s *Site) accountCreate(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if err := c.Actor.Require(account.ScopeAccountsManage); err != nil {
		s.fail(w, r, err)
		return
	}
	f := newForm(r.PostForm)
	in := account.AccountInput{Name: f.Get("name"), Role: account.Role(f.Get("role")), SubjectID: f.int64Field("subject_id", "关联主体编号"),
		Department: f.Get("department"), Login: f.Get("login"), Password: f.Get("password"), NoKey: f.Checked("no_key")}
	if !f.HasErrors() {
		acc, key, err := s.d.Accounts.CreateAccount(r.Context(), in)
		if err == nil {
			notice := "账户「" + acc.Name + "」已创建。"
			s.showAccounts(w, r, c, http.StatusOK, newForm(url.Values{"role": {string(account.RolePlatform)}}), notice, key, acc.Name)
			return
		}
		code := errs.CodeOf(err)
		if code != errs.Invalid && code != errs.Conflict {
			s.fail(w, r, err)
			return
		}
		f.fail(err, accountFields...)
	}
	f.Values.Del("password") // never sent back
	s.showAccounts(w, r, c, http.StatusBadRequest, f, "", "", "")
}

func (s *Site) keyCreate(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	label := strings.TrimSpace(r.PostForm.Get("label"))
	if label == "" {
		label = "控制台签发"
	}
	key, k, err := s.d.Accounts.CreateKey(r.Context(), id, label)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	who := "#" + strconv.FormatInt(k.AccountID, 10)
	if acc, err := s.d.Accounts.Store.GetAccount(r.Context(), k.AccountID); err == nil {
		who = acc.Name
	}
	s.showAccounts(w, r, c, http.StatusOK, newForm(url.Values{"role": {string(account.RolePlatform)}}), "已为「"+who+"」签发新密钥。", key, who)
}

func (s *Site) keyRevoke(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.d.Accounts.RevokeKey(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/accounts?done=revoked", http.StatusSeeOther)
}

// ---- audit log ----

type auditData struct {
	Form    *form
	Actions []option
	Entries []*audit.Entry
	Next    string
	Message string
}

var auditActions = []option{
	{audit.ActCreate, "创建"}, {audit.ActUpdate, "修改"}, {audit.ActVerify, "实名核验"},
	{audit.ActReadPersonal, "查看个人信息"}, {audit.ActLookup, "按证件号/手机号查找"},
	{audit.ActLogin, "登录"}, {audit.ActLoginFailed, "登录失败"}, {audit.ActLogout, "退出"},
	{audit.ActKeyCreate, "签发密钥"}, {audit.ActKeyRevoke, "吊销密钥"},
}

func (s *Site) auditLog(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if err := c.Actor.Require(account.ScopeAuditRead); err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := newForm(q)
	flt := audit.Filter{ActorID: f.int64Field("actor", "操作人编号"), Action: q.Get("action"),
		Object: strings.TrimSpace(q.Get("object")), Before: f.int64Field("before", "翻页位置"), Limit: pageSize + 1}
	d := auditData{Form: f, Actions: auditActions}
	if f.HasErrors() {
		s.render(w, r, http.StatusBadRequest, "audit", c.page("审计日志", "audit", d))
		return
	}
	list, err := s.d.Audit.List(r.Context(), flt)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(list) > pageSize {
		list = list[:pageSize]
		next := url.Values{}
		for _, k := range []string{"actor", "action", "object"} {
			if v := q.Get(k); v != "" {
				next.Set(k, v)
			}
		}
		next.Set("before", strconv.FormatInt(list[len(list)-1].ID, 10))
		d.Next = "?" + next.Encode()
	}
	d.Entries = list
	if len(list) == 0 {
		d.Message = "没有符合条件的审计记录。"
	}
	s.render(w, r, http.StatusOK, "audit", c.page("审计日志", "audit", d))
}
