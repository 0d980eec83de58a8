package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/registry"
	"ecredit/trace"
	"ecredit/trade"
)

// option is one <option> of a select.
type option struct{ Value, Label string }

func kindOptions() []option {
	var o []option
	for _, k := range registry.Kinds {
		o = append(o, option{string(k), k.Label()})
	}
	return o
}

func statusOptions() []option {
	var o []option
	for _, st := range registry.Statuses {
		o = append(o, option{string(st), st.Label()})
	}
	return o
}

func verifyOptions() []option {
	var o []option
	for _, v := range []registry.VerifyState{registry.VerifyNone, registry.VerifyOK, registry.VerifyExpired, registry.VerifyFailed} {
		o = append(o, option{string(v), v.Label()})
	}
	return o
}

// regionOptions are Chengde's divisions (GB/T 2260 1308xx).
func regionOptions() []option {
	var o []option
	for _, r := range code.Regions("1308") {
		o = append(o, option{r.Code, r.Code + " " + r.Name})
	}
	return o
}

func methodOptions() []option {
	var o []option
	for k, v := range registry.Methods {
		o = append(o, option{k, v})
	}
	sort.Slice(o, func(i, j int) bool { return o[i].Value < o[j].Value })
	return o
}

func categoryOptions() []option {
	var o []option
	for k, v := range registry.Categories {
		o = append(o, option{k, v})
	}
	sort.Slice(o, func(i, j int) bool { return o[i].Value < o[j].Value })
	return o
}

func formOptions(k registry.Kind) []option {
	var o []option
	for _, f := range registry.Forms[k] {
		o = append(o, option{f, registry.FormLabel(f)})
	}
	return o
}

// ---- dashboard ----

type countRow struct {
	Label string
	N     int64
}

type dashboardData struct {
	Total     int64
	HasStats  bool
	ByKind    []countRow
	ByVerify  []countRow
	Due       []registry.SubjectView
	DueBefore time.Time
	Audit     []*audit.Entry
	Engine    string
	DBOK      bool
	DBError   string
	// Recalls are the latest recalls and Folds the platforms that folded
	// the most 差评 (M10, M5), when those services run.
	Recalls []trace.RecallItem
	Folds   []conFoldStat
}

func (s *Site) dashboard(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	ctx := r.Context()
	d := dashboardData{Engine: s.d.Engine, DBOK: true}
	if s.d.Ping != nil {
		if err := s.d.Ping(ctx); err != nil {
			d.DBOK, d.DBError = false, "数据库无法连接"
			s.log.Error("web: dashboard ping", "err", err, "request_id", httpx.RequestID(r))
		}
	}
	if s.d.Stats != nil {
		st, err := s.d.Stats(ctx)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.HasStats, d.Total = true, st.Total
		for _, k := range registry.Kinds {
			d.ByKind = append(d.ByKind, countRow{k.Label(), st.ByKind[k]})
		}
		for _, v := range []registry.VerifyState{registry.VerifyNone, registry.VerifyOK, registry.VerifyExpired, registry.VerifyFailed} {
			d.ByVerify = append(d.ByVerify, countRow{v.Label(), st.ByVerify[v]})
		}
	} else {
		n, err := s.d.Registry.Store.CountSubjects(ctx)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d.Total = n
	}
	d.DueBefore = s.now().Add(30 * 24 * time.Hour)
	due, err := s.d.Registry.DueForReverification(ctx, d.DueBefore, 0, 20)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, sub := range due {
		d.Due = append(d.Due, sub.View())
	}
	if c.Actor.Can(account.ScopeAuditRead) {
		if d.Audit, err = s.d.Audit.List(ctx, audit.Filter{Limit: 10}); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if s.d.Trace != nil {
		if d.Recalls, err = s.d.Trace.RecentRecalls(ctx, 5); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if s.d.Trade != nil {
		stats, err := s.d.Trade.FoldStats(ctx)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		slices.SortStableFunc(stats, func(a, b trade.FoldStat) int { return cmp.Compare(b.FoldedNegative, a.FoldedNegative) })
		names := s.subjectNames(ctx)
		for _, st := range stats[:min(3, len(stats))] {
			if st.FoldedNegative > 0 {
				d.Folds = append(d.Folds, conFoldStat{FoldStat: st, Name: names(st.PlatformID)})
			}
		}
	}
	s.render(w, r, http.StatusOK, "dashboard", c.page("工作台", "dashboard", d))
}

// ---- subject list ----

type subjectsData struct {
	Form     *form
	Kinds    []option
	Statuses []option
	Verifies []option
	Regions  []option
	Subjects []registry.SubjectView
	Next     string // query string of the next page, "" on the last
	Message  string
}

const pageSize = 50

func (s *Site) subjects(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	q := r.URL.Query()
	f := newForm(q)
	d := subjectsData{Form: f, Kinds: kindOptions(), Statuses: statusOptions(), Verifies: verifyOptions(), Regions: regionOptions()}
	ctx := r.Context()
	if cc := strings.TrimSpace(q.Get("code")); cc != "" {
		sub, err := s.d.Registry.FindByCode(ctx, cc)
		switch {
		case err == nil:
			http.Redirect(w, r, "/console/subjects/"+strconv.FormatInt(sub.ID, 10), http.StatusSeeOther)
			return
		case errs.Is(err, errs.NotFound):
			f.Errors["code"] = "未找到使用该代码登记的主体 (not found)"
		case errs.Is(err, errs.Invalid):
			f.Errors["code"] = errs.MessageOf(err)
		default:
			s.fail(w, r, err)
			return
		}
	}
	filter := registry.Filter{
		Kind:   registry.Kind(q.Get("kind")),
		Status: registry.Status(q.Get("status")),
		Region: strings.TrimSpace(q.Get("region")),
		Verify: registry.VerifyState(q.Get("verify")),
		Name:   strings.TrimSpace(q.Get("name")),
		After:  f.int64Field("after", "翻页位置"),
		Limit:  pageSize + 1,
	}
	if filter.Verify == registry.VerifyExpired {
		// "expired" is derived from the clock, not stored: it is a passed
		// verification whose due date has gone by
		filter.Verify, filter.ReverifyBefore = "", s.now()
	}
	list, err := s.d.Registry.ListSubjects(ctx, filter)
	if err != nil {
		if errs.Is(err, errs.Invalid) {
			f.fail(err, "kind", "status", "region", "verify", "name")
			s.render(w, r, http.StatusBadRequest, "subjects", c.page("主体登记", "subjects", d))
			return
		}
		s.fail(w, r, err)
		return
	}
	if len(list) > pageSize {
		list = list[:pageSize]
		next := url.Values{}
		for _, k := range []string{"kind", "status", "region", "verify", "name"} {
			if v := q.Get(k); v != "" {
				next.Set(k, v)
			}
		}
		next.Set("after", strconv.FormatInt(list[len(list)-1].ID, 10))
		d.Next = "?" + next.Encode()
	}
	for _, sub := range list {
		d.Subjects = append(d.Subjects, sub.View())
	}
	if len(list) == 0 {
		d.Message = "没有符合条件的主体。"
	}
	s.render(w, r, http.StatusOK, "subjects", c.page("主体登记", "subjects", d))
}

// ---- create ----

type subjectNewData struct {
	Kind     registry.Kind
	KindOK   bool
	Person   bool
	Kinds    []option
	Forms    []option
	Regions  []option
	Statuses []option
	Form     *form
}

var subjectFields = []string{"kind", "form", "name", "credit_code", "id_number", "phone", "legal_rep", "region_code", "address", "status"}

func (s *Site) newSubjectData(k registry.Kind, f *form) subjectNewData {
	return subjectNewData{Kind: k, KindOK: k.Valid(), Person: k.Person(), Kinds: kindOptions(), Forms: formOptions(k),
		Regions: regionOptions(), Statuses: statusOptions(), Form: f}
}

func (s *Site) subjectNewForm(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	k := registry.Kind(r.URL.Query().Get("kind"))
	f := newForm(url.Values{"kind": {string(k)}, "status": {string(registry.StatusActive)}})
	s.render(w, r, http.StatusOK, "subject_new", c.page("登记新主体", "subjects", s.newSubjectData(k, f)))
}

func (s *Site) subjectCreate(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	f := newForm(r.PostForm)
	k := registry.Kind(f.Get("kind"))
	in := registry.SubjectInput{
		Kind: k, Form: f.Get("form"), Name: f.Get("name"), CreditCode: strings.TrimSpace(f.Get("credit_code")),
		IDNumber: strings.TrimSpace(f.Get("id_number")), Phone: strings.TrimSpace(f.Get("phone")),
		LegalRep: f.Get("legal_rep"), RegionCode: f.Get("region_code"), Address: f.Get("address"),
		Status: registry.Status(f.Get("status")),
	}
	if k.Person() {
		in.Address, in.LegalRep, in.Form = "", "", ""
	}
	sub, err := s.d.Registry.CreateSubject(r.Context(), in)
	if err != nil {
		if code := errs.CodeOf(err); code == errs.Invalid || code == errs.Conflict || code == errs.Forbidden {
			f.fail(err, subjectFields...)
			s.render(w, r, httpx.Status(code), "subject_new", c.page("登记新主体", "subjects", s.newSubjectData(k, f)))
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/console/subjects/"+strconv.FormatInt(sub.ID, 10)+"?done=created", http.StatusSeeOther)
}

// ---- detail ----

type detailData struct {
	Subject       registry.SubjectView
	Verifications []registry.VerificationView
	Shops         []registry.ShopView
	ShopsOn       []registry.ShopView // for a platform: shops on it
	Methods       []option
	VerifyForm    *form
	RevealForm    *form
	Personal      *registry.Personal // revealed on this response only
	CanVerify     bool
	CanReveal     bool
	CanEdit       bool
	HasPersonal   bool
	// Licence: the licensed categories the subject sells in (its shops'
	// and its latest orders') and whether a valid licence record covers
	// each (M10); nil without the trace service or shops and orders.
	Licence *trace.SellerFlags
}

func (s *Site) loadDetail(r *http.Request, c *call, id int64) (*detailData, error) {
	ctx := r.Context()
	sub, err := s.d.Registry.GetSubject(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &detailData{Subject: sub.View(), Methods: methodOptions(),
		VerifyForm: newForm(url.Values{"passed": {"1"}}), RevealForm: newForm(nil),
		CanVerify:   c.Actor.Can(account.ScopeVerify),
		CanReveal:   c.Actor.Can(account.ScopePersonalRead),
		CanEdit:     c.Actor.Can(account.ScopeSubjectsWrite),
		HasPersonal: !sub.IDNumber.Empty() || !sub.Phone.Empty() || !sub.NameSeal.Empty()}
	vs, err := s.d.Registry.Verifications(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		d.Verifications = append(d.Verifications, v.View())
	}
	shops, err := s.d.Registry.ListShops(ctx, registry.ShopFilter{OwnerID: id, Limit: 100})
	if err != nil {
		return nil, err
	}
	for _, sh := range shops {
		d.Shops = append(d.Shops, sh.View())
	}
	if s.d.Trace != nil && (len(shops) > 0 || sub.Kind == registry.KindMerchant || sub.Kind == registry.KindSeller) {
		if d.Licence, err = s.d.Trace.LicenceFlags(ctx, id, 0); err != nil {
			return nil, err
		}
	}
	if sub.Kind == registry.KindPlatform {
		on, err := s.d.Registry.ListShops(ctx, registry.ShopFilter{PlatformID: id, Limit: 100})
		if err != nil {
			return nil, err
		}
		for _, sh := range on {
			d.ShopsOn = append(d.ShopsOn, sh.View())
		}
	}
	return d, nil
}

func (s *Site) subjectDetail(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	d, err := s.loadDetail(r, c, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := c.page(d.Subject.Name, "subjects", d)
	switch r.URL.Query().Get("done") {
	case "created":
		p.Notice = "主体已登记。"
	case "verified":
		p.Notice = "核验结果已登记。"
	case "updated":
		p.Notice = "主体信息已保存。"
	case "shop":
		p.Notice = "店铺已登记。"
	}
	s.render(w, r, http.StatusOK, "subject_detail", p)
}

func (s *Site) subjectVerify(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newForm(r.PostForm)
	in := registry.VerificationInput{Method: f.Get("method"), Passed: f.Get("passed") == "1", Note: f.Get("note"),
		ValidDays: f.intField("valid_days", "有效天数")}
	var err error
	if len(f.Errors) == 0 {
		_, _, err = s.d.Registry.Verify(r.Context(), id, in)
		if err == nil {
			http.Redirect(w, r, "/console/subjects/"+strconv.FormatInt(id, 10)+"?done=verified", http.StatusSeeOther)
			return
		}
		if !errs.Is(err, errs.Invalid) {
			s.fail(w, r, err)
			return
		}
		f.fail(err, "method", "passed", "note", "valid_days")
	}
	d, lerr := s.loadDetail(r, c, id)
	if lerr != nil {
		s.fail(w, r, lerr)
		return
	}
	d.VerifyForm = f
	s.render(w, r, http.StatusBadRequest, "subject_detail", c.page(d.Subject.Name, "subjects", d))
}

func (s *Site) subjectReveal(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newForm(r.PostForm)
	reason := strings.TrimSpace(f.Get("reason"))
	d, err := s.loadDetail(r, c, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.RevealForm = f
	p, err := s.d.Registry.RevealPersonal(r.Context(), id, reason)
	if err != nil {
		if errs.Is(err, errs.Invalid) {
			f.fail(err, "reason")
			s.render(w, r, http.StatusBadRequest, "subject_detail", c.page(d.Subject.Name, "subjects", d))
			return
		}
		s.fail(w, r, err)
		return
	}
	d.Personal = p
	d.RevealForm = newForm(nil)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "subject_detail", c.page(d.Subject.Name, "subjects", d))
}

// ---- edit ----

type editData struct {
	Subject  registry.SubjectView
	Person   bool
	Forms    []option
	Regions  []option
	Statuses []option
	Form     *form
}

var editFields = []string{"name", "form", "phone", "legal_rep", "region_code", "address", "status", "version"}

func (s *Site) editData(sub *registry.Subject, f *form) editData {
	return editData{Subject: sub.View(), Person: sub.Kind.Person(), Forms: formOptions(sub.Kind), Regions: regionOptions(),
		Statuses: statusOptions(), Form: f}
}

func (s *Site) subjectEditForm(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	sub, err := s.d.Registry.GetSubject(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := url.Values{
		"form": {sub.Form}, "legal_rep": {sub.LegalRep}, "region_code": {sub.RegionCode}, "address": {sub.Address},
		"status": {string(sub.Status)}, "version": {strconv.Itoa(sub.Version)},
	}
	if !sub.Kind.Person() {
		v.Set("name", sub.Name)
	}
	s.render(w, r, http.StatusOK, "subject_edit", c.page("修改主体信息", "subjects", s.editData(sub, newForm(v))))
}

func (s *Site) subjectUpdate(w http.ResponseWriter, r *http.Request, c *call) {
	httpx.NoteRoute(r)
	id, ok := pathID(r.PathValue("id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	ctx := r.Context()
	sub, err := s.d.Registry.GetSubject(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := newForm(r.PostForm)
	p := registry.SubjectPatch{Version: f.intField("version", "版本号")}
	if p.Version == 0 {
		f.General = append(f.General, "表单缺少版本号，请重新打开修改页面 (version missing)")
	}
	// Only what differs from the stored subject goes into the patch. A
	// person's name is stored masked, so an empty name field keeps it.
	changed := func(name, cur string) *string {
		v := strings.TrimSpace(f.Get(name))
		if v == cur {
			return nil
		}
		return &v
	}
	if sub.Kind.Person() {
		if n := strings.TrimSpace(f.Get("name")); n != "" {
			p.Name = &n
		}
	} else {
		p.Name = changed("name", sub.Name)
		p.LegalRep = changed("legal_rep", sub.LegalRep)
		p.Address = changed("address", sub.Address)
	}
	if len(registry.Forms[sub.Kind]) > 0 {
		p.Form = changed("form", sub.Form)
	}
	p.RegionCode = changed("region_code", sub.RegionCode)
	if st := registry.Status(f.Get("status")); st != sub.Status {
		p.Status = &st
	}
	if f.Checked("clear_phone") {
		empty := ""
		p.Phone = &empty
	} else if ph := strings.TrimSpace(f.Get("phone")); ph != "" {
		p.Phone = &ph
	}
	if !f.HasErrors() {
		_, err = s.d.Registry.UpdateSubject(ctx, id, p)
		if err == nil {
			http.Redirect(w, r, "/console/subjects/"+strconv.FormatInt(id, 10)+"?done=updated", http.StatusSeeOther)
			return
		}
		code := errs.CodeOf(err)
		if code != errs.Invalid && code != errs.Conflict {
			s.fail(w, r, err)
			return
		}
		f.fail(err, editFields...)
	}
	status := http.StatusBadRequest
	if errs.Is(err, errs.Conflict) {
		status = http.StatusConflict
		if cur, gerr := s.d.Registry.GetSubject(ctx, id); gerr == nil {
			sub = cur
		}
	}
	s.render(w, r, status, "subject_edit", c.page("修改主体信息", "subjects", s.editData(sub, f)))
}
