package code

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// testNow is a fixed "today" for the tests: 2026-11-25 12:00 China time.
var testNow = time.Date(2026, 11, 25, 4, 0, 0, 0, time.UTC)

func hasText(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// Vectors from /work/shared/reference/domain.md §1.1 (sources given there).
func TestParseUSCC(t *testing.T) {
	tests := []struct {
		in          string
		valid       bool
		region      string
		regionName  string
		authority   string
		category    string
		orgCode     string
		check       string
		wantWarn    string // substring of a warning, "" = no warnings
		wantErr     string // substring of an error
		categoryLbl string
	}{
		{in: "91350100M000100Y43", valid: true, region: "350100", regionName: "福建省福州市", authority: "9", category: "1", orgCode: "M000100Y-4", check: "3", categoryLbl: "企业"},
		{in: "91110000600037341L", valid: true, region: "110000", regionName: "北京市", authority: "9", category: "1", orgCode: "60003734-1", check: "L", categoryLbl: "企业"},
		{in: "121200004013590816", valid: true, region: "120000", regionName: "天津市", authority: "1", category: "2", orgCode: "40135908-1", check: "6", categoryLbl: "事业单位"},
		{in: "91620105L015101280", valid: true, region: "620105", regionName: "甘肃省兰州市安宁区", authority: "9", category: "1", orgCode: "L0151012-8", check: "0", categoryLbl: "企业"},
		{in: "9144030071526726XG", valid: true, region: "440300", regionName: "广东省深圳市", authority: "9", category: "1", orgCode: "71526726-X", check: "G", categoryLbl: "企业"},
		{in: "91310115MA1K3BTP2B", valid: true, region: "310115", regionName: "上海市浦东新区", authority: "9", category: "1", orgCode: "MA1K3BTP-2", check: "B", categoryLbl: "企业"},
		{in: "92340602MA2PBMEM24", valid: true, region: "340602", regionName: "安徽省淮北市杜集区", authority: "9", category: "2", orgCode: "MA2PBMEM-2", check: "4", categoryLbl: "个体工商户"},
		{in: "914403001922038216", valid: true, region: "440300", regionName: "广东省深圳市", authority: "9", category: "1", orgCode: "19220382-1", check: "6", categoryLbl: "企业"},
		{in: "91110108795101314G", valid: true, region: "110108", regionName: "北京市海淀区", authority: "9", category: "1", orgCode: "79510131-4", check: "G", categoryLbl: "企业"},
		{in: "91310230MA1K314J7C", valid: true, region: "310230", regionName: "上海市崇明县", authority: "9", category: "1", orgCode: "MA1K314J-7", check: "C", categoryLbl: "企业"},
		{in: "91310230MA1K314K57", valid: true, region: "310230", regionName: "上海市崇明县", authority: "9", category: "1", orgCode: "MA1K314K-5", check: "7", categoryLbl: "企业"},
		{in: "12440600MB2C07549J", valid: true, region: "440600", regionName: "广东省佛山市", authority: "1", category: "2", orgCode: "MB2C0754-9", check: "J", categoryLbl: "事业单位"},
		// Normalisation: lower case, spaces, dashes, full-width characters.
		{in: " 9135 0100-m000 100y43 ", valid: true, region: "350100", regionName: "福建省福州市", authority: "9", category: "1", orgCode: "M000100Y-4", check: "3", categoryLbl: "企业"},
		{in: "９１３５０１００Ｍ０００１００Ｙ４３", valid: true, region: "350100", regionName: "福建省福州市", authority: "9", category: "1", orgCode: "M000100Y-4", check: "3", categoryLbl: "企业"},
		// Invalid.
		{in: "91110000600037341N", valid: false, region: "110000", regionName: "北京市", authority: "9", category: "1", orgCode: "60003734-1", check: "L", wantErr: "校验码应为 L 而不是 N (check character should be L)", categoryLbl: "企业"},
		{in: "9111000060003IOZSV", valid: false, wantErr: "不使用 I、O、Z、S、V"},
		{in: "111111111111111111", valid: false, region: "111111", authority: "1", category: "1", orgCode: "11111111-1", check: "5", wantErr: "校验码应为 5 而不是 1", wantWarn: "GB 11714", categoryLbl: "机关"},
		// Passes the USCC checksum by coincidence; org code fails (warning) and
		// authority 3 has no category 6 (error).
		{in: "362322198709086409", valid: false, region: "232219", regionName: "", authority: "3", category: "6", orgCode: "87090864-0", check: "9", wantErr: "未定义", wantWarn: "GB 11714"},
		// Legacy Xiamen/Fujian pilot codes: fail the checksum, valid with a warning.
		{in: "91350203M0001QKT19", valid: true, region: "350203", regionName: "福建省厦门市思明区", authority: "9", category: "1", orgCode: "M0001QKT-1", check: "F", wantWarn: "厦门试点期", categoryLbl: "企业"},
		{in: "91350211M0000XUF46", valid: true, region: "350211", regionName: "福建省厦门市集美区", authority: "9", category: "1", orgCode: "M0000XUF-4", check: "R", wantWarn: "需人工核实", categoryLbl: "企业"},
		{in: "91350100M0001TGQXM", valid: true, region: "350100", regionName: "福建省福州市", authority: "9", category: "1", orgCode: "M0001TGQ-X", check: "1", wantWarn: "厦门试点期", categoryLbl: "企业"},
		{in: "91350203M0001FUE2P", valid: true, region: "350203", regionName: "福建省厦门市思明区", authority: "9", category: "1", orgCode: "M0001FUE-2", check: "J", wantWarn: "厦门试点期", categoryLbl: "企业"},
		// Same shape outside Fujian: a plain checksum error.
		{in: "91130802M0001QKT19", valid: false, region: "130802", regionName: "河北省承德市双桥区", authority: "9", category: "1", orgCode: "M0001QKT-1", wantErr: "校验码应为", wantWarn: "", categoryLbl: "企业"},
		{in: "9135010", valid: false, wantErr: "应为18位"},
		{in: "", valid: false, wantErr: "应为18位"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r := ParseUSCC(tt.in)
			if r.Kind != KindUSCC || r.KindLabel != "统一社会信用代码" {
				t.Errorf("kind = %q %q", r.Kind, r.KindLabel)
			}
			if r.Valid != tt.valid {
				t.Fatalf("Valid = %v, want %v (errors %q warnings %q)", r.Valid, tt.valid, r.Errors, r.Warnings)
			}
			if r.Input != tt.in {
				t.Errorf("Input = %q", r.Input)
			}
			if r.Region != tt.region || r.RegionName != tt.regionName {
				t.Errorf("region = %q %q, want %q %q", r.Region, r.RegionName, tt.region, tt.regionName)
			}
			if r.Authority != tt.authority || r.Category != tt.category || r.CategoryLabel != tt.categoryLbl {
				t.Errorf("authority/category = %q/%q %q, want %q/%q %q", r.Authority, r.Category, r.CategoryLabel, tt.authority, tt.category, tt.categoryLbl)
			}
			if r.OrgCode != tt.orgCode {
				t.Errorf("OrgCode = %q, want %q", r.OrgCode, tt.orgCode)
			}
			if tt.check != "" && r.Check != tt.check {
				t.Errorf("Check = %q, want %q", r.Check, tt.check)
			}
			if tt.wantErr != "" && !hasText(r.Errors, tt.wantErr) {
				t.Errorf("errors %q lack %q", r.Errors, tt.wantErr)
			}
			if tt.wantErr == "" && len(r.Errors) > 0 {
				t.Errorf("unexpected errors %q", r.Errors)
			}
			if tt.wantWarn == "" && len(r.Warnings) > 0 && tt.valid {
				t.Errorf("unexpected warnings %q", r.Warnings)
			}
			if tt.wantWarn != "" && !hasText(r.Warnings, tt.wantWarn) {
				t.Errorf("warnings %q lack %q", r.Warnings, tt.wantWarn)
			}
			if tt.valid && tt.wantWarn == "" && strings.Contains(tt.in, "M") && len(tt.in) == 18 && r.Normalized != tt.in {
				t.Errorf("Normalized = %q", r.Normalized)
			}
		})
	}
}

func TestParseUSCCNormalized(t *testing.T) {
	for in, want := range map[string]string{
		" 9135 0100-m000 100y43 ":  "91350100M000100Y43",
		"９１３５０１００Ｍ０００１００Ｙ４３":       "91350100M000100Y43",
		"91350100\u3000M000100Y43": "91350100M000100Y43",
		"91350100—M000100Y4－3":     "91350100M000100Y43",
	} {
		if got := ParseUSCC(in).Normalized; got != want {
			t.Errorf("Normalized(%q) = %q, want %q", in, got, want)
		}
	}
}

// A code whose final check passes but whose organisation code does not is
// valid, with a warning naming the organisation-code check.
func TestParseUSCCOrgCodeWarning(t *testing.T) {
	good, err := MakeUSCC('9', '1', "130802", "MA0ABCDE")
	if err != nil {
		t.Fatal(err)
	}
	r := ParseUSCC(good)
	if !r.Valid || len(r.Warnings) != 0 || len(r.Errors) != 0 {
		t.Fatalf("generated %s: %+v", good, r)
	}
	// Replace the org-code check with a wrong one and recompute the final check.
	wrong := byte('0')
	if good[16] == '0' {
		wrong = '1'
	}
	first17 := good[:16] + string(wrong)
	c, err := USCCCheck(first17)
	if err != nil {
		t.Fatal(err)
	}
	bad := first17 + string(c)
	r = ParseUSCC(bad)
	if !r.Valid {
		t.Fatalf("%s: want valid with warning, got errors %q", bad, r.Errors)
	}
	if !hasText(r.Warnings, "GB 11714") || !hasText(r.Warnings, "人工核实") {
		t.Errorf("%s: warnings %q lack the organisation-code check", bad, r.Warnings)
	}
}

func TestParseUSCCAuthorities(t *testing.T) {
	tests := []struct {
		auth, cat byte
		valid     bool
		label     string
	}{
		{'9', '1', true, "企业"},
		{'9', '2', true, "个体工商户"},
		{'9', '3', true, "农民专业合作社"},
		{'5', '1', true, "社会团体"},
		{'5', '3', true, "基金会"},
		{'1', '1', true, "机关"},
		{'N', '2', true, "村级集体经济组织"},
		{'Y', '1', true, "其他"},
		{'A', '1', true, "军队事业单位"},
		{'9', '4', false, ""},
		{'Y', '2', false, ""},
		{'B', '1', false, ""},
		{'0', '1', false, ""},
	}
	for _, tt := range tests {
		first17 := string([]byte{tt.auth, tt.cat}) + "130802" + "MA0ABCDE"
		oc, _ := OrgCodeCheck("MA0ABCDE")
		first17 += string(oc)
		c, err := USCCCheck(first17)
		if err != nil {
			t.Fatal(err)
		}
		r := ParseUSCC(first17 + string(c))
		if r.Valid != tt.valid || r.CategoryLabel != tt.label {
			t.Errorf("%c%c: valid=%v label=%q errors=%q, want %v %q", tt.auth, tt.cat, r.Valid, r.CategoryLabel, r.Errors, tt.valid, tt.label)
		}
	}
}

func TestParseUSCCUnknownRegionWarns(t *testing.T) {
	c, err := MakeUSCC('9', '1', "130899", "MA0ABCDE")
	if err != nil {
		t.Fatal(err)
	}
	r := ParseUSCC(c)
	if !r.Valid || r.Region != "130899" || r.RegionName != "" || !hasText(r.Warnings, "130899") {
		t.Errorf("%s: %+v", c, r)
	}
}

// Vectors from /work/shared/reference/domain.md §1.2.
func TestParseID(t *testing.T) {
	tests := []struct {
		in         string
		valid      bool
		normalized string
		region     string
		regionName string
		birth      string
		sex        string
		upgraded   bool
		wantErr    string
		wantWarn   string
	}{
		{in: "11010519491231002X", valid: true, normalized: "11010519491231002X", region: "110105", regionName: "北京市朝阳区", birth: "1949-12-31", sex: "female"},
		{in: "440524188001010014", valid: true, normalized: "440524188001010014", region: "440524", regionName: "广东省汕头市潮阳县", birth: "1880-01-01", sex: "male", wantWarn: "早于1900年"},
		{in: "110105195001010039", valid: true, normalized: "110105195001010039", region: "110105", regionName: "北京市朝阳区", birth: "1950-01-01", sex: "male"},
		{in: "11010519500101999X", valid: true, normalized: "11010519500101999X", region: "110105", regionName: "北京市朝阳区", birth: "1950-01-01", sex: "male"},
		{in: "11010519500102000X", valid: true, normalized: "11010519500102000X", region: "110105", regionName: "北京市朝阳区", birth: "1950-01-02", sex: "female"},
		{in: "360426199101010071", valid: true, normalized: "360426199101010071", region: "360426", regionName: "江西省九江市德安县", birth: "1991-01-01", sex: "male"},
		{in: "44011320141005001x", valid: true, normalized: "44011320141005001X", region: "440113", regionName: "广东省广州市番禺区", birth: "2014-10-05", sex: "male"},
		{in: "362322198709086409", valid: true, normalized: "362322198709086409", region: "362322", regionName: "江西省上饶地区广丰县", birth: "1987-09-08", sex: "female"},
		{in: "110105491231002", valid: true, normalized: "11010519491231002X", region: "110105", regionName: "北京市朝阳区", birth: "1949-12-31", sex: "female", upgraded: true},
		{in: "1101-0519 4912 3100 2x", valid: true, normalized: "11010519491231002X", region: "110105", regionName: "北京市朝阳区", birth: "1949-12-31", sex: "female"},
		{in: "36042619910102009X", valid: false, normalized: "36042619910102009X", region: "360426", regionName: "江西省九江市德安县", birth: "1991-01-02", sex: "male", wantErr: "校验码应为 3 而不是 X"},
		{in: "360426199113010079", valid: false, normalized: "360426199113010079", region: "360426", regionName: "江西省九江市德安县", sex: "male", wantErr: "不是有效日期"},
		{in: "990426199112010074", valid: false, normalized: "990426199112010074", region: "990426", birth: "1991-12-01", sex: "male", wantErr: "省级代码 99 不存在"},
		{in: "T60426199101010078", valid: false, normalized: "T60426199101010078", wantErr: "格式错误"},
		{in: "311099199901010000", valid: false, normalized: "311099199901010000", region: "311099", birth: "1999-01-01", sex: "female", wantErr: "上海市没有代码为 3110 的地级行政区"},
		{in: "11010519491231002", valid: false, normalized: "11010519491231002", wantErr: "应为18位"},
		{in: "11010549123100A", valid: false, normalized: "11010549123100A", wantErr: "数字"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r := ParseID(tt.in, testNow)
			if r.Kind != KindIDNumber || r.KindLabel != "公民身份号码" {
				t.Errorf("kind = %q %q", r.Kind, r.KindLabel)
			}
			if r.Valid != tt.valid {
				t.Fatalf("Valid = %v, want %v (errors %q warnings %q)", r.Valid, tt.valid, r.Errors, r.Warnings)
			}
			if r.Normalized != tt.normalized || r.Region != tt.region || r.RegionName != tt.regionName ||
				r.BirthDate != tt.birth || r.Sex != tt.sex || r.Upgraded != tt.upgraded {
				t.Errorf("got %+v", r)
			}
			if tt.sex == "male" && r.SexLabel != "男" || tt.sex == "female" && r.SexLabel != "女" {
				t.Errorf("SexLabel = %q for %q", r.SexLabel, r.Sex)
			}
			if tt.wantErr != "" && !hasText(r.Errors, tt.wantErr) {
				t.Errorf("errors %q lack %q", r.Errors, tt.wantErr)
			}
			if tt.wantErr == "" && len(r.Errors) > 0 {
				t.Errorf("unexpected errors %q", r.Errors)
			}
			if tt.wantWarn != "" && !hasText(r.Warnings, tt.wantWarn) {
				t.Errorf("warnings %q lack %q", r.Warnings, tt.wantWarn)
			}
			if tt.wantWarn == "" && len(r.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", r.Warnings)
			}
			if r.Valid {
				if c, _ := IDCheck(r.Normalized[:17]); string(c) != r.Check || r.Normalized[17] != c {
					t.Errorf("Check = %q, normalized %q, computed %c", r.Check, r.Normalized, c)
				}
			}
		})
	}
}

func TestParseIDBirthDateBounds(t *testing.T) {
	mk := func(region, date string) string {
		d, err := time.Parse("20060102", date)
		if err != nil {
			t.Fatal(err)
		}
		id, err := MakeID(region, d, 123)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	// testNow is 2026-11-25 12:00 in China.
	tests := []struct {
		id      string
		now     time.Time
		valid   bool
		wantErr string
	}{
		{mk("130802", "20261125"), testNow, true, ""},
		{mk("130802", "20261126"), testNow, false, "晚于今天"},
		// 2026-11-25 20:00 UTC is already 2026-11-26 in China.
		{mk("130802", "20261126"), time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC), true, ""},
		{"130802" + "17991231" + "1234", testNow, false, "早于1800年"},
		{"130802" + "20000230" + "1234", testNow, false, "不是有效日期"},
		{mk("130802", "20000229"), testNow, true, ""},
	}
	for _, tt := range tests {
		r := ParseID(tt.id, tt.now)
		if r.Valid != tt.valid || (tt.wantErr != "" && !hasText(r.Errors, tt.wantErr)) {
			t.Errorf("%s at %v: valid=%v errors=%q", tt.id, tt.now, r.Valid, r.Errors)
		}
	}
}

func TestParseIDRegions(t *testing.T) {
	birth := time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		region   string
		valid    bool
		warning  bool
		fullName string
	}{
		{"130802", true, false, "河北省承德市双桥区"},
		{"130881", true, false, "河北省承德市平泉市"},
		{"130823", true, false, "河北省承德市平泉县"},  // historical, still valid
		{"132624", true, false, "河北省承德地区平泉县"}, // 1980s Chengde prefecture code
		{"130829", true, true, ""},            // known Chengde prefecture, unknown county: warning
		{"440199", true, true, ""},            // Guangdong not listed completely: warning
		{"321099", true, true, ""},            // Jiangsu, no prefectures listed: warning
		{"131299", false, false, ""},          // Hebei has no prefecture 1312
		{"119999", false, false, ""},          // Beijing has no prefecture 1199
		{"121099", false, false, ""},          // Tianjin has no prefecture 1210
		{"000000", false, false, ""},          // no province 00
		{"900101", false, false, ""},          // no province 90
	}
	for _, tt := range tests {
		id, err := MakeID(tt.region, birth, 42)
		if err != nil {
			t.Fatal(err)
		}
		r := ParseID(id, testNow)
		if r.Valid != tt.valid || (len(r.Warnings) > 0) != tt.warning || r.RegionName != tt.fullName {
			t.Errorf("%s: valid=%v warnings=%q errors=%q name=%q", id, r.Valid, r.Warnings, r.Errors, r.RegionName)
		}
	}
}

func TestParseGTIN(t *testing.T) {
	tests := []struct {
		in     string
		valid  bool
		format string
		check  string
	}{
		{"4006381333931", true, "GTIN-13", "1"},  // EAN-13
		{"6901234567892", true, "GTIN-13", "2"},  // GS1 China prefix 690
		{"036000291452", true, "GTIN-12", "2"},   // UPC-A
		{"96385074", true, "GTIN-8", "4"},        // EAN-8
		{"73513537", true, "GTIN-8", "7"},        // EAN-8
		{"00012345600012", true, "GTIN-14", "2"}, // GTIN-14
		{"10012345600019", true, "GTIN-14", "9"}, // GTIN-14 with indicator 1
		{"6 901234 567892", true, "GTIN-13", "2"},
		{"4006381333932", false, "GTIN-13", "1"},
		{"036000291453", false, "GTIN-12", "2"},
		{"96385075", false, "GTIN-8", "4"},
		{"400638133393", false, "GTIN-12", "0"},
		{"40063813339", false, "", ""},
		{"40063813339A", false, "", ""},
		{"", false, "", ""},
	}
	for _, tt := range tests {
		r := ParseGTIN(tt.in)
		if r.Valid != tt.valid || r.Format != tt.format || r.Check != tt.check || r.Kind != KindGTIN {
			t.Errorf("%q: %+v", tt.in, r)
		}
		if tt.format != "" && r.KindLabel != "商品条码 "+tt.format {
			t.Errorf("%q: KindLabel = %q", tt.in, r.KindLabel)
		}
		if !tt.valid && len(r.Errors) == 0 {
			t.Errorf("%q: invalid without an error", tt.in)
		}
		// The fast test agrees with ParseGTIN on normalized input and
		// sends everything else to it.
		if got, want := ValidGTIN(tt.in), r.Valid && r.Normalized == tt.in; got != want {
			t.Errorf("ValidGTIN(%q) = %v, want %v", tt.in, got, want)
		}
	}
}

func TestParseRegion(t *testing.T) {
	tests := []struct {
		in, name string
		valid    bool
		warn     bool
	}{
		{"130802", "河北省承德市双桥区", true, false},
		{"130800", "河北省承德市", true, false},
		{"130000", "河北省", true, false},
		{"110105", "北京市朝阳区", true, false},
		{"130823", "河北省承德市平泉县", true, true},
		{"440524", "广东省汕头市潮阳县", true, true},
		{"130899", "", false, false},
		{"990000", "", false, false},
		{"13080", "", false, false},
		{"13080A", "", false, false},
	}
	for _, tt := range tests {
		r := ParseRegion(tt.in)
		if r.Valid != tt.valid || r.RegionName != tt.name || (len(r.Warnings) > 0) != tt.warn || r.Kind != KindRegion {
			t.Errorf("%q: %+v", tt.in, r)
		}
		if !tt.valid && len(r.Errors) == 0 {
			t.Errorf("%q: invalid without an error", tt.in)
		}
	}
}

func TestRegionsChengde(t *testing.T) {
	want := []Region{
		{"130800", "承德市", "河北省承德市"},
		{"130802", "双桥区", "河北省承德市双桥区"},
		{"130803", "双滦区", "河北省承德市双滦区"},
		{"130804", "鹰手营子矿区", "河北省承德市鹰手营子矿区"},
		{"130821", "承德县", "河北省承德市承德县"},
		{"130822", "兴隆县", "河北省承德市兴隆县"},
		{"130824", "滦平县", "河北省承德市滦平县"},
		{"130825", "隆化县", "河北省承德市隆化县"},
		{"130826", "丰宁满族自治县", "河北省承德市丰宁满族自治县"},
		{"130827", "宽城满族自治县", "河北省承德市宽城满族自治县"},
		{"130828", "围场满族蒙古族自治县", "河北省承德市围场满族蒙古族自治县"},
		{"130881", "平泉市", "河北省承德市平泉市"},
	}
	if got := Regions("1308"); !reflect.DeepEqual(got, want) {
		t.Errorf("Regions(1308) = %v", got)
	}
}

func TestRegionsHebei(t *testing.T) {
	hebei := Regions("13")
	// 1 province + 11 prefectures + 167 county-level divisions (2023 list).
	var prefectures, counties int
	for _, r := range hebei {
		switch {
		case r.Code == "130000":
		case r.Code[4:] == "00":
			prefectures++
		default:
			counties++
		}
		if !strings.HasPrefix(r.FullName, "河北省") {
			t.Errorf("%v: full name", r)
		}
	}
	if prefectures != 11 || counties != 167 {
		t.Errorf("Hebei: %d prefectures, %d counties; want 11, 167", prefectures, counties)
	}
	if !slices.IsSortedFunc(Regions(""), func(a, b Region) int { return strings.Compare(a.Code, b.Code) }) {
		t.Error("Regions not sorted")
	}
	if got := Regions("99"); got != nil {
		t.Errorf("Regions(99) = %v", got)
	}
	// Every province-level division is present.
	provinces := []string{"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
		"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"}
	for _, p := range provinces {
		if _, ok := RegionName(p + "0000"); !ok {
			t.Errorf("province %s missing", p)
		}
	}
	for _, r := range Regions("") {
		if r.Code[2:] == "0000" && !slices.Contains(provinces, r.Code[:2]) {
			t.Errorf("unexpected province %v", r)
		}
	}
}

func TestRegionName(t *testing.T) {
	for code, want := range map[string]string{
		"130802": "河北省承德市双桥区",
		"110108": "北京市海淀区",
		"310115": "上海市浦东新区",
		"120116": "天津市滨海新区",
		"440300": "广东省深圳市",
		"350211": "福建省厦门市集美区",
		"360426": "江西省九江市德安县",
		"620105": "甘肃省兰州市安宁区",
		"340602": "安徽省淮北市杜集区",
		"810000": "香港特别行政区",
		"139015": "河北省定州市",
	} {
		if got, ok := RegionName(code); !ok || got != want {
			t.Errorf("RegionName(%s) = %q %v, want %q", code, got, ok, want)
		}
	}
	for _, code := range []string{"", "13", "130899", "abcdef", "1308021"} {
		if got, ok := RegionName(code); ok {
			t.Errorf("RegionName(%q) = %q, want not found", code, got)
		}
	}
}

func TestLoadRegionsRejectsBadData(t *testing.T) {
	for _, tsv := range []string{
		"130000\t河北省",  // two fields
		"13000\t河北省\t", // short code
		"130000\t\t",   // empty name
		"130000\t河北省\t\n130000\t河北省\t", // duplicate
		"130802\t双桥区\t",                // no province
	} {
		if _, err := loadRegions(tsv); err == nil {
			t.Errorf("loadRegions(%q) accepted bad data", tsv)
		}
	}
}

func TestParseGuessesKind(t *testing.T) {
	tests := []struct {
		in    string
		kind  Kind
		valid bool
	}{
		{"91350100M000100Y43", KindUSCC, true},
		{"914403001922038216", KindUSCC, true},     // all digits, a valid credit code, not a valid ID
		{"121200004013590816", KindUSCC, true},     // all digits
		{"362322198709086409", KindIDNumber, true}, // the hutool #1367 case
		{"11010519491231002X", KindIDNumber, true},
		{"44011320141005001x", KindIDNumber, true},
		{"110105491231002", KindIDNumber, true},
		{"360426199113010079", KindIDNumber, false}, // month 13: fewer errors as an ID
		{"36042619910102009X", KindIDNumber, false},
		{"311099199901010000", KindIDNumber, false},
		{"111111111111111111", KindUSCC, false},
		{"91110000600037341N", KindUSCC, false},
		{"9111000060003IOZSV", KindUSCC, false},
		{"T60426199101010078", KindUSCC, false},
		{"91350203M0001QKT19", KindUSCC, true},
		{"4006381333931", KindGTIN, true},
		{"036000291452", KindGTIN, true},
		{"96385074", KindGTIN, true},
		{"00012345600012", KindGTIN, true},
		{"130802", KindRegion, true},
		{"", KindUnknown, false},
		{"hello", KindUnknown, false},
		{"1234567", KindUnknown, false},
		{"9135010", KindUnknown, false},
	}
	for _, tt := range tests {
		r := Parse(tt.in, testNow)
		if r.Kind != tt.kind || r.Valid != tt.valid {
			t.Errorf("Parse(%q) = kind %q valid %v (errors %q)", tt.in, r.Kind, r.Valid, r.Errors)
		}
		if r.KindLabel == "" || !strings.HasPrefix(r.KindLabel, tt.kind.Label()) {
			t.Errorf("Parse(%q): KindLabel %q", tt.in, r.KindLabel)
		}
		if !r.Valid && len(r.Errors) == 0 {
			t.Errorf("Parse(%q): invalid without errors", tt.in)
		}
	}
}

// An 18-digit string valid both as an ID number and as a clean credit code is
// reported as an ID number with a warning. ID numbers from region 131101 born
// in the 1900s read as credit codes of authority 1, category 3, region 110119
// (北京市延庆区); about one in 341 of them also passes both credit-code checks.
func TestParseBothValid(t *testing.T) {
	found := 0
	for day := 0; day < 30 && found < 3; day++ {
		birth := time.Date(1990, 1, 1+day, 0, 0, 0, 0, time.UTC)
		for seq := 0; seq < 1000; seq++ {
			id, err := MakeID("131101", birth, seq)
			if err != nil {
				t.Fatal(err)
			}
			if u := ParseUSCC(id); !u.Valid || len(u.Warnings) > 0 {
				continue
			}
			found++
			r := Parse(id, testNow)
			if r.Kind != KindIDNumber || !r.Valid || !hasText(r.Warnings, "统一社会信用代码") {
				t.Fatalf("%s: %+v", id, r)
			}
		}
	}
	if found == 0 {
		t.Fatal("no string valid under both readings found")
	}
}

func TestGenerators(t *testing.T) {
	if c, err := OrgCodeCheck("M000100Y"); err != nil || c != '4' {
		t.Errorf("OrgCodeCheck = %c %v", c, err)
	}
	if c, err := OrgCodeCheck("71526726"); err != nil || c != 'X' {
		t.Errorf("OrgCodeCheck = %c %v", c, err)
	}
	if c, err := USCCCheck("91620105L01510128"); err != nil || c != '0' {
		t.Errorf("USCCCheck = %c %v", c, err)
	}
	if c, err := IDCheck("11010519491231002"); err != nil || c != 'X' {
		t.Errorf("IDCheck = %c %v", c, err)
	}
	if c, err := GTINCheck("400638133393"); err != nil || c != '1' {
		t.Errorf("GTINCheck = %c %v", c, err)
	}
	if got, err := MakeUSCC('9', '1', "350100", "M000100Y"); err != nil || got != "91350100M000100Y43" {
		t.Errorf("MakeUSCC = %q %v", got, err)
	}
	if got, err := MakeUSCC('9', '2', "340602", "MA2PBMEM"); err != nil || got != "92340602MA2PBMEM24" {
		t.Errorf("MakeUSCC = %q %v", got, err)
	}
	if got, err := MakeID("110105", time.Date(1949, 12, 31, 0, 0, 0, 0, time.UTC), 2); err != nil || got != "11010519491231002X" {
		t.Errorf("MakeID = %q %v", got, err)
	}
	bad := []error{
		func() error { _, err := USCCCheck("9135010"); return err }(),
		func() error { _, err := USCCCheck("91350100M000100I4"); return err }(),
		func() error { _, err := OrgCodeCheck("M00010"); return err }(),
		func() error { _, err := OrgCodeCheck("M00010#Y"); return err }(),
		func() error { _, err := IDCheck("1101051949123100X"); return err }(),
		func() error { _, err := GTINCheck(""); return err }(),
		func() error { _, err := GTINCheck("12345678901234567890"); return err }(),
		func() error { _, err := GTINCheck("12a"); return err }(),
		func() error { _, err := MakeUSCC('Z', '1', "130802", "MA0ABCDE"); return err }(),
		func() error { _, err := MakeUSCC('9', '7', "130802", "MA0ABCDE"); return err }(),
		func() error { _, err := MakeUSCC('9', '1', "13080", "MA0ABCDE"); return err }(),
		func() error { _, err := MakeUSCC('9', '1', "130802", "MA0ABCD"); return err }(),
		func() error { _, err := MakeUSCC('9', '1', "130802", "MA0ABCDI"); return err }(),
		func() error { _, err := MakeID("13080", time.Now(), 1); return err }(),
		func() error { _, err := MakeID("130802", time.Now(), 1000); return err }(),
		func() error { _, err := MakeID("130802", time.Now(), -1); return err }(),
		func() error { _, err := MakeID("130802", time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), 1); return err }(),
	}
	for i, err := range bad {
		if err == nil {
			t.Errorf("bad generator input %d accepted", i)
		}
	}
}

// Every generated code for the demo city parses back as valid, without
// warnings, to the same parts.
func TestGeneratorsRoundTrip(t *testing.T) {
	birth := time.Date(1985, 3, 9, 0, 0, 0, 0, time.UTC)
	for i, reg := range Regions("1308") {
		body := []byte("MA0" + strings.Repeat("0", 5))
		for j := 0; j < 50; j++ {
			body[7] = usccCharset[(i*50+j)%31]
			body[6] = usccCharset[(i+j)%31]
			c, err := MakeUSCC('9', '2', reg.Code, string(body))
			if err != nil {
				t.Fatal(err)
			}
			r := ParseUSCC(c)
			if !r.Valid || len(r.Warnings) > 0 || r.RegionName != reg.FullName || r.CategoryLabel != "个体工商户" {
				t.Fatalf("%s: %+v", c, r)
			}
			id, err := MakeID(reg.Code, birth, j*7)
			if err != nil {
				t.Fatal(err)
			}
			p := ParseID(id, testNow)
			if !p.Valid || len(p.Warnings) > 0 || p.BirthDate != "1985-03-09" || p.RegionName != reg.FullName {
				t.Fatalf("%s: %+v", id, p)
			}
			if want := map[bool]string{true: "male", false: "female"}[(j*7)%2 == 1]; p.Sex != want {
				t.Fatalf("%s: sex %s, want %s", id, p.Sex, want)
			}
		}
	}
}

// The JSON field names are the public contract of the CLI and the API.
func TestResultJSON(t *testing.T) {
	b, err := json.Marshal(ParseUSCC("91110000600037341N"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"input", "normalized", "kind", "kind_label", "valid", "region", "region_name",
		"authority", "authority_label", "category", "category_label", "org_code", "check", "errors"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	b, _ = json.Marshal(ParseID("110105491231002", testNow))
	want := `{"input":"110105491231002","normalized":"11010519491231002X","kind":"id_number","kind_label":"公民身份号码","valid":true,"region":"110105","region_name":"北京市朝阳区","birth_date":"1949-12-31","sex":"female","sex_label":"女","upgraded":true,"check":"X"}`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
	// "valid": false is always present.
	b, _ = json.Marshal(Parse("", testNow))
	if !strings.Contains(string(b), `"valid":false`) || !strings.Contains(string(b), `"kind":"unknown"`) {
		t.Errorf("JSON: %s", b)
	}
}

// KnownRegion agrees with RegionName's ok, current and historical codes
// alike.
func TestKnownRegion(t *testing.T) {
	for _, c := range []string{"130802", "440524", "110000", "130899", "999999", "13080", "", "1308021"} {
		_, ok := RegionName(c)
		if KnownRegion(c) != ok {
			t.Errorf("KnownRegion(%q) = %v, RegionName ok %v", c, KnownRegion(c), ok)
		}
	}
	if !KnownRegion("130802") || KnownRegion("999999") {
		t.Error("KnownRegion: 130802 must be known, 999999 not")
	}
}
