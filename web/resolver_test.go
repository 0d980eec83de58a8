package web

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"ecredit/code"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// TestDigitalLinkResolver: the portal resolves a batch's GS1 Digital Link
// (14 digits, or 13 leniently, with a serial and data attributes or
// without) to its trace page, ?linkType=gs1:epcis to its public EPCIS
// events, an unknown link type to the default, and a linkset request (by
// linkType or Accept) to the RFC 9264 list; a link that names only the
// product goes to the product's page (its batches, latest first, recalls
// marked); a bad link is a clear error. The QR code of a
// registered batch encodes its Digital Link on this portal, in the size
// asked, and the trace page shows it.
func TestDigitalLinkResolver(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e, svc := traceEnv(t, db)
		c, _ := code.GTINCheck("690111122224")
		g := "690111122224" + string(c)
		if _, _, err := svc.CreateProduct(samrCtx, trace.ProductInput{GTIN: g, Name: "承德山楂糕", Category: "food", ProducerCode: e.merchant.CreditCode}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.CreateBatch(samrCtx, trace.BatchInput{GTIN: g, Batch: "B7", ProducedOn: "2025-02-01"}); err != nil {
			t.Fatal(err)
		}
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(path string, hdr ...string) (int, []byte, http.Header) {
			t.Helper()
			req, err := http.NewRequest("GET", e.srv.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b, resp.Header
		}
		link := "/01/0" + g + "/10/B7"
		page, epcis := "/trace/"+g+"/B7", "/api/v1/public/trace/"+g+"/B7/epcis"
		for path, want := range map[string]string{
			link:                         page,
			"/01/" + g + "/10/B7":        page, // 13 digits: padded
			link + "/21/0042?17=261231":  page, // a serial and an expiry date
			link + "?linkType=gs1:epcis": epcis,
			link + "?linkType=https://gs1.org/voc/epcis": epcis,
			link + "?linkType=gs1:traceability":          page,
			link + "?linkType=gs1:nutritionInfo":         page, // unknown here: the default
		} {
			st, _, h := get(path)
			if st != http.StatusTemporaryRedirect || h.Get("Location") != want || !strings.Contains(h.Get("Link"), `rel="linkset"`) {
				t.Errorf("%s: %d → %q (Link %q), want %s", path, st, h.Get("Location"), h.Get("Link"), want)
			}
		}

		// The linkset, asked for either way.
		for _, req := range [][]string{{link + "?linkType=linkset"}, {link, "Accept", "application/linkset+json, */*;q=0.1"}} {
			st, body, h := get(req[0], req[1:]...)
			var ls struct {
				Linkset []map[string]json.RawMessage `json:"linkset"`
			}
			if st != 200 || h.Get("Content-Type") != "application/linkset+json" || json.Unmarshal(body, &ls) != nil || len(ls.Linkset) != 1 {
				t.Fatalf("linkset %v: %d %s %s", req, st, h.Get("Content-Type"), body)
			}
			set := ls.Linkset[0]
			var anchor string
			var def, ep []linksetLink
			_ = json.Unmarshal(set["anchor"], &anchor)
			_ = json.Unmarshal(set["https://gs1.org/voc/defaultLink"], &def)
			_ = json.Unmarshal(set["https://gs1.org/voc/epcis"], &ep)
			if anchor != e.srv.URL+link || len(def) != 1 || def[0].Href != e.srv.URL+page || def[0].HrefLang[0] != "zh-CN" ||
				len(ep) != 1 || ep[0].Href != e.srv.URL+epcis || ep[0].Type != "application/ld+json" {
				t.Errorf("linkset %v: %s", req, body)
			}
		}

		// Following the link ends on the trace page, which shows the QR code.
		resp, err := http.Get(e.srv.URL + link)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Path != page || !bytes.Contains(body, []byte("承德山楂糕")) ||
			!bytes.Contains(body, []byte(`src="/trace/`+g+`/B7/qr.png"`)) || !bytes.Contains(body, []byte(e.srv.URL+link)) {
			t.Fatalf("followed: %d %s", resp.StatusCode, resp.Request.URL)
		}

		// A link that names the product alone goes to its page, which
		// lists its batches; unknown and bad GTINs are said so.
		if st, _, h := get("/01/0" + g); st != http.StatusTemporaryRedirect || h.Get("Location") != "/trace/"+g {
			t.Errorf("product only: %d → %q", st, h.Get("Location"))
		}
		if _, _, err := svc.CreateBatch(samrCtx, trace.BatchInput{GTIN: g, Batch: "B8", ProducedOn: "2025-03-01"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Recall(samrCtx, g, "B7", trace.RecallInput{Reason: "标签错误"}); err != nil {
			t.Fatal(err)
		}
		st, body, _ := get("/trace/0" + g) // in 14 digits too
		if st != 200 || !bytes.Contains(body, []byte("承德山楂糕")) || !bytes.Contains(body, []byte(e.merchant.Name)) ||
			!bytes.Contains(body, []byte(`href="/trace/`+g+`/B8"`)) || !bytes.Contains(body, []byte("其中 1 个已召回")) ||
			bytes.Index(body, []byte(">B8<")) > bytes.Index(body, []byte(">B7<")) {
			t.Errorf("product page: %d\n%s", st, body)
		}
		if st, _, h := get("/trace?gtin=" + g + "&batch="); st != http.StatusSeeOther || h.Get("Location") != "/trace/"+g {
			t.Errorf("the lookup form with the barcode alone: %d → %q", st, h.Get("Location"))
		}
		c2, _ := code.GTINCheck("690111122299")
		if st, body, _ := get("/trace/690111122299" + string(c2)); st != 404 || !bytes.Contains(body, []byte("尚未在本平台登记")) {
			t.Errorf("unknown product: %d", st)
		}
		if st, _, _ := get("/trace/6901111222990"); st != 400 && c2 != '0' {
			t.Errorf("bad GTIN: %d", st)
		}
		for path, want := range map[string]string{
			"/01/0" + g[:12] + "0/10/B7": "校验码",
			"/01/123/10/B7":              "14 位数字",
			link + "/21":                 "成对",
			"/01/0" + g + "/10/B7/10/B8": "两次",
		} {
			if st, body, _ := get(path); st != 400 || !bytes.Contains(body, []byte(want)) {
				t.Errorf("%s: %d, want 400 with %q", path, st, want)
			}
		}

		// The QR code: the Digital Link on this portal, 240 pixels or as asked.
		for size, px := range map[string]int{"": 240, "?size=600": 600} {
			st, body, h := get(page + "/qr.png" + size)
			img, err := png.Decode(bytes.NewReader(body))
			if st != 200 || h.Get("Content-Type") != "image/png" || err != nil || img.Bounds().Dx() != px || img.Bounds().Dy() != px {
				t.Fatalf("qr%s: %d %s %v", size, st, h.Get("Content-Type"), err)
			}
			want, _ := qrPNG(e.srv.URL+link, px)
			if !bytes.Equal(body, want) {
				t.Errorf("qr%s does not encode %s", size, e.srv.URL+link)
			}
		}
		if st, _, _ := get(page + "/qr.png?size=5"); st != 400 {
			t.Errorf("tiny qr: %d", st)
		}
		if st, _, _ := get("/trace/" + g + "/NOPE/qr.png"); st != 404 {
			t.Errorf("qr of an unknown batch: %d", st)
		}
	})
}
