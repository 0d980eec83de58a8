package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/registry"
)

// ---- shops ----

func shopView(s *registry.Shop) registry.ShopView { return s.View() }

func (a *API) createShop(w http.ResponseWriter, r *http.Request) error {
	var in registry.ShopInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	sh, err := a.d.Registry.CreateShop(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/shops/%d", sh.ID))
	httpx.WriteJSON(w, http.StatusCreated, sh.View())
	return nil
}

func (a *API) getShop(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sh, err := a.d.Registry.GetShop(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, sh.View())
	return nil
}

func (a *API) patchShop(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var p registry.ShopPatch
	if err := httpx.DecodeJSON(r, &p); err != nil {
		return err
	}
	sh, err := a.d.Registry.UpdateShop(r.Context(), id, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, sh.View())
	return nil
}

func (a *API) listShops(w http.ResponseWriter, r *http.Request) error {
	p := newParams(r, "platform_id", "owner_id", "domain", "status", "limit", "cursor")
	f := registry.ShopFilter{
		PlatformID: p.id("platform_id"),
		OwnerID:    p.id("owner_id"),
		Domain:     strings.ToLower(p.str("domain", 253)),
		Status:     registry.Status(p.str("status", 20)),
		Limit:      p.limit(50, 500),
		After:      p.cursor(),
	}
	if f.Status != "" && !f.Status.Valid() {
		p.errs.Add("status", "未知的状态「%s」，可用：active、pending、suspended、deregistered (unknown status)", clip(string(f.Status), 20))
	}
	if err := p.err(); err != nil {
		return err
	}
	list, err := a.d.Registry.ListShops(r.Context(), f)
	if err != nil {
		return err
	}
	var last int64
	if len(list) > 0 {
		last = list[len(list)-1].ID
	}
	httpx.WriteJSON(w, http.StatusOK, Page[registry.ShopView]{Items: views(list, shopView), NextCursor: nextCursor(len(list), f.Limit, last)})
	return nil
}

// ---- accounts and keys ----

// AccountCreated is the answer to POST /api/v1/accounts: the account and
// its first API key, shown this once.
type AccountCreated struct {
	Account account.AccountView `json:"account"`
	APIKey  string              `json:"api_key,omitempty"`
}

func (a *API) createAccount(w http.ResponseWriter, r *http.Request) error {
	var in account.AccountInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	acc, key, err := a.d.Accounts.CreateAccount(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, AccountCreated{Account: acc.View(), APIKey: key})
	return nil
}

func (a *API) listAccounts(w http.ResponseWriter, r *http.Request) error {
	if err := newParams(r).err(); err != nil {
		return err
	}
	list, err := a.d.Accounts.ListAccounts(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, Page[account.AccountView]{Items: views(list, (*account.Account).View)})
	return nil
}

// KeyInput labels a new API key.
type KeyInput struct {
	Label string `json:"label,omitempty"`
}

// KeyCreated is a new API key, shown this once.
type KeyCreated struct {
	ID        int64     `json:"id"`
	AccountID int64     `json:"account_id"`
	Prefix    string    `json:"prefix"`
	Label     string    `json:"label,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	APIKey    string    `json:"api_key"`
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in KeyInput
	if r.ContentLength != 0 { // the body is optional
		if err := httpx.DecodeJSON(r, &in); err != nil {
			return err
		}
	}
	if len([]rune(in.Label)) > 100 {
		return errs.Field("label", "标签最多 100 个字符 (label too long)")
	}
	key, k, err := a.d.Accounts.CreateKey(r.Context(), id, in.Label)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, KeyCreated{ID: k.ID, AccountID: k.AccountID, Prefix: k.Prefix, Label: k.Label, CreatedAt: k.CreatedAt, APIKey: key})
	return nil
}

// Revoked is the answer to DELETE /api/v1/keys/{id}.
type Revoked struct {
	ID      int64 `json:"id"`
	Revoked bool  `json:"revoked"`
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := a.d.Accounts.RevokeKey(r.Context(), id); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, Revoked{ID: id, Revoked: true})
	return nil
}

// Me is who the caller is.
type Me struct {
	Authenticated bool            `json:"authenticated"`
	AccountID     int64           `json:"account_id,omitempty"`
	Name          string          `json:"name"`
	Role          account.Role    `json:"role"`
	RoleLabel     string          `json:"role_label"`
	SubjectID     int64           `json:"subject_id,omitempty"`
	Department    string          `json:"department,omitempty"`
	Scopes        []account.Scope `json:"scopes"`
	ClientIP      string          `json:"client_ip"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	ac := account.From(r.Context())
	scopes := ac.Role.Scopes()
	if scopes == nil {
		scopes = []account.Scope{}
	}
	httpx.WriteJSON(w, http.StatusOK, Me{Authenticated: ac.AccountID != 0, AccountID: ac.AccountID, Name: ac.Name, Role: ac.Role,
		RoleLabel: ac.Role.Label(), SubjectID: ac.SubjectID, Department: ac.Department, Scopes: scopes, ClientIP: httpx.ClientIP(r)})
	return nil
}

// ---- audit ----

// AuditEntry is the JSON form of an audit entry.
type AuditEntry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	ActorID   int64     `json:"actor_id"`
	ActorName string    `json:"actor_name,omitempty"`
	Role      string    `json:"role,omitempty"`
	Action    string    `json:"action"`
	Object    string    `json:"object"`
	Detail    string    `json:"detail,omitempty"`
	Remote    string    `json:"remote,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	Via       string    `json:"via,omitempty"`
}

// AuditPage is a page of the audit log, newest first; pass next_before as
// before for the next page.
type AuditPage struct {
	Items      []AuditEntry `json:"items"`
	NextBefore int64        `json:"next_before,omitempty"`
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	if err := account.From(r.Context()).Require(account.ScopeAuditRead); err != nil {
		return err
	}
	p := newParams(r, "actor_id", "action", "object", "before", "limit")
	f := audit.Filter{ActorID: p.id("actor_id"), Action: p.str("action", 40), Object: p.str("object", 100),
		Before: p.id("before"), Limit: p.limit(100, 500)}
	if err := p.err(); err != nil {
		return err
	}
	list, err := a.d.Audit.List(r.Context(), f)
	if err != nil {
		return errs.Wrap("httpapi.listAudit", err)
	}
	page := AuditPage{Items: make([]AuditEntry, 0, len(list))}
	for _, e := range list {
		page.Items = append(page.Items, AuditEntry{ID: e.ID, At: e.At, ActorID: e.ActorID, ActorName: e.ActorName, Role: e.Role,
			Action: e.Action, Object: e.Object, Detail: e.Detail, Remote: e.Remote, RequestID: e.RequestID, Via: e.Via})
	}
	if len(list) == f.Limit && len(list) > 0 {
		page.NextBefore = list[len(list)-1].ID
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

// ---- codes, health, metrics, the document ----

func (a *API) checkCode(w http.ResponseWriter, r *http.Request) error {
	httpx.RedactPath(r) // the path may hold a resident ID number
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	c := r.PathValue("code")
	if len(c) > maxCodeInput {
		return errs.Field("code", "代码过长（最多 %d 字节）(code too long)", maxCodeInput)
	}
	httpx.WriteJSON(w, http.StatusOK, code.Parse(c, a.d.Clock.Now()))
	return nil
}

// Health is the answer of /healthz.
type Health struct {
	Status string `json:"status"` // ok | unavailable
	Engine string `json:"engine,omitempty"`
}

func (a *API) health(w http.ResponseWriter, r *http.Request) error {
	if a.d.Ping != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.d.Ping(ctx); err != nil {
			a.log.ErrorContext(r.Context(), "health check failed", "request_id", httpx.RequestID(r), "err", err.Error())
			w.Header().Set("Retry-After", "5")
			httpx.WriteJSON(w, http.StatusServiceUnavailable, Health{Status: "unavailable", Engine: a.d.Engine})
			return nil
		}
	}
	httpx.WriteJSON(w, http.StatusOK, Health{Status: "ok", Engine: a.d.Engine})
	return nil
}

// serveMetrics serves Prometheus metrics to callers on the loopback
// interface (a scraper on the same host) and to admin keys; anyone else is
// refused.
func (a *API) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	ac := account.From(r.Context())
	ip, err := netip.ParseAddr(httpx.ClientIP(r))
	if !(err == nil && ip.IsLoopback()) && ac.Role != account.RoleAdmin {
		if ac.Role == account.RolePublic {
			return &errs.Error{Code: errs.Unauthorized, Message: "指标仅对本机或管理员密钥开放 (metrics: loopback or an admin key only)"}
		}
		return &errs.Error{Code: errs.Forbidden, Message: "指标仅对本机或管理员密钥开放 (metrics: loopback or an admin key only)"}
	}
	a.metrics.ServeHTTP(w, r)
	return nil
}

func (a *API) openapi(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openAPIDoc)
	return nil
}
