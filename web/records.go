package web

import (
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"ecredit/account"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/imports"
	"ecredit/record"
)

// The console's record pages: file import (双公示 CSV/XLSX) with a per-row
// error report, a record list, and a record's detail with its event
// history and the life-cycle forms (withdraw, objection, repair). They call
// record.Service with the signed-in actor; the rules live there.

const (
	// maxUploadBytes bounds an uploaded import file (with the form).
	maxUploadBytes = 50 << 20
	// uploadMemory is how much of an upload is held in memory; the rest
	// spills to a temporary file.
	uploadMemory = 8 << 20
	// shownErrors is how many row errors the result page lists; the CSV
	// download has them all.
	shownErrors = 1000
	// reportTTL is how long an import report stays downloadable.
	reportTTL = time.Hour
	// maxReports bounds the reports kept for download.
	maxReports = 200
)

// recordRoutes are the console's record pages (import, list, detail,
// workflow).
var recordRoutes = []Route{
	{"GET", "/console/records", true, staffOnly((*Site).recordList)},
	{"GET", "/console/records/import", true, staffOnly((*Site).importForm)},
	{"POST", "/console/records/import", true, func(s *Site) http.Handler { return s.staffUpload(s.importUpload, maxUploadBytes) }},
	{"GET", "/console/records/import/errors/{token}", true, staffOnly((*Site).importErrorsCSV)},
	{"GET", "/console/records/{id}", true, staffOnly((*Site).recordDetail)},
	{"POST", "/console/records/{id}/{action}", true, staffOnly((*Site).recordAction)},
}

// recordsReady answers a clear error when the site runs without the
// record service.
func (s *Site) recordsReady(w http.ResponseWriter, r *http.Request) bool {
	return s.ready(w, r, s.d.Records != nil, "信用记录服务未启用 (the record service is not configured)")
}

func conTypeOptions(a account.Actor) []option {
	var o []option
	for _, d := range record.Types() {
		if !d.Public && !record.Can(a, record.ScopeRecordsFraud) {
			continue
		}
		o = append(o, option{string(d.Type), d.Name})
	}
	return o
}

func conStatusOptions() []option {
	var o []option
	for _, st := range []record.Status{record.StatusActive, record.StatusWithdrawn, record.StatusRepaired} {
		o = append(o, option{string(st), st.Label()})
	}
	return o
}

// conStateLabel names a record's place in public view.
func conStateLabel(st string) string {
	switch st {
	case "public":
		return "公示中"
	case "scheduled":
		return "待公示"
	case "expired":
		return "公示期满（已归档）"
	case "hidden":
		return "不公示"
	case "withdrawn":
		return "已撤回"
	case "repaired":
		return "已修复"
	}
	return st
}

// ---- import ----

type conImportData struct {
	Types  []option
	Form   *form
	Fatal  string // the file could not be imported at all
	Report *imports.Report
	Shown  []imports.CellError // the first shownErrors errors
	More   int                 // errors not shown
	Token  string              // download key of the error report
	Halted string              // the import stopped part-way (store unavailable)
}

// conDefaultSource is the source name an import is recorded under unless the
// form names another: the account's department, else its name.
func conDefaultSource(a account.Actor) string {
	if d := strings.TrimSpace(a.Department); d != "" {
		return d
	}
	return a.Name
}

func (s *Site) importForm(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.recordsReady(w, r) {
		return
	}
	f := newForm(url.Values{"type": {string(record.TypePenalty)}, "source": {conDefaultSource(c.Actor)}})
	if t := r.URL.Query().Get("type"); t != "" {
		f.Values.Set("type", t)
	}
	s.render(w, r, http.StatusOK, "records_import", c.page("导入信用记录", "records", &conImportData{Types: conTypeOptions(c.Actor), Form: f}))
}

func (s *Site) importUpload(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.recordsReady(w, r) {
		return
	}
	f := newForm(r.PostForm)
	d := &conImportData{Types: conTypeOptions(c.Actor), Form: f}
	show := func(status int) {
		s.render(w, r, status, "records_import", c.page("导入信用记录", "records", d))
	}
	typ := record.Type(f.Get("type"))
	if _, ok := record.Lookup(typ); !ok {
		f.Errors["type"] = "请选择记录类型 (choose a record type)"
	}
	source := strings.TrimSpace(f.Get("source"))
	switch {
	case source == "":
		f.Errors["source"] = "请填写报送单位名称 (the submitting unit is required)"
	case !utf8.ValidString(source) || utf8.RuneCountInString(source) > 100:
		f.Errors["source"] = "报送单位名称不能超过 100 个字符 (too long)"
	}
	correct := f.Checked("correct")
	reason := strings.TrimSpace(f.Get("reason"))
	if correct && reason == "" {
		f.Errors["reason"] = "按更正导入时必须说明更正原因 (a correction needs a reason)"
	}
	var file multipart.File
	var name string
	if r.MultipartForm != nil && len(r.MultipartForm.File["file"]) > 0 {
		fh := r.MultipartForm.File["file"][0]
		name = fh.Filename
		if fh.Size == 0 {
			f.Errors["file"] = "上传的文件为空 (empty file)"
		} else {
			var err error
			if file, err = fh.Open(); err != nil {
				s.fail(w, r, err)
				return
			}
			defer file.Close()
		}
	} else {
		f.Errors["file"] = "请选择要导入的文件（CSV 或 XLSX）(choose a file)"
	}
	if len(f.Errors) > 0 {
		show(http.StatusBadRequest)
		return
	}
	rd, err := imports.Open(file, name, typ)
	if err != nil {
		if errs.Is(err, errs.Invalid) {
			d.Fatal = errs.MessageOf(err)
			show(http.StatusBadRequest)
			return
		}
		s.fail(w, r, err)
		return
	}
	defer rd.Close()
	actor := c.Actor
	actor.Name = source
	ctx := account.With(r.Context(), actor)
	rep, runErr := imports.Run(ctx, rd, s.d.Records, imports.Options{Correct: correct, Reason: reason})
	if rep == nil {
		s.fail(w, r, runErr)
		return
	}
	rep.File = name
	if runErr != nil {
		code := errs.CodeOf(runErr)
		if code != errs.Unavailable && code != errs.Invalid && code != errs.Forbidden && code != errs.Unauthorized {
			s.log.Error("web: import", "err", runErr, "request_id", httpx.RequestID(r))
		}
		d.Halted = errs.MessageOf(runErr)
		if code == errs.Internal || code == "" {
			d.Halted = "导入因内部错误中止，已入库的行保留 (import stopped by an internal error)"
		}
	}
	d.Report = rep
	d.Shown = rep.Errors
	if len(d.Shown) > shownErrors {
		d.Shown, d.More = d.Shown[:shownErrors], len(rep.Errors)-shownErrors
	}
	if len(rep.Errors) > 0 || len(rep.Warnings) > 0 {
		d.Token = s.reports.put(c.Actor.AccountID, rep, s.now())
	}
	status := http.StatusOK
	if runErr != nil {
		status = httpx.Status(errs.CodeOf(runErr))
	}
	s.render(w, r, status, "records_import", c.page("导入结果", "records", d))
}

// importErrorsCSV downloads the row errors (and warnings) of an import
// as CSV in UTF-8 with a BOM, which Excel opens correctly.
func (s *Site) importErrorsCSV(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	rep := s.reports.get(r.PathValue("token"), c.Actor.AccountID, s.now())
	if rep == nil {
		s.errorPage(w, r, nil, http.StatusNotFound, "错误报告不存在或已过期（保留 1 小时），请重新导入文件 (report not found or expired)")
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="import-errors.csv"`)
	w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	cw.Write([]string{"行号", "列", "错误说明", "类别"})
	for _, e := range rep.Errors {
		cw.Write([]string{strconv.Itoa(e.Row), e.Column, e.Message, "错误"})
	}
	for _, e := range rep.Warnings {
		cw.Write([]string{strconv.Itoa(e.Row), e.Column, e.Message, "提示"})
	}
	cw.Flush()
}

// reportCache keeps import reports for download by the account that ran
// the import, for reportTTL.
type reportCache struct {
	mu sync.Mutex
	m  map[string]*cachedReport
}

type cachedReport struct {
	account int64
	rep     *imports.Report
	expires time.Time
}

func (rc *reportCache) put(accountID int64, rep *imports.Report, now time.Time) string {
	b := make([]byte, 16)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for k, v := range rc.m {
		if now.After(v.expires) {
			delete(rc.m, k)
		}
	}
	for len(rc.m) >= maxReports {
		var oldest string
		for k, v := range rc.m {
			if oldest == "" || v.expires.Before(rc.m[oldest].expires) {
				oldest = k
			}
		}
		delete(rc.m, oldest)
	}
	rc.m[tok] = &cachedReport{account: accountID, rep: rep, expires: now.Add(reportTTL)}
	return tok
}

func (rc *reportCache) get(tok string, accountID int64, now time.Time) *imports.Report {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	v := rc.m[tok]
	if v == nil || v.account != accountID || now.After(v.expires) {
		return nil
	}
	return v.rep
}

// staffUpload is staff for a multipart file upload of up to limit bytes:
// the body limit is raised for this request only, and the CSRF token is
// read from the multipart form.
func (s *Site) staffUpload(h func(http.ResponseWriter, *http.Request, *call), limit int64) http.Handler {
	return s.guard(h, false, limit)
}

// parseUpload reads a multipart form of up to limit bytes.
func (s *Site) parseUpload(w http.ResponseWriter, r *http.Request, limit int64) bool {
	httpx.SetBodyLimit(r, limit)
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseMultipartForm(uploadMemory); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.errorPage(w, r, err, http.StatusRequestEntityTooLarge, fmt.Sprintf("上传的文件过大，上限为 %d MiB；请拆分后分批导入 (file too large)", limit>>20))
			return false
		}
		s.errorPage(w, r, err, http.StatusBadRequest, "上传的表单无法解析 (bad multipart form)")
		return false
	}
	return true
}

// ---- list ----

type conRecord struct {
	record.View
	PublicStateLabel string
}

type conRecordsData struct {
	Form     *form
	Types    []option
	Statuses []option
	Subject  string // the subject filtered on
	Records  []conRecord
	Next     string
	Message  string
}

func (s *Site) recordList(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.recordsReady(w, r) {
		return
	}
	if !record.Can(c.Actor, record.ScopeRecordsRead) {
		s.errorPage(w, r, nil, http.StatusForbidden, "")
		return
	}
	q := r.URL.Query()
	f := newForm(q)
	d := &conRecordsData{Form: f, Types: conTypeOptions(c.Actor), Statuses: conStatusOptions()}
	ctx := r.Context()
	filter := record.Filter{Type: record.Type(q.Get("type")), Status: record.Status(q.Get("status")),
		After: f.int64Field("after", "翻页位置"), Limit: pageSize + 1}
	if filter.Type != "" {
		if _, ok := record.Lookup(filter.Type); !ok {
			f.Errors["type"] = "未知的记录类型 (unknown record type)"
		}
	}
	switch filter.Status {
	case "", record.StatusActive, record.StatusWithdrawn, record.StatusRepaired:
	default:
		f.Errors["status"] = "未知的记录状态 (unknown status)"
	}
	if cc := strings.TrimSpace(q.Get("code")); cc != "" {
		sub, err := s.d.Registry.FindByCode(ctx, cc)
		switch {
		case err == nil:
			filter.SubjectID, d.Subject = sub.ID, sub.View().Name
		case errs.Is(err, errs.NotFound):
			f.Errors["code"] = "未找到使用该代码登记的主体 (not found)"
		case errs.Is(err, errs.Invalid):
			f.Errors["code"] = errs.MessageOf(err)
		default:
			s.fail(w, r, err)
			return
		}
	} else if sid := f.int64Field("subject", "主体编号"); sid > 0 {
		filter.SubjectID = sid
		if sub, err := s.d.Registry.GetSubject(ctx, sid); err == nil {
			d.Subject = sub.View().Name
		}
	}
	if len(f.Errors) > 0 {
		s.render(w, r, http.StatusBadRequest, "records", c.page("信用记录", "records", d))
		return
	}
	list, err := s.d.Records.Store.ListRecords(ctx, filter)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(list) > pageSize {
		list = list[:pageSize]
		next := url.Values{}
		for _, k := range []string{"code", "subject", "type", "status"} {
			if v := q.Get(k); v != "" {
				next.Set(k, v)
			}
		}
		next.Set("after", strconv.FormatInt(list[len(list)-1].ID, 10))
		d.Next = "?" + next.Encode()
	}
	now := s.now()
	fraud := record.Can(c.Actor, record.ScopeRecordsFraud)
	for _, rec := range list {
		if def, ok := record.Lookup(rec.Type); !ok || (!def.Public && !fraud) {
			continue
		}
		v := rec.View(now)
		d.Records = append(d.Records, conRecord{View: v, PublicStateLabel: conStateLabel(v.PublicState)})
	}
	if len(d.Records) == 0 {
		d.Message = "没有符合条件的信用记录。"
	}
	s.render(w, r, http.StatusOK, "records", c.page("信用记录", "records", d))
}

// ---- detail ----

type conField struct {
	Label, Value string
	Code         string // 2.0 field code
}

type conEvent struct {
	*record.Event
	Label string
}

type conRecordData struct {
	Record      conRecord
	Raw         *record.Record
	TypeName    string
	Fields      []conField
	Events      []conEvent
	Objection   record.Objection
	Repair      record.Repair
	CanChange   bool // source or credit office
	CanReceive  bool // may file objections / repair applications
	Active      bool
	Pending     bool // an objection awaits an answer
	RepairOpen  bool // a repair application awaits review or decision
	RepairNew   bool // a repair application may be filed
	Withdraw    *form
	Answer      *form
	Review      *form
	Decide      *form
	FileObj     *form
	RepairApply *form
}

func (s *Site) loadRecord(r *http.Request, c *call, id int64) (*conRecordData, error) {
	ctx := r.Context()
	rec, err := s.d.Records.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	evs, err := s.d.Records.Events(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	v := rec.View(now)
	d := &conRecordData{Record: conRecord{View: v, PublicStateLabel: conStateLabel(v.PublicState)}, Raw: rec,
		TypeName: v.TypeName, Objection: rec.Objection, Repair: rec.Repair,
		CanChange:  c.Actor.Role == account.RoleAdmin || record.SourceKey(c.Actor) == rec.SourceKey,
		CanReceive: record.Can(c.Actor, record.ScopeRecordsReview),
		Active:     rec.Status == record.StatusActive,
		Pending:    rec.Objection.Status == record.ObjectionFiled,
		RepairOpen: rec.Repair.Status == record.RepairApplied || rec.Repair.Status == record.RepairReviewing,
		Withdraw:   newForm(nil), Answer: newForm(url.Values{"upheld": {"0"}}), Review: newForm(nil),
		Decide: newForm(url.Values{"approve": {"1"}}), FileObj: newForm(nil), RepairApply: newForm(nil)}
	d.RepairNew = d.Active && !d.RepairOpen && (rec.Type == record.TypePenalty || (rec.Type == record.TypeOther && rec.Fields["nature"] == "negative"))
	if def, ok := record.Lookup(rec.Type); ok {
		seen := map[string]bool{}
		for _, f := range def.Fields {
			if val := v.FieldLabels[f.Key]; val != "" {
				d.Fields = append(d.Fields, conField{Label: f.Name, Value: val, Code: f.Code})
				seen[f.Key] = true
			}
		}
		var extra []string
		for k := range v.FieldLabels {
			if !seen[k] {
				extra = append(extra, k)
			}
		}
		slices.Sort(extra)
		for _, k := range extra {
			d.Fields = append(d.Fields, conField{Label: strings.TrimPrefix(k, "x:"), Value: v.FieldLabels[k]})
		}
	}
	for _, ev := range evs {
		d.Events = append(d.Events, conEvent{Event: ev, Label: ev.Type.Label()})
	}
	return d, nil
}

func (s *Site) recordDetail(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.recordsReady(w, r) {
		return
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	d, err := s.loadRecord(r, c, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := c.page(d.TypeName+" "+d.Record.SourceRef, "records", d)
	p.Notice = map[string]string{
		"withdraw": "记录已撤回。", "answer": "异议已答复。", "review": "修复申请已进入审核。", "decide": "修复决定已登记。",
		"objection": "异议已登记，记录在公示中标注为「有异议」。", "repair": "信用修复申请已登记。",
	}[r.URL.Query().Get("done")]
	s.render(w, r, http.StatusOK, "records_detail", p)
}

// recordAction handles the life-cycle forms of a record.
func (s *Site) recordAction(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	if !s.recordsReady(w, r) {
		return
	}
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	action := r.PathValue("action")
	f := newForm(r.PostForm)
	ctx := r.Context()
	svc := s.d.Records
	var err error
	var known []string
	switch action {
	case "withdraw":
		known = []string{"reason", "revoked_on", "status"}
		_, err = svc.Withdraw(ctx, id, record.WithdrawInput{Reason: f.Get("reason"), RevokedOn: strings.TrimSpace(f.Get("revoked_on"))})
	case "answer":
		known = []string{"reason", "objection"}
		_, err = svc.AnswerObjection(ctx, id, f.Get("upheld") == "1", f.Get("reason"))
	case "review":
		known = []string{"reason", "repair"}
		_, err = svc.ReviewRepair(ctx, id, f.Get("reason"))
	case "decide":
		known = []string{"reason", "repair", "status"}
		_, err = svc.DecideRepair(ctx, id, f.Get("approve") == "1", f.Get("reason"))
	case "objection":
		known = []string{"reason", "objection", "status"}
		_, err = svc.FileObjection(ctx, id, f.Get("reason"))
	case "repair":
		known = []string{"reason", "repair", "status", "type"}
		_, err = svc.ApplyRepair(ctx, id, f.Get("reason"))
	default:
		s.notFound(w, r)
		return
	}
	if err == nil {
		http.Redirect(w, r, "/console/records/"+strconv.FormatInt(id, 10)+"?done="+action, http.StatusSeeOther)
		return
	}
	code := errs.CodeOf(err)
	if code != errs.Invalid && code != errs.Conflict && code != errs.Forbidden {
		s.fail(w, r, err)
		return
	}
	d, lerr := s.loadRecord(r, c, id)
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	f.fail(err, known...)
	switch action {
	case "withdraw":
		d.Withdraw = f
	case "answer":
		d.Answer = f
	case "review":
		d.Review = f
	case "decide":
		d.Decide = f
	case "objection":
		d.FileObj = f
	case "repair":
		d.RepairApply = f
	}
	s.render(w, r, httpx.Status(code), "records_detail", c.page(d.TypeName+" "+d.Record.SourceRef, "records", d))
}
