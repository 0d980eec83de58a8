package httpapi

import (
	"net/http"
	"strconv"

	"ecredit/disclosure"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/registry"
)

// The public disclosure API: search by name or credit code, and a subject's
// public profile by credit code. Both are open to anyone, rate limited per
// client by PublicLimiter, and return personal data only masked.

func (a *API) disclosure() (*disclosure.Service, error) {
	if a.d.Disclosure == nil {
		return nil, &errs.Error{Code: errs.Unavailable, Message: "公示查询服务未启用 (disclosure is not configured)"}
	}
	return a.d.Disclosure, nil
}

// publicSearch is GET /api/v1/public/subjects?q=&kind=&region=&limit=&offset=.
func (a *API) publicSearch(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	svc, err := a.disclosure()
	if err != nil {
		return err
	}
	p := newParams(r, "q", "kind", "region", "limit", "offset")
	q := disclosure.SearchQuery{Q: p.str("q", disclosure.MaxQueryRunes), Kind: registry.Kind(p.str("kind", 20)),
		Region: p.str("region", 6), Limit: p.limit(disclosure.DefaultSearchLimit, disclosure.MaxSearchLimit)}
	if s := p.v.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > disclosure.MaxSearchOffset {
			p.errs.Add("offset", "参数 offset 必须是 0–%d 的整数 (offset must be 0–%d)", disclosure.MaxSearchOffset, disclosure.MaxSearchOffset)
		}
		q.Offset = n
	}
	if err := p.err(); err != nil {
		return err
	}
	page, err := svc.Search(r.Context(), q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, page)
	return nil
}

// publicProfile is GET /api/v1/public/subjects/{code}: the public profile
// (identity, verification, records in their publicity window grouped by
// type, disputed marks) of the organisation with the credit code.
func (a *API) publicProfile(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	svc, err := a.disclosure()
	if err != nil {
		return err
	}
	c := r.PathValue("code")
	if len(c) > maxCodeInput {
		return errs.Field("code", "代码过长（最多 %d 字节）(code too long)", maxCodeInput)
	}
	p, err := svc.ProfileByCode(r.Context(), c)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}
