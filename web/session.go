package web

import (
	"context"
	"crypto/subtle"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"ecredit/account"
	"ecredit/errs"
	"ecredit/httpx"
)

const (
	sessionCookie = "ecredit_session"
	loginCookie   = "ecredit_login_csrf" // double-submit token of the sign-in form
	maxFormBytes  = 1 << 20
)

// call is a signed-in console request.
type call struct {
	Actor account.Actor
	Sess  *account.Session
	Token string // the session token from the cookie
}

// page returns a page for this call with the actor and CSRF token filled in.
func (c *call) page(title, section string, data any) *page {
	a := c.Actor
	return &page{Title: title, Section: section, Actor: &a, CSRF: c.Sess.CSRF, Data: data}
}

// staffRoles may use the console.
func staffRole(r account.Role) bool { return r == account.RoleDepartment || r == account.RoleAdmin }

type callKey struct{}

// callOf returns the signed-in console call of a request, if any.
func callOf(r *http.Request) *call {
	c, _ := r.Context().Value(callKey{}).(*call)
	return c
}

// staff wraps a console handler: it resolves the session cookie to an actor
// (redirecting to the sign-in page when there is none), admits only
// department and admin accounts, checks the CSRF token of every POST and
// puts the actor in the request context.
func (s *Site) staff(h func(http.ResponseWriter, *http.Request, *call)) http.Handler {
	return s.session(h, false)
}

// session is staff without the role check when anyRole is set (signing
// out works for every signed-in account).
func (s *Site) session(h func(http.ResponseWriter, *http.Request, *call), anyRole bool) http.Handler {
	return s.guard(h, anyRole, 0)
}

// guard is session; with upload > 0 a multipart POST of up to upload
// bytes is accepted (its CSRF token is a field of the multipart form).
func (s *Site) guard(h func(http.ResponseWriter, *http.Request, *call), anyRole bool, upload int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, _ := r.Cookie(sessionCookie)
		token := ""
		if ck != nil {
			token = ck.Value
		}
		actor, sess, err := s.d.Accounts.SessionActor(r.Context(), token, httpx.ClientIP(r), httpx.RequestID(r))
		if err != nil {
			if errs.Is(err, errs.Unauthorized) {
				if token != "" {
					s.clearCookie(w, sessionCookie, "/")
				}
				if r.Method != http.MethodGet && r.Method != http.MethodHead {
					s.errorPage(w, r, nil, http.StatusForbidden, "会话已过期，请重新登录后再提交 (session expired)")
					return
				}
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.fail(w, r, err)
			return
		}
		c := &call{Actor: actor, Sess: sess, Token: token}
		r = r.WithContext(context.WithValue(account.With(r.Context(), actor), callKey{}, c))
		if !anyRole && !staffRole(actor.Role) {
			s.errorPage(w, r, nil, http.StatusForbidden, "管理控制台仅供政府部门和市信用办工作人员使用；当前角色为「"+actor.Role.Label()+"」。")
			return
		}
		if r.Method == http.MethodPost {
			if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); upload > 0 && ct == "multipart/form-data" {
				if !s.parseUpload(w, r, upload) {
					return
				}
				defer r.MultipartForm.RemoveAll()
			} else {
				r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
				if err := r.ParseForm(); err != nil {
					s.errorPage(w, r, err, http.StatusBadRequest, "表单无法解析或过大 (bad form)")
					return
				}
			}
			if !tokenEqual(r.PostForm.Get("csrf"), sess.CSRF) {
				s.errorPage(w, r, nil, http.StatusForbidden, "表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试 (CSRF check failed)")
				return
			}
		}
		h(w, r, c)
	})
}

// tokenEqual compares a presented token with the expected one in constant
// time; an empty expected token never matches.
func tokenEqual(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func (s *Site) setCookie(w http.ResponseWriter, name, value, path string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: s.d.Secure, SameSite: sameSite})
}

func (s *Site) clearCookie(w http.ResponseWriter, name, path string) {
	s.setCookie(w, name, "", path, -1, http.SameSiteLaxMode)
}

// safeNext returns next if it is a same-site path, else "/console/".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/console/"
	}
	if !strings.HasPrefix(next, "/console/") || !strings.HasPrefix(u.Path, "/console/") || strings.HasPrefix(u.Path, "/console/login") {
		return "/console/"
	}
	return next
}

type loginData struct {
	Login string
	Next  string
	Error string
	// Challenge is set on the second step (a TOTP code) of a sign-in
	// whose password was right.
	Challenge string
}

func (s *Site) loginForm(w http.ResponseWriter, r *http.Request) {
	s.showLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

// showLogin renders the sign-in form with a fresh double-submit token.
func (s *Site) showLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	tok, _ := account.NewToken()
	s.setCookie(w, loginCookie, tok, "/console/login", 3600, http.SameSiteStrictMode)
	s.render(w, r, status, "login", &page{Title: "工作人员登录", Section: "login", CSRF: tok, Data: d})
}

// loginPost parses a sign-in form and checks its double-submit token.
func (s *Site) loginPost(w http.ResponseWriter, r *http.Request) (loginData, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, err, http.StatusBadRequest, "表单无法解析或过大 (bad form)")
		return loginData{}, false
	}
	ck, _ := r.Cookie(loginCookie)
	if ck == nil || !tokenEqual(r.PostForm.Get("csrf"), ck.Value) {
		s.errorPage(w, r, nil, http.StatusForbidden, "登录表单已失效（CSRF 校验失败），请重新打开登录页 (CSRF check failed)")
		return loginData{}, false
	}
	return loginData{Login: strings.TrimSpace(r.PostForm.Get("login")), Next: safeNext(r.PostForm.Get("next"))}, true
}

func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	d, ok := s.loginPost(w, r)
	if !ok {
		return
	}
	ctx := account.With(r.Context(), account.Public(httpx.ClientIP(r), httpx.RequestID(r)))
	res, err := s.d.Accounts.Login(ctx, d.Login, r.PostForm.Get("password"), httpx.ClientIP(r))
	s.loginDone(w, r, d, res, err)
}

// loginCode is the second step of a sign-in: the TOTP code.
func (s *Site) loginCode(w http.ResponseWriter, r *http.Request) {
	d, ok := s.loginPost(w, r)
	if !ok {
		return
	}
	d.Challenge = r.PostForm.Get("challenge")
	ctx := account.With(r.Context(), account.Public(httpx.ClientIP(r), httpx.RequestID(r)))
	res, err := s.d.Accounts.LoginTOTP(ctx, d.Challenge, strings.TrimSpace(r.PostForm.Get("code")), httpx.ClientIP(r))
	s.loginDone(w, r, d, res, err)
}

// loginDone shows the outcome of a sign-in step: the code step, the form
// again with the error (the code step again for a wrong code), or the
// session cookie and the page asked for.
func (s *Site) loginDone(w http.ResponseWriter, r *http.Request, d loginData, res *account.LoginResult, err error) {
	if err != nil {
		if errs.Is(err, errs.Unauthorized) {
			d.Error = errs.MessageOf(err)
			if errs.FieldOf(err) != "code" {
				d.Challenge = ""
			}
			s.showLogin(w, r, http.StatusUnauthorized, d)
			return
		}
		s.fail(w, r, err)
		return
	}
	if res.Challenge != "" {
		d.Challenge = res.Challenge
		s.showLogin(w, r, http.StatusOK, d)
		return
	}
	s.clearCookie(w, loginCookie, "/console/login")
	maxAge := int(res.Session.ExpiresAt.Sub(s.now()).Seconds())
	s.setCookie(w, sessionCookie, res.Token, "/", maxAge, http.SameSiteLaxMode)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (s *Site) logout(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.d.Accounts.Logout(r.Context(), c.Token); err != nil {
		s.fail(w, r, err)
		return
	}
	s.clearCookie(w, sessionCookie, "/")
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}
