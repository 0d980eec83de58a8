package web

import (
	"html/template"
	"net/http"

	"ecredit/errs"
)

// The console's second-factor enrolment (account.Service.BeginTOTP,
// ConfirmTOTP): every signed-in account with a console login may enrol.
func init() { pageNames = append(pageNames, "totp") }

type totpData struct {
	Login   string
	Enabled bool
	Secret  string
	URI     string
	QR      template.URL // PNG data URI of URI
	Error   string
}

// totpPage shows the signed-in user's second factor: enabled, or the
// enrolment in progress (secret, otpauth URI, QR code, code form), or the
// button that starts one.
func (s *Site) totpPage(w http.ResponseWriter, r *http.Request, c *call) {
	s.showTOTP(w, r, c, http.StatusOK, "", "")
}

func (s *Site) showTOTP(w http.ResponseWriter, r *http.Request, c *call, status int, msg, notice string) {
	st, err := s.d.Accounts.TOTP(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := totpData{Login: st.Login, Enabled: st.Enabled, Error: msg}
	if st.Pending != nil {
		qr, err := qrDataURI(st.Pending.URI)
		if err != nil {
			s.errorPage(w, r, err, http.StatusInternalServerError, "")
			return
		}
		d.Secret, d.URI, d.QR = st.Pending.Secret, st.Pending.URI, qr
	}
	p := c.page("双因素认证", "totp", d)
	p.Notice = notice
	s.render(w, r, status, "totp", p)
}

func (s *Site) totpBegin(w http.ResponseWriter, r *http.Request, c *call) {
	if _, err := s.d.Accounts.BeginTOTP(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/totp", http.StatusSeeOther)
}

func (s *Site) totpConfirm(w http.ResponseWriter, r *http.Request, c *call) {
	err := s.d.Accounts.ConfirmTOTP(r.Context(), r.PostForm.Get("code"))
	if err != nil {
		if errs.Is(err, errs.Invalid) {
			s.showTOTP(w, r, c, http.StatusBadRequest, errs.MessageOf(err), "")
			return
		}
		s.fail(w, r, err)
		return
	}
	s.showTOTP(w, r, c, http.StatusOK, "", "双因素认证已启用：今后登录需输入身份验证器中的动态验证码。")
}
