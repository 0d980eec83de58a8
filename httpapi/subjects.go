package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"ecredit/account"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/registry"
)

// Page is a page of a list with the cursor of the next page ("" at the end).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func views[S any, V any](list []S, view func(S) V) []V {
	out := make([]V, 0, len(list))
	for _, s := range list {
		out = append(out, view(s))
	}
	return out
}

func subjectView(s *registry.Subject) registry.SubjectView { return s.View() }

func (a *API) createSubject(w http.ResponseWriter, r *http.Request) error {
	var in registry.SubjectInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	sub, err := a.d.Registry.CreateSubject(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/subjects/%d", sub.ID))
	httpx.WriteJSON(w, http.StatusCreated, sub.View())
	return nil
}

func (a *API) getSubject(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sub, err := a.d.Registry.GetSubject(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, sub.View())
	return nil
}

func (a *API) patchSubject(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var p registry.SubjectPatch
	if err := httpx.DecodeJSON(r, &p); err != nil {
		return err
	}
	sub, err := a.d.Registry.UpdateSubject(r.Context(), id, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, sub.View())
	return nil
}

var verifyStates = []registry.VerifyState{registry.VerifyNone, registry.VerifyOK, registry.VerifyExpired, registry.VerifyFailed}

func (a *API) listSubjects(w http.ResponseWriter, r *http.Request) error {
	p := newParams(r, "kind", "status", "region", "verification", "platform_id", "name", "limit", "cursor")
	f := registry.Filter{
		Kind:       registry.Kind(p.str("kind", 20)),
		Status:     registry.Status(p.str("status", 20)),
		Region:     p.str("region", 6),
		Verify:     registry.VerifyState(p.str("verification", 20)),
		PlatformID: p.id("platform_id"),
		Name:       p.str("name", 100),
		Limit:      p.limit(50, 500),
		After:      p.cursor(),
	}
	if f.Kind != "" && !f.Kind.Valid() {
		p.errs.Add("kind", "未知的主体类型「%s」，可用：%s (unknown kind)", clip(string(f.Kind), 20), joinKinds())
	}
	if f.Status != "" && !f.Status.Valid() {
		p.errs.Add("status", "未知的状态「%s」，可用：active、pending、suspended、deregistered (unknown status)", clip(string(f.Status), 20))
	}
	if f.Region != "" && (len(f.Region) < 2 || !allDigits(f.Region)) {
		p.errs.Add("region", "参数 region 应为 2–6 位数字的行政区划代码前缀，如 1308 (region must be a 2–6 digit prefix)")
	}
	if f.Verify != "" {
		ok := false
		for _, v := range verifyStates {
			ok = ok || v == f.Verify
		}
		if !ok {
			p.errs.Add("verification", "参数 verification 必须是 unverified、verified、expired、failed 之一 (unknown verification state)")
		}
	}
	if err := p.err(); err != nil {
		return err
	}
	list, err := a.d.Registry.ListSubjects(r.Context(), f)
	if err != nil {
		return err
	}
	var last int64
	if len(list) > 0 {
		last = list[len(list)-1].ID
	}
	httpx.WriteJSON(w, http.StatusOK, Page[registry.SubjectView]{Items: views(list, subjectView), NextCursor: nextCursor(len(list), f.Limit, last)})
	return nil
}

func joinKinds() string {
	var ks []string
	for _, k := range registry.Kinds {
		ks = append(ks, string(k))
	}
	return strings.Join(ks, "、")
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func (a *API) subjectByCode(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	c := r.PathValue("code")
	if len(c) > maxCodeInput {
		return errs.Field("code", "代码过长（最多 %d 字节）(code too long)", maxCodeInput)
	}
	sub, err := a.d.Registry.FindByCode(r.Context(), c)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, sub.View())
	return nil
}

// LookupInput finds a person by ID or phone number. It is a POST so that
// the number stays out of URLs and logs.
type LookupInput struct {
	IDNumber string `json:"id_number,omitempty"`
	Phone    string `json:"phone,omitempty"`
}

func (a *API) lookupSubject(w http.ResponseWriter, r *http.Request) error {
	var in LookupInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.IDNumber != "" && in.Phone != "" {
		return errs.Field("phone", "请只提供 id_number 或 phone 之一 (give id_number or phone, not both)")
	}
	sub, err := a.d.Registry.Lookup(r.Context(), in.IDNumber, in.Phone)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, sub.View())
	return nil
}

// RevealInput asks for a subject's personal data; the reason is audited.
type RevealInput struct {
	Reason string `json:"reason"`
}

func (a *API) revealPersonal(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in RevealInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	p, err := a.d.Registry.RevealPersonal(r.Context(), id, in.Reason)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, p)
	return nil
}

func verificationView(v *registry.Verification) registry.VerificationView { return v.View() }

func (a *API) listVerifications(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := a.d.Registry.GetSubject(r.Context(), id); err != nil {
		return err
	}
	list, err := a.d.Registry.Verifications(r.Context(), id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, Page[registry.VerificationView]{Items: views(list, verificationView)})
	return nil
}

// Verified is the answer to a recorded verification.
type Verified struct {
	Verification registry.VerificationView `json:"verification"`
	Subject      registry.SubjectView      `json:"subject"`
}

func (a *API) verify(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in registry.VerificationInput
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return err
	}
	v, sub, err := a.d.Registry.Verify(r.Context(), id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, Verified{Verification: v.View(), Subject: sub.View()})
	return nil
}

// MarkView is the public answer to "is this identity verification mark
// real?": only what the public may know, personal data masked.
type MarkView struct {
	Mark        string               `json:"mark"`
	Trusted     bool                 `json:"trusted"` // active and verification current
	Name        string               `json:"name"`
	Kind        registry.Kind        `json:"kind"`
	KindLabel   string               `json:"kind_label"`
	CreditCode  string               `json:"credit_code,omitempty"`
	RegionName  string               `json:"region_name,omitempty"`
	Status      registry.Status      `json:"status"`
	StatusLabel string               `json:"status_label"`
	Verify      registry.VerifyState `json:"verification"`
	VerifyLabel string               `json:"verification_label"`
	VerifiedAt  *time.Time           `json:"verified_at,omitempty"`
	ReverifyDue *time.Time           `json:"reverify_due,omitempty"`
	CheckedAt   time.Time            `json:"checked_at"`
}

func (a *API) checkMark(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	m := r.PathValue("mark")
	if len(m) > 40 {
		return errs.Field("mark", "核验标识格式应为 ECM-XXXX-XXXX-XXXX (malformed mark)")
	}
	sub, err := a.d.Registry.CheckMark(r.Context(), m)
	if err != nil {
		return err
	}
	v := sub.View()
	httpx.WriteJSON(w, http.StatusOK, MarkView{Mark: v.Mark,
		Trusted: v.Verify == registry.VerifyOK && v.Status == registry.StatusActive,
		Name:    v.Name, Kind: v.Kind, KindLabel: v.KindLabel, CreditCode: v.CreditCode, RegionName: v.RegionName,
		Status: v.Status, StatusLabel: v.StatusLabel, Verify: v.Verify, VerifyLabel: v.VerifyLabel,
		VerifiedAt: v.VerifiedAt, ReverifyDue: v.ReverifyDue, CheckedAt: a.d.Clock.Now()})
	return nil
}

// BatchError is the error of one batch line.
type BatchError = httpx.ErrorInfo

// BatchLine is the result of one line of a batch.
type BatchLine struct {
	Line   int         `json:"line"`
	Status string      `json:"status"` // created | error
	ID     int64       `json:"id,omitempty"`
	Error  *BatchError `json:"error,omitempty"`
}

// BatchResult is the answer to a batch: every line's result.
type BatchResult struct {
	Created int         `json:"created"`
	Failed  int         `json:"failed"`
	Results []BatchLine `json:"results"`
}

type batchItem struct {
	line int
	raw  []byte
}

// batchSubjects registers many subjects: NDJSON (one SubjectInput a line)
// or a JSON array. Each line stands alone: good lines are stored even when
// others are bad, and every line gets its own result.
func (a *API) batchSubjects(w http.ResponseWriter, r *http.Request) error {
	actor := account.From(r.Context())
	if actor.Role == account.RolePublic {
		return actor.Require(account.ScopeSubjectsWrite)
	}
	items, err := readBatch(r, MaxBatchBody)
	if err != nil {
		return err
	}
	res := BatchResult{Results: make([]BatchLine, len(items))}
	var inputs []registry.SubjectInput
	var at []int // index in items of each input
	for i, it := range items {
		var in registry.SubjectInput
		if err := httpx.DecodeJSONBytes(it.raw, &in); err != nil {
			res.Results[i] = a.batchError(r, it.line, err)
			continue
		}
		inputs = append(inputs, in)
		at = append(at, i)
	}
	done, err := a.d.Registry.CreateSubjects(r.Context(), inputs)
	if err != nil {
		return err
	}
	for k, d := range done {
		line := items[at[k]].line
		if d.Err != nil {
			res.Results[at[k]] = a.batchError(r, line, d.Err)
			continue
		}
		res.Results[at[k]] = BatchLine{Line: line, Status: "created", ID: d.Subject.ID}
	}
	for _, l := range res.Results {
		if l.Status == "created" {
			res.Created++
		} else {
			res.Failed++
		}
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (a *API) batchError(r *http.Request, line int, err error) BatchLine {
	return BatchLine{Line: line, Status: "error", Error: a.lineError(r, line, err)}
}

// lineError is the error of one line of a batch (subjects or records);
// failures that are not the caller's are logged with the request id.
func (a *API) lineError(r *http.Request, line int, err error) *BatchError {
	if c := errs.CodeOf(err); c == errs.Internal || c == errs.Unavailable {
		a.log.ErrorContext(r.Context(), "batch line failed", "request_id", httpx.RequestID(r), "line", line, "err", fmt.Sprint(err))
	}
	info := httpx.ErrorOf(err, "").Error
	return &info
}

// splitBatch cuts a batch body into its items: the elements of a JSON array
// (numbered from 1), or the non-blank lines of NDJSON (numbered by their
// line in the body). A body that is neither, or holds too many items, is
// refused as a whole before anything is stored.
// readBatch reads a batch body of at most limit bytes (the limit the
// body reader was given) and splits it into its items (splitBatch).
func readBatch(r *http.Request, limit int64) ([]batchItem, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &errs.Error{Code: errs.TooLarge, Field: "body", Message: fmt.Sprintf("批量请求体超过 %d MiB 上限，未保存任何数据 (batch body over %d bytes; nothing stored)", limit>>20, limit)}
		}
		return nil, &errs.Error{Code: errs.Invalid, Message: "读取请求体失败 (cannot read body)", Err: err}
	}
	return splitBatch(r.Header.Get("Content-Type"), body)
}

func splitBatch(contentType string, body []byte) ([]batchItem, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimLeft(body, " \t\r\n\ufeff")
	trimmed = bytes.TrimPrefix(trimmed, []byte("\ufeff"))
	if len(bytes.TrimSpace(trimmed)) == 0 {
		return nil, errs.E(errs.Invalid, "批量请求体为空 (empty batch)")
	}
	array := mt == "application/json" || (mt != "application/x-ndjson" && mt != "application/jsonl" && trimmed[0] == '[')
	var items []batchItem
	tooMany := &errs.Error{Code: errs.TooLarge, Message: fmt.Sprintf("一次最多提交 %d 条 (at most %d items per batch)", MaxBatchRows, MaxBatchRows)}
	if array {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		tok, err := dec.Token()
		if err != nil || tok != json.Delim('[') {
			return nil, errs.E(errs.Invalid, "Content-Type 为 application/json 时请求体应为 JSON 数组；逐行提交请用 application/x-ndjson (a JSON array is expected)")
		}
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("JSON 数组第 %d 个元素之后语法错误，位于第 %d 字节，未保存任何数据 (syntax error in the array; nothing stored)",
					len(items), dec.InputOffset()), Err: err}
			}
			items = append(items, batchItem{line: len(items) + 1, raw: raw})
			if len(items) > MaxBatchRows {
				return nil, tooMany
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, &errs.Error{Code: errs.Invalid, Message: "JSON 数组没有正确结束，未保存任何数据 (unterminated array; nothing stored)", Err: err}
		}
		if rest := bytes.TrimSpace(trimmed[dec.InputOffset():]); len(rest) > 0 {
			return nil, errs.E(errs.Invalid, "JSON 数组之后还有多余内容，未保存任何数据 (data after the array; nothing stored)")
		}
		if len(items) == 0 {
			return nil, errs.E(errs.Invalid, "批量请求体为空数组 (empty batch)")
		}
		return items, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), MaxBatchBody)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff"))
		}
		if len(b) == 0 {
			continue
		}
		items = append(items, batchItem{line: line, raw: append([]byte(nil), b...)})
		if len(items) > MaxBatchRows {
			return nil, tooMany
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &errs.Error{Code: errs.Invalid, Message: "无法按行读取请求体 (cannot split the body into lines)", Err: err}
	}
	return items, nil
}
