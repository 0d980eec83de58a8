package code

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed regions.tsv
var regionsTSV string

// Region is one GB/T 2260 administrative division.
type Region struct {
	Code     string `json:"code"`      // 6 digits, e.g. 130802
	Name     string `json:"name"`      // e.g. 双桥区
	FullName string `json:"full_name"` // e.g. 河北省承德市双桥区
}

type regionEntry struct {
	name string
	note string // empty for current codes; otherwise why the code is historical
}

// regionTable is the parsed embedded table.
type regionTable struct {
	entries     map[string]regionEntry
	prefectures map[string]bool // first four digits of every known code below province level
	current     []Region        // current codes, sorted
}

// completeProvinces lists the provinces whose prefecture-level codes
// (current and historical) the embedded table holds completely, so an
// unknown prefecture prefix there is certainly not a real region.
var completeProvinces = map[string]bool{"11": true, "12": true, "13": true, "31": true}

var regions = mustLoadRegions(regionsTSV)

func mustLoadRegions(tsv string) *regionTable {
	t, err := loadRegions(tsv)
	if err != nil {
		panic("code: embedded regions.tsv: " + err.Error())
	}
	return t
}

func loadRegions(tsv string) (*regionTable, error) {
	t := &regionTable{entries: map[string]regionEntry{}, prefectures: map[string]bool{}}
	for i, line := range strings.Split(tsv, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want 3 tab-separated fields, got %d", i+1, len(f))
		}
		c, name, note := f[0], f[1], f[2]
		if len(c) != 6 || !allDigits(c) || name == "" {
			return nil, fmt.Errorf("line %d: bad code %q or empty name", i+1, c)
		}
		if _, dup := t.entries[c]; dup {
			return nil, fmt.Errorf("line %d: duplicate code %s", i+1, c)
		}
		t.entries[c] = regionEntry{name: name, note: note}
		if c[2:] != "0000" {
			t.prefectures[c[:4]] = true
		}
	}
	for c, e := range t.entries {
		if c[2:] != "0000" {
			if _, ok := t.entries[c[:2]+"0000"]; !ok {
				return nil, fmt.Errorf("code %s has no province entry", c)
			}
		}
		if e.note == "" {
			full, _ := t.fullName(c)
			t.current = append(t.current, Region{Code: c, Name: e.name, FullName: full})
		}
	}
	sort.Slice(t.current, func(i, j int) bool { return t.current[i].Code < t.current[j].Code })
	return t, nil
}

// fullName joins the province, prefecture and county names of a known code.
func (t *regionTable) fullName(c string) (string, bool) {
	e, ok := t.entries[c]
	if !ok {
		return "", false
	}
	prov := c[:2] + "0000"
	if c == prov {
		return e.name, true
	}
	var b strings.Builder
	b.WriteString(t.entries[prov].name)
	pref := c[:4] + "00"
	if pref != c {
		if p, ok := t.entries[pref]; ok {
			b.WriteString(p.name)
		}
	}
	b.WriteString(e.name)
	return b.String(), true
}

// RegionName returns the full name of a GB/T 2260 code, e.g. 130802 →
// 河北省承德市双桥区. Historical codes in the embedded table are found too
// (440524 → 广东省汕头市潮阳县). ok is false for codes not in the table.
func RegionName(code string) (fullName string, ok bool) {
	return regions.fullName(code)
}

// KnownRegion reports whether code is in the table (current or
// historical), as RegionName's ok does, without building the name.
func KnownRegion(code string) bool {
	_, ok := regions.entries[code]
	return ok
}

// Regions returns the current (not historical) divisions whose code starts
// with prefix, sorted by code. Regions("1308") gives Chengde city (130800)
// and its districts and counties; Regions("") gives the whole table.
func Regions(prefix string) []Region {
	i := sort.Search(len(regions.current), func(i int) bool { return regions.current[i].Code >= prefix })
	var out []Region
	for ; i < len(regions.current) && strings.HasPrefix(regions.current[i].Code, prefix); i++ {
		out = append(out, regions.current[i])
	}
	return out
}

// regionStatus classifies a 6-digit region code found inside an identifier.
type regionStatus int

const (
	regionKnown             regionStatus = iota // in the table
	regionUnknownCounty                         // not in the table, province (and prefecture if checkable) known
	regionUnknownPrefecture                     // prefecture prefix impossible in a completely listed province
	regionUnknownProvince                       // province prefix unknown
)

func classifyRegion(c string) regionStatus {
	if _, ok := regions.entries[c]; ok {
		return regionKnown
	}
	if _, ok := regions.entries[c[:2]+"0000"]; !ok {
		return regionUnknownProvince
	}
	if completeProvinces[c[:2]] && c[2:4] != "00" && !regions.prefectures[c[:4]] {
		return regionUnknownPrefecture
	}
	return regionUnknownCounty
}

// ParseRegion validates a 6-digit GB/T 2260 code against the embedded table.
// A historical code is valid with a warning saying it is no longer current.
func ParseRegion(s string) Result {
	n := normalize(s)
	r := Result{Input: s, Normalized: n, Kind: KindRegion, KindLabel: kindLabels[KindRegion]}
	if len(n) != 6 || !allDigits(n) {
		r.addError("行政区划代码应为6位数字，实际为「%s」(a region code is 6 digits)", n)
		return r
	}
	r.Region = n
	e, ok := regions.entries[n]
	if !ok {
		switch classifyRegion(n) {
		case regionUnknownProvince:
			r.addError("未知的省级行政区划代码 %s (unknown province)", n[:2])
		default:
			r.addError("行政区划代码 %s 不在 GB/T 2260 代码表中 (unknown region code)", n)
		}
		return r
	}
	r.RegionName, _ = RegionName(n)
	if e.note != "" {
		r.addWarning("%s 是已不再使用的历史代码：%s (historical region code)", n, strings.TrimPrefix(e.note, "历史："))
	}
	r.Valid = true
	return r
}
