package trace

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/code"
	"ecredit/errs"
	"ecredit/registry"
)

// A site is a GS1 location — a GLN and its extension — registered and
// named by the subject that runs it: a production line, a warehouse, a
// testing laboratory's reception. A trace event's read point and business
// location (EPCIS readPoint and bizLocation, in SGLN or Digital Link form)
// then show as a named place of a known subject, not as a bare number.
// Registering asserts nothing the event does not: an unregistered location
// is kept and shown as sent.

// Limits of site registration.
const (
	// MaxSites is the most sites one request registers.
	MaxSites = 500
	// MaxSiteName is the longest site name, in characters.
	MaxSiteName = 60
)

// Site is a registered location.
type Site struct {
	GLN       string // 13 digits, check digit verified
	Extension string // the GS1 extension (AI 254, SGLN's third part); "" none
	SubjectID int64  // who runs it
	Name      string
	Region    string // GB/T 2260; "" unknown
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int
}

// SiteKey names a site.
type SiteKey struct {
	GLN, Extension string
}

// Key is the site's key.
func (s *Site) Key() SiteKey { return SiteKey{s.GLN, s.Extension} }

// SiteKeyOf returns the site a location identifier names (one that
// ParseLocation accepted): an SGLN's company prefix and location reference
// with their check digit, and its extension ("0" is none); a Digital
// Link's GLN and its /254/ extension.
func SiteKeyOf(loc string) (SiteKey, bool) {
	if rest, ok := strings.CutPrefix(loc, sglnPrefix); ok {
		parts := strings.Split(rest, ".")
		if len(parts) != 3 || len(parts[0])+len(parts[1]) != 12 {
			return SiteKey{}, false
		}
		g := parts[0] + parts[1]
		check, err := code.GTINCheck(g)
		if err != nil {
			return SiteKey{}, false
		}
		ext := parts[2]
		if ext == "0" {
			ext = ""
		}
		return SiteKey{g + string(check), ext}, true
	}
	i := strings.Index(loc, "/414/")
	if i < 0 {
		return SiteKey{}, false
	}
	parts := strings.Split(loc[i+len("/414/"):], "/")
	k := SiteKey{GLN: parts[0]}
	if len(parts) == 3 && parts[1] == "254" {
		k.Extension = parts[2]
	}
	return k, len(k.GLN) == 13
}

// SiteLink is the GS1 Digital Link of a site: the form of a location that
// needs no company prefix length.
func SiteLink(k SiteKey) string {
	s := digitalLinkBase + "/414/" + k.GLN
	if k.Extension != "" {
		s += "/254/" + k.Extension
	}
	return s
}

// SiteInput registers a site or renames one. The location is a GLN (13
// digits) with an optional extension, or an identifier as events carry it
// (an SGLN EPC URI or a Digital Link): one of the two. SubjectCode names
// the subject that runs it: by default the caller's own; another's only
// for departments and the credit office.
type SiteInput struct {
	GLN         string `json:"gln,omitempty"`
	Extension   string `json:"extension,omitempty"`
	Location    string `json:"location,omitempty"`
	SubjectCode string `json:"subject_code,omitempty"`
	Name        string `json:"name"`
	Region      string `json:"region,omitempty"`
}

// SiteResult is one input's fate.
type SiteResult struct {
	Line      int    `json:"line"`
	Status    string `json:"status"` // created | updated | unchanged
	GLN       string `json:"gln"`
	Extension string `json:"extension,omitempty"`
	Link      string `json:"link"`
}

// SiteView is a site as the API and the pages show it (public data: a
// business's premises).
type SiteView struct {
	GLN        string      `json:"gln"`
	Extension  string      `json:"extension,omitempty"`
	Link       string      `json:"link"`
	Name       string      `json:"name"`
	Subject    *SubjectRef `json:"subject,omitempty"`
	Region     string      `json:"region,omitempty"`
	RegionName string      `json:"region_name,omitempty"`
	UpdatedAt  time.Time   `json:"updated_at"`
}

// Label is how a page names the site: its name, its subject's and its
// district's.
func (v *SiteView) Label() string {
	var of []string
	if v.Subject != nil && v.Subject.Name != "" {
		of = append(of, v.Subject.Name)
	}
	if v.RegionName != "" {
		of = append(of, v.RegionName)
	}
	if len(of) == 0 {
		return v.Name
	}
	return v.Name + "（" + strings.Join(of, "，") + "）"
}

func siteView(s *Site, sub *registry.Subject) *SiteView {
	v := &SiteView{GLN: s.GLN, Extension: s.Extension, Link: SiteLink(s.Key()), Name: s.Name, Subject: subjectRef(sub),
		Region: s.Region, UpdatedAt: s.UpdatedAt}
	v.RegionName, _ = code.RegionName(s.Region)
	return v
}

// checkGLN returns what is wrong with a 13-digit GLN, or "".
func checkGLN(g string) string {
	if len(g) != 13 || !digits(g) {
		return "全球位置码应为 13 位数字 (a GLN has 13 digits)"
	}
	if want, _ := code.GTINCheck(g[:12]); g[12] != want {
		return "全球位置码校验位错误，应为 " + string(want) + " (wrong check digit)"
	}
	return ""
}

// siteKeyIn reads the location of an input; f prefixes the fields named in
// errors.
func siteKeyIn(l *errs.List, f string, in SiteInput) (SiteKey, bool) {
	g, ext, loc := strings.TrimSpace(in.GLN), strings.TrimSpace(in.Extension), strings.TrimSpace(in.Location)
	switch {
	case g == "" && loc == "":
		l.Add(f+"gln", "必须填写全球位置码（gln）或地点标识（location）(a GLN or a location is required)")
	case g != "" && loc != "":
		l.Add(f+"location", "全球位置码与地点标识只能填写一个 (a GLN or a location, not both)")
	case loc != "":
		if ext != "" {
			l.Add(f+"extension", "地点标识已含扩展，不能另填 (the location carries its extension)")
			return SiteKey{}, false
		}
		v, err := ParseLocation(f+"location", loc)
		if err != nil {
			*l = append(*l, errs.All(err)...)
			return SiteKey{}, false
		}
		k, ok := SiteKeyOf(v)
		if !ok {
			l.Add(f+"location", "无法从地点标识得出全球位置码 (no GLN in the location)")
		}
		return k, ok
	default:
		if msg := checkGLN(g); msg != "" {
			l.Add(f+"gln", "%s", msg)
			return SiteKey{}, false
		}
		if ext != "" && !extension(ext) {
			l.Add(f+"extension", "扩展应为 1–20 个字母、数字或 - . _ %%XX (an extension of 1 to 20 characters)")
			return SiteKey{}, false
		}
		return SiteKey{g, ext}, true
	}
	return SiteKey{}, false
}

// RegisterSites registers sites or renames them. The whole request is
// checked first and stored in one transaction: any bad input refuses all,
// each error naming its input (sites[2].gln). A site registered by another
// subject may be changed only by departments and the credit office (who
// may also move it to another subject). A site as stored is unchanged.
func (s *Service) RegisterSites(ctx context.Context, ins []SiteInput) ([]SiteResult, error) {
	const op = "trace.RegisterSites"
	a := account.From(ctx)
	if anonymous(a) {
		return nil, errs.Wrap(op, errAuth)
	}
	switch {
	case len(ins) == 0:
		return nil, errs.Wrap(op, errs.Field("sites", "至少给出一个地点 (no sites)"))
	case len(ins) > MaxSites:
		return nil, errs.Wrap(op, &errs.Error{Code: errs.TooLarge, Field: "sites", Message: fmt.Sprintf("一次最多登记 %d 个地点 (at most %d sites)", MaxSites, MaxSites)})
	}
	anySubject := Can(a, ScopeTraceWrite)
	now := s.now()
	var l errs.List
	wants := make([]*Site, len(ins))
	at := map[SiteKey]int{}
	subs := map[string]*registry.Subject{}
	for i, in := range ins {
		f := fmt.Sprintf("sites[%d].", i)
		n := len(l)
		k, ok := siteKeyIn(&l, f, in)
		if ok {
			if j, dup := at[k]; dup {
				l.Add(f+"gln", "与第 %d 个地点相同 (the same site as sites[%d])", j+1, j)
			}
			at[k] = i
		}
		var owner int64
		if c := strings.TrimSpace(in.SubjectCode); c != "" {
			sub, ok := subs[c]
			if !ok {
				var err error
				if sub, err = s.subjectByCode(ctx, f+"subject_code", c); err != nil {
					if errs.FieldOf(err) == "" {
						return nil, errs.Wrap(op, err)
					}
					l = append(l, errs.All(err)...)
				}
				subs[c] = sub
			}
			if sub != nil {
				owner = sub.ID
				if !anySubject && sub.ID != a.SubjectID {
					l = append(l, &errs.Error{Code: errs.Forbidden, Field: f + "subject_code", Message: "只能登记本主体的地点 (only your own subject's sites)"})
				}
			}
		} else if owner = a.SubjectID; owner == 0 {
			l.Add(f+"subject_code", "必须填写运营该地点的主体的统一社会信用代码 (required: the account acts for no subject)")
		}
		name := strings.TrimSpace(in.Name)
		switch {
		case name == "":
			l.Add(f+"name", "必须填写地点名称 (required)")
		case utf8.RuneCountInString(name) > MaxSiteName:
			l.Add(f+"name", "地点名称不能超过 %d 个字 (at most %d characters)", MaxSiteName, MaxSiteName)
		}
		var region string
		if r := strings.TrimSpace(in.Region); r != "" {
			if res := code.ParseRegion(r); !res.Valid {
				l.Add(f+"region", "行政区划代码「%s」无效 (invalid region code)", clip(r, 12))
			} else {
				region = res.Normalized
			}
		}
		if len(l) == n {
			wants[i] = &Site{GLN: k.GLN, Extension: k.Extension, SubjectID: owner, Name: name, Region: region, CreatedAt: now, UpdatedAt: now, Version: 1}
		}
	}
	if err := siteErr(l); err != nil {
		return nil, errs.Wrap(op, err)
	}
	keys := make([]SiteKey, len(wants))
	for i, w := range wants {
		keys[i] = w.Key()
	}
	stored, err := s.Store.SitesByKeys(ctx, keys)
	if err != nil {
		return nil, errs.Wrap(op, err)
	}
	res := make([]SiteResult, len(wants))
	var news, changed []*Site
	for i, w := range wants {
		res[i] = SiteResult{Line: i + 1, Status: ResultCreated, GLN: w.GLN, Extension: w.Extension, Link: SiteLink(w.Key())}
		old := stored[w.Key()]
		switch {
		case old == nil:
			news = append(news, w)
		case old.SubjectID != a.SubjectID && !anySubject:
			l = append(l, &errs.Error{Code: errs.Forbidden, Field: fmt.Sprintf("sites[%d].gln", i),
				Message: "该地点已由其他主体登记，只有部门或市信用办可以更改 (registered by another subject)"})
		case old.SubjectID == w.SubjectID && old.Name == w.Name && old.Region == w.Region:
			res[i].Status = ResultUnchanged
		default:
			res[i].Status = ResultUpdated
			w.CreatedAt, w.Version = old.CreatedAt, old.Version
			changed = append(changed, w)
		}
	}
	if err := siteErr(l); err != nil {
		return nil, errs.Wrap(op, err)
	}
	if len(news)+len(changed) == 0 {
		return res, nil
	}
	act := audit.ActCreate
	if len(news) == 0 {
		act = audit.ActUpdate
	}
	entry := a.Audit(act, "trace_sites", fmt.Sprintf("登记追溯地点 %d 个、更改 %d 个 (sites registered, changed)", len(news), len(changed)))
	err = s.Store.SaveSites(ctx, news, changed, entry)
	return res, errs.Wrap(op, err)
}

// siteErr is the list's error: Invalid, or the code all its entries share
// (a request refused only for permissions is Forbidden).
func siteErr(l errs.List) error {
	if len(l) == 0 {
		return nil
	}
	e := l.Err().(*errs.Error)
	for _, x := range l {
		if x.Code != l[0].Code {
			return e
		}
	}
	e.Code = l[0].Code
	return e
}

// Sites lists the sites of the subject with the credit code (public).
func (s *Service) Sites(ctx context.Context, subjectCode string) (*SubjectRef, []SiteView, error) {
	const op = "trace.Sites"
	r := code.ParseUSCC(strings.TrimSpace(subjectCode))
	if !r.Valid {
		return nil, nil, errs.Wrap(op, errs.Field("code", "统一社会信用代码「%s」无效 (invalid credit code)", clip(subjectCode, 30)))
	}
	sub, err := s.Subjects.FindSubjectByCode(ctx, r.Normalized)
	if err != nil {
		return nil, nil, errs.Wrap(op, err)
	}
	out, err := s.sitesOf(ctx, sub)
	return subjectRef(sub), out, errs.Wrap(op, err)
}

// SubjectSites lists the sites of the subject with the id (public; none
// for an unknown subject).
func (s *Service) SubjectSites(ctx context.Context, subjectID int64) ([]SiteView, error) {
	sub, err := s.lookups().get(ctx, subjectID)
	if err != nil || sub == nil {
		return nil, errs.Wrap("trace.SubjectSites", err)
	}
	out, err := s.sitesOf(ctx, sub)
	return out, errs.Wrap("trace.SubjectSites", err)
}

// sitesOf is the subject's sites, each without the subject (the list is
// of one).
func (s *Service) sitesOf(ctx context.Context, sub *registry.Subject) ([]SiteView, error) {
	ss, err := s.Store.SubjectSites(ctx, sub.ID)
	if err != nil {
		return nil, err
	}
	out := make([]SiteView, len(ss))
	for i, x := range ss {
		out[i] = *siteView(x, nil)
	}
	return out, nil
}

// nameSites fills the registered sites of the events' read points and
// business locations, in one lookup.
func (s *Service) nameSites(ctx context.Context, l *subjects, vs []EventView) error {
	var keys []SiteKey
	for _, v := range vs {
		for _, loc := range []string{v.ReadPoint, v.BizLocation} {
			if k, ok := SiteKeyOf(loc); ok && loc != "" {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	stored, err := s.Store.SitesByKeys(ctx, keys)
	if err != nil || len(stored) == 0 {
		return err
	}
	views := map[SiteKey]*SiteView{}
	for k, site := range stored {
		sub, err := l.get(ctx, site.SubjectID)
		if err != nil {
			return err
		}
		views[k] = siteView(site, sub)
	}
	for i := range vs {
		v := &vs[i]
		if k, ok := SiteKeyOf(v.ReadPoint); ok {
			v.ReadPointSite = views[k]
		}
		if k, ok := SiteKeyOf(v.BizLocation); ok {
			v.BizLocationSite = views[k]
		}
	}
	return nil
}
