package trace

import (
	"strings"
	"testing"

	"ecredit/errs"
)

// TestParseLocation: SGLN URIs and Digital Links of GLNs are kept as
// given; anything else is refused naming the field and what is wrong.
func TestParseLocation(t *testing.T) {
	for _, s := range []string{
		"", "urn:epc:id:sgln:0614141.00777.0", "urn:epc:id:sgln:0614141.00888.Dock-3", "urn:epc:id:sgln:069321412345..0",
		"urn:epc:id:sgln:6907654.00001.A%2FB", " https://id.gs1.org/414/6907654000018 ", "https://id.example.cn/414/6907654000018/254/Dock_1",
	} {
		if _, err := ParseLocation("read_point", s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	if got, _ := ParseLocation("read_point", " urn:epc:id:sgln:0614141.00777.0\t"); got != "urn:epc:id:sgln:0614141.00777.0" {
		t.Errorf("trimmed: %q", got)
	}
	for s, want := range map[string]string{
		"Chengde warehouse":                                   "SGLN",
		"urn:epc:id:sgln:0614141.00777":                       "三段",
		"urn:epc:id:sgln:0614141.0077.0":                      "12 位",
		"urn:epc:id:sgln:06141X1.00777.0":                     "数字",
		"urn:epc:id:sgln:06141.0077777.0":                     "6–12",
		"urn:epc:id:sgln:0614141.00777.":                      "扩展",
		"urn:epc:id:sgln:0614141.00777.a/b":                   "扩展",
		"urn:epc:id:sgln:0614141.00777.123456789012345678901": "扩展",
		"https://id.gs1.org/01/06907654000019":                "/414/",
		"https://id.gs1.org/414/6907654000011":                "校验位错误，应为 8",
		"https://id.gs1.org/414/690765400001":                 "13 位",
		"https://id.gs1.org/414/6907654000018/10/L1":          "/254/",
	} {
		_, err := ParseLocation("biz_location", s)
		if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "biz_location" || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error on biz_location saying %q", s, err, want)
		}
	}
}
