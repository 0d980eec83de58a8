package web

import (
	"net/http"

	"ecredit/errs"
)

// limited takes a token of the public limiter for the caller of r and, when
// none is left, answers 429 with Retry-After and reports true. The portal's
// search and profile pages (and the reports behind them) call it: they are
// what a scraper would crawl.
func (s *Site) limited(w http.ResponseWriter, r *http.Request) bool {
	if s.d.PublicLimiter == nil {
		return false
	}
	err := s.d.PublicLimiter.Check(w, r)
	if err == nil {
		return false
	}
	s.errorPage(w, r, err, http.StatusTooManyRequests, errs.MessageOf(err))
	return true
}
