package trace

import (
	"net/url"
	"strings"

	"ecredit/errs"
)

// GS1 Digital Link (GS1 Digital Link Standard: URI Syntax 1.4) on the
// platform's own domain: the QR code printed on a package carries
// https://{portal}/01/{GTIN-14}/10/{lot}, which a phone opens as the
// batch's public trace (web's resolver), and which any other system reads
// as the batch (digitalLink, in EPCIS).

// DigitalLinkPath is the path of a batch's GS1 Digital Link: the GTIN as
// 14 digits (AI 01) and the lot (AI 10), percent-encoded.
func DigitalLinkPath(gtin, batch string) string {
	if len(gtin) < 14 {
		gtin = strings.Repeat("0", 14-len(gtin)) + gtin
	}
	return "/01/" + gtin + "/10/" + url.PathEscape(batch)
}

// ParseDigitalLinkPath reads the GTIN (as ParseGTIN gives it), the lot
// ("" when the link names only the product) and the serial (AI 21, "")
// of the path of a GS1 Digital Link URI (what follows the domain, still
// percent-encoded: "/01/06901234567892/10/L2409%2FA/21/7"). A resolver
// is lenient where the standard allows it: a GTIN of 8, 12 or 13 digits
// is taken as the GTIN-14 it pads to; other key qualifiers and data
// attributes after the lot (AI 21, AI 17 …) are read but not needed.
func ParseDigitalLinkPath(path string) (gtin, batch, serial string, err error) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) < 2 || segs[0] != "01" {
		return "", "", "", errs.Field("path", "GS1 数字链接应以 /01/{商品条码} 开头 (a Digital Link starts with /01/{GTIN})")
	}
	if len(segs)%2 != 0 {
		return "", "", "", errs.Field("path", "GS1 数字链接的应用标识符与取值应成对出现 (AI and value must come in pairs)")
	}
	ais := map[string]string{}
	for i := 0; i < len(segs); i += 2 {
		v, uerr := url.PathUnescape(segs[i+1])
		if uerr != nil || v == "" {
			return "", "", "", errs.Field("path", "GS1 数字链接中 AI %s 的取值有误 (malformed value of AI %s)", clip(segs[i], 8), clip(segs[i], 8))
		}
		if _, dup := ais[segs[i]]; dup {
			return "", "", "", errs.Field("path", "GS1 数字链接中 AI %s 出现了两次 (AI %s given twice)", clip(segs[i], 8), clip(segs[i], 8))
		}
		ais[segs[i]] = v
	}
	g := ais["01"]
	if !digits(g) || len(g) != 8 && len(g) != 12 && len(g) != 13 && len(g) != 14 {
		return "", "", "", errs.Field("path", "GS1 数字链接中的商品条码应为 14 位数字 (AI 01 must be a GTIN of 14 digits)")
	}
	if gtin, err = ParseGTIN("path", g); err != nil {
		return "", "", "", err
	}
	gtin = trimGTIN(gtin)
	if b, ok := ais["10"]; ok {
		if batch, err = ParseBatch("path", b); err != nil {
			return "", "", "", err
		}
	}
	return gtin, batch, ais["21"], nil
}
