package code

import (
	"fmt"
	"strings"
)

// usccCharset is the GB 32100 alphabet; a character's value is its index.
const usccCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights[i] = 3^i mod 31.
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// orgWeights are the GB 11714 weights of the eight body characters.
var orgWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

type authority struct {
	label      string
	categories map[byte]string
}

// authorities is the GB 32100-2015 table of registration authorities
// (登记管理部门代码, position 1) and their categories (机构类别代码, position 2).
var authorities = map[byte]authority{
	'1': {"机构编制", map[byte]string{'1': "机关", '2': "事业单位", '3': "编办直接管理机构编制的群众团体", '9': "其他"}},
	'2': {"外交", map[byte]string{'1': "外国常驻新闻机构", '9': "其他"}},
	'3': {"司法行政", map[byte]string{'1': "律师执业机构", '2': "公证处", '3': "基层法律服务所", '4': "司法鉴定机构", '5': "仲裁委员会", '9': "其他"}},
	'4': {"文化", map[byte]string{'1': "外国在华文化中心", '9': "其他"}},
	'5': {"民政", map[byte]string{'1': "社会团体", '2': "民办非企业单位", '3': "基金会", '9': "其他"}},
	'6': {"旅游", map[byte]string{'1': "外国旅游部门常驻代表机构", '2': "港澳台地区旅游部门常驻内地（大陆）代表机构", '9': "其他"}},
	'7': {"宗教", map[byte]string{'1': "宗教活动场所", '2': "宗教院校", '9': "其他"}},
	'8': {"工会", map[byte]string{'1': "基层工会", '9': "其他"}},
	'9': {"工商 (市场监管)", map[byte]string{'1': "企业", '2': "个体工商户", '3': "农民专业合作社", '9': "其他"}},
	'A': {"中央军委改革和编制办公室", map[byte]string{'1': "军队事业单位", '9': "其他"}},
	'N': {"农业", map[byte]string{'1': "组级集体经济组织", '2': "村级集体经济组织", '3': "乡镇级集体经济组织", '9': "其他"}},
	'Y': {"其他", map[byte]string{'1': "其他"}},
}

func usccValue(c byte) int { return strings.IndexByte(usccCharset, c) }

// USCCCheck computes the 18th (check) character of a unified social credit
// code from its first 17 characters (upper case, GB 32100 alphabet).
func USCCCheck(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, fmt.Errorf("统一社会信用代码前17位的长度为 %d (need 17 characters)", len(first17))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := usccValue(first17[i])
		if v < 0 {
			return 0, fmt.Errorf("第%d位字符 %q 不在统一社会信用代码字符集中 (invalid character)", i+1, first17[i])
		}
		sum += v * usccWeights[i]
	}
	return usccCharset[(31-sum%31)%31], nil
}

func orgValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10
	}
	return -1
}

// OrgCodeCheck computes the check character (0-9 or X) of a GB 11714
// organisation code from its 8 body characters (digits and upper-case letters).
func OrgCodeCheck(first8 string) (byte, error) {
	if len(first8) != 8 {
		return 0, fmt.Errorf("组织机构代码本体的长度为 %d (need 8 characters)", len(first8))
	}
	sum := 0
	for i := 0; i < 8; i++ {
		v := orgValue(first8[i])
		if v < 0 {
			return 0, fmt.Errorf("组织机构代码第%d位字符 %q 无效 (invalid character)", i+1, first8[i])
		}
		sum += v * orgWeights[i]
	}
	switch r := 11 - sum%11; r {
	case 11:
		return '0', nil
	case 10:
		return 'X', nil
	default:
		return byte('0' + r), nil
	}
}

// MakeUSCC builds a complete credit code from the authority and category
// characters, a 6-digit region and an 8-character organisation code body,
// computing the organisation-code check and the final check character.
// The body must use the GB 32100 alphabet (no I, O, Z, S, V).
func MakeUSCC(authority, category byte, region, orgBody8 string) (string, error) {
	a, ok := authorities[authority]
	if !ok {
		return "", fmt.Errorf("未知的登记管理部门代码 %q (unknown authority)", authority)
	}
	if _, ok := a.categories[category]; !ok {
		return "", fmt.Errorf("登记管理部门 %c 下没有机构类别代码 %q (unknown category)", authority, category)
	}
	if len(region) != 6 || !allDigits(region) {
		return "", fmt.Errorf("行政区划代码应为6位数字：%q (region must be 6 digits)", region)
	}
	if len(orgBody8) != 8 {
		return "", fmt.Errorf("组织机构代码本体应为8位：%q (organisation code body must be 8 characters)", orgBody8)
	}
	for i := 0; i < 8; i++ {
		if usccValue(orgBody8[i]) < 0 {
			return "", fmt.Errorf("组织机构代码本体第%d位字符 %q 不在字符集中 (invalid character)", i+1, orgBody8[i])
		}
	}
	oc, err := OrgCodeCheck(orgBody8)
	if err != nil {
		return "", err
	}
	first17 := string([]byte{authority, category}) + region + orgBody8 + string(oc)
	c, err := USCCCheck(first17)
	if err != nil {
		return "", err
	}
	return first17 + string(c), nil
}

// isXiamenPilot reports whether a code looks like one of the pre-2016 Xiamen /
// Fujian pilot codes that fail the GB 32100 checksum but are real.
func isXiamenPilot(n string) bool {
	return n[0] == '9' && (strings.HasPrefix(n[2:], "3501") || strings.HasPrefix(n[2:], "3502")) &&
		n[8] >= 'A' && n[8] <= 'Z'
}

// ParseUSCC parses a unified social credit code (GB 32100-2015). See the
// package documentation for how the organisation-code check, unknown regions
// and the legacy Xiamen pilot codes are treated.
func ParseUSCC(s string) Result {
	n := normalize(s)
	r := Result{Input: s, Normalized: n, Kind: KindUSCC, KindLabel: KindUSCC.Label()}
	if len(n) != 18 {
		r.addError("统一社会信用代码应为18位，实际为%d位 (must be 18 characters)", len([]rune(n)))
		return r
	}
	bad := false
	for i := 0; i < 18; i++ {
		if usccValue(n[i]) < 0 {
			bad = true
			hint := ""
			switch n[i] {
			case 'I', 'O', 'Z', 'S', 'V':
				hint = "，代码中不使用 I、O、Z、S、V"
			}
			r.addError("第%d位字符「%c」不在允许的字符集中%s (invalid character)", i+1, n[i], hint)
		}
	}
	if bad {
		return r
	}

	// Position 1 and 2: authority and category.
	r.Authority, r.Category = n[:1], n[1:2]
	a, ok := authorities[n[0]]
	if !ok {
		r.addError("第1位登记管理部门代码「%c」无效，应为 1-9、A、N、Y (unknown registration authority)", n[0])
	} else {
		r.AuthorityLabel = a.label
		if l, ok := a.categories[n[1]]; ok {
			r.CategoryLabel = l
		} else {
			r.addError("第2位机构类别代码「%c」在登记管理部门 %c（%s）下未定义 (unknown category for this authority)", n[1], n[0], a.label)
		}
	}

	// Positions 3–8: region.
	if !allDigits(n[2:8]) {
		r.addError("第3-8位行政区划代码「%s」应为6位数字 (region must be 6 digits)", n[2:8])
	} else {
		r.Region = n[2:8]
		if name, ok := RegionName(r.Region); ok {
			r.RegionName = name
		} else {
			r.addWarning("登记管理机关行政区划代码 %s 不在内置 GB/T 2260 代码表中，请核实 (region code not in the embedded table)", r.Region)
		}
	}

	// Positions 9–17: embedded organisation code.
	body, orgCheck := n[8:16], n[16]
	r.OrgCode = body + "-" + string(orgCheck)
	wantOrg, _ := OrgCodeCheck(body) // body is in the USCC alphabet, a subset of 0-9A-Z
	orgOK := orgCheck == wantOrg

	// Position 18: final check.
	want, _ := USCCCheck(n[:17])
	r.Check = string(want)
	finalOK := n[17] == want
	switch {
	case finalOK:
	case isXiamenPilot(n):
		r.addWarning("厦门试点期（2016年前）旧代码：校验码应为 %c 而不是 %c，此类代码真实存在但不符合 GB 32100 校验规则，需人工核实 (legacy Xiamen pilot code failing the checksum; verify manually)", want, n[17])
	default:
		r.addError("校验码应为 %c 而不是 %c (check character should be %c)", want, n[17], want)
	}
	if !orgOK {
		msg := fmt.Sprintf("内嵌组织机构代码 %s 未通过 GB 11714 校验，校验码应为 %c 而不是 %c", r.OrgCode, wantOrg, orgCheck)
		if finalOK {
			r.addWarning("%s；统一社会信用代码校验码虽然正确，仍需人工核实 (embedded organisation code check failed although the final check passes; verify manually)", msg)
		} else {
			r.addWarning("%s (embedded organisation code check failed)", msg)
		}
	}
	r.Valid = len(r.Errors) == 0
	return r
}
