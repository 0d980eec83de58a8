package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/trace"
)

// The portal is the GS1 Digital Link resolver of the batches it traces
// (GS1-Conformant Resolver Standard 1.1, M10 扫码溯源): a package's QR
// code carries https://{portal}/01/{GTIN-14}/10/{lot}; a phone that scans
// it is sent to the batch's public trace page. A resolver answers one link
// with several targets: ?linkType=gs1:epcis is the batch's public EPCIS
// events, and ?linkType=linkset (or Accept: application/linkset+json)
// the list of them all (RFC 9264) — every other or unknown link type gets
// the default, the trace page, as the standard asks; a link naming only the
// product goes to the product's page. The QR code itself is
// GET /trace/{gtin}/{batch}/qr.png, on the public and console pages.

// linkTypes are the targets the resolver knows, by GS1 link type.
var linkTypes = []struct {
	Type, Title, Media string
	Path               func(g, b string) string
}{
	{"gs1:traceability", "产品追溯（生产、检验、上架、流向、召回）", "text/html", func(g, b string) string {
		return "/trace/" + url.PathEscape(g) + "/" + url.PathEscape(b)
	}},
	{"gs1:epcis", "公开追溯事件（GS1 EPCIS 2.0 JSON-LD）", "application/ld+json", func(g, b string) string {
		return "/api/v1/public/trace/" + url.PathEscape(g) + "/" + url.PathEscape(b) + "/epcis"
	}},
}

// digitalLink is GET /01/{path...}: the GS1 Digital Link of a batch.
func (s *Site) digitalLink(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) {
		return
	}
	g, b, _, err := trace.ParseDigitalLinkPath(r.URL.EscapedPath())
	if err != nil {
		s.render(w, r, http.StatusBadRequest, "trace", &page{Title: "产品追溯", Section: "trace",
			Data: traceData{Message: "无法识别该 GS1 数字链接：" + errs.MessageOf(err)}})
		return
	}
	if b == "" {
		// The product alone (a barcode names no batch): its page, which
		// lists its batches and asks for the one on the package.
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/trace/"+url.PathEscape(g), http.StatusTemporaryRedirect)
		return
	}
	self := s.baseURL(r) + trace.DigitalLinkPath(g, b)
	w.Header().Add("Link", "<"+self+"?linkType=linkset>; rel=\"linkset\"; type=\"application/linkset+json\"")
	lt := r.URL.Query().Get("linkType")
	if lt == "linkset" || lt == "all" || lt == "" && wantsLinkset(r) {
		s.linkset(w, r, self, g, b)
		return
	}
	target := linkTypes[0].Path(g, b) // the default link
	for _, t := range linkTypes {
		if t.Type == lt || "https://gs1.org/voc/"+strings.TrimPrefix(t.Type, "gs1:") == lt {
			target = t.Path(g, b)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusTemporaryRedirect)
}

// wantsLinkset tells whether the request asks for the linkset rather than
// a redirect (Accept: application/linkset+json, as a resolver's clients do).
func wantsLinkset(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		media, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(media), "application/linkset+json") {
			return true
		}
	}
	return false
}

// linksetLink is one target in a linkset.
type linksetLink struct {
	Href     string   `json:"href"`
	Title    string   `json:"title"`
	Type     string   `json:"type"`
	HrefLang []string `json:"hreflang"`
}

// linkset writes the batch's targets as an RFC 9264 linkset: the anchor is
// the Digital Link, each link type a relation (GS1 Web Vocabulary URI),
// the default one under gs1:defaultLink too.
func (s *Site) linkset(w http.ResponseWriter, r *http.Request, self, g, b string) {
	base := s.baseURL(r)
	set := map[string]any{"anchor": self}
	for i, t := range linkTypes {
		l := []linksetLink{{Href: base + t.Path(g, b), Title: t.Title, Type: t.Media, HrefLang: []string{"zh-CN"}}}
		set["https://gs1.org/voc/"+strings.TrimPrefix(t.Type, "gs1:")] = l
		if i == 0 {
			set["https://gs1.org/voc/defaultLink"] = l
		}
	}
	body, err := json.Marshal(map[string]any{"linkset": []any{set}})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeBytes(w, "application/linkset+json", "public, max-age=300", body)
}

// writeBytes answers 200 with body, of media type typ, cached as cache says.
func writeBytes(w http.ResponseWriter, typ, cache string, body []byte) {
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Cache-Control", cache)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// traceQRData is the partial "trace_qr": a batch, its Digital Link on
// this portal, and whether to offer the print-size image (the console).
type traceQRData struct {
	Batch trace.BatchView
	Link  string
	Print bool
}

// Sizes of a batch's QR code, in pixels.
const (
	qrDefault = 240
	qrMin     = 120
	qrMax     = 1200
)

// traceQR is GET /trace/{gtin}/{batch}/qr.png[?size=N]: the QR code of
// the batch's Digital Link on this portal, N pixels square (240 by
// default; up to 1200 for print), for a registered batch.
func (s *Site) traceQR(w http.ResponseWriter, r *http.Request) {
	httpx.NoteRoute(r)
	if !s.traceReady(w, r) || s.limited(w, r) { // a store read and a PNG to encode
		return
	}
	size := qrDefault
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < qrMin || n > qrMax {
			http.Error(w, "size 应为 "+strconv.Itoa(qrMin)+" 到 "+strconv.Itoa(qrMax)+" 之间的像素数 (size out of range)", http.StatusBadRequest)
			return
		}
		size = n
	}
	b, _, err := s.d.Trace.GetBatch(publicCtx(r), r.PathValue("gtin"), r.PathValue("batch"))
	switch {
	case errs.Is(err, errs.NotFound):
		http.Error(w, "该批次未登记 (batch not registered)", http.StatusNotFound)
		return
	case errs.Is(err, errs.Invalid):
		http.Error(w, errs.MessageOf(err), http.StatusBadRequest)
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	png, err := qrPNG(s.baseURL(r)+trace.DigitalLinkPath(b.GTIN, b.Batch), size)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeBytes(w, "image/png", "public, max-age=86400", png)
}
