// Package httpx is the HTTP plumbing shared by the JSON API (httpapi) and the
// web site (web): the outermost middleware (request id, panic recovery,
// access log, security headers, body limit, metrics), the client address
// behind trusted proxies, the one table from error codes to HTTP statuses,
// strict JSON decoding, and per-client rate limiting.
package httpx

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"ecredit/errs"
)

// Status is the one table from error codes to HTTP statuses.
func Status(code errs.Code) int {
	switch code {
	case errs.Invalid:
		return http.StatusBadRequest
	case errs.Unauthorized:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.RateLimited:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrorDetail is one field error inside an ErrorBody.
type ErrorDetail struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// ErrorInfo is the inner object of the JSON error body.
type ErrorInfo struct {
	Code      errs.Code     `json:"code"`
	Message   string        `json:"message"`
	Field     string        `json:"field,omitempty"`
	Details   []ErrorDetail `json:"details,omitempty"`
	RequestID string        `json:"request_id,omitempty"`
}

// ErrorBody is the JSON form of every API error:
// {"error":{"code":"invalid","message":"…","field":"…","details":[…],"request_id":"…"}}.
type ErrorBody struct {
	Error ErrorInfo `json:"error"`
}

// ErrorOf builds the JSON error body of err. Internal errors carry a generic
// message and never their cause.
func ErrorOf(err error, requestID string) ErrorBody {
	code := errs.CodeOf(err)
	if code == "" {
		code = errs.Internal
	}
	info := ErrorInfo{Code: code, Message: errs.MessageOf(err), RequestID: requestID}
	if code != errs.Internal {
		info.Field = errs.FieldOf(err)
		if all := errs.All(err); len(all) > 1 {
			for _, e := range all {
				info.Details = append(info.Details, ErrorDetail{Field: e.Field, Message: e.Message})
			}
		}
	}
	if info.Message == "" {
		info.Message = http.StatusText(Status(code))
	}
	return ErrorBody{Error: info}
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"内部错误，请稍后重试 (internal error)"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte{'\n'})
}

// WriteError writes err as the JSON error body with the status of its code.
// Internal and unavailable errors are logged with their cause and the
// request id; the response carries only a generic message.
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	code := errs.CodeOf(err)
	status := Status(code)
	id := RequestID(r)
	if status >= 500 {
		if logger == nil {
			logger = slog.Default()
		}
		logger.ErrorContext(r.Context(), "request failed", "request_id", id, "method", r.Method,
			"path", loggedPath(r), "code", string(code), "err", err.Error())
	}
	if code == errs.RateLimited || code == errs.Unavailable {
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	}
	if code == errs.Unauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ecredit"`)
	}
	WriteJSON(w, status, ErrorOf(err, id))
}
