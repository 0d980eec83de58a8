package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func init() { register("public-report", flowPublicReport) }

// verifyURLRE finds the verification address printed in a report (after
// the PDF text's line breaks are removed).
var verifyURLRE = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/verify/R[0-9]+-[0-9]+-[0-9]+-[A-Za-z0-9_-]{24}\?h=[0-9a-f]{64}`)

// The public's journey: search a two-character part of a name, open the
// profile, download the credit report as a PDF, and check it on the
// verification page whose address the report prints.
func flowPublicReport(t *testing.T, b *Tab) {
	s, q := pickOrg(t, b.City)
	t.Logf("subject %d %s, query %q", s.ID, s.Name, q)

	b.Go("/search")
	b.SetValue("#q", q)
	b.Click(".search-form button[type=submit]")
	b.WaitText(".result-list", s.Name)
	b.Click(`a.result-name[href="` + s.Path() + `"]`)
	b.WaitText(".profile-head h1", s.Name)
	b.WaitText(".kv", s.CreditCode)
	b.WaitText("h2", "信用记录")

	pdf := b.Download(`a[href="` + s.Path() + `/report.pdf"]`)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("the report download is not a PDF: %.80q", pdf)
	}
	text := pdfText(t, pdf)
	if !strings.Contains(text, s.Name) || !strings.Contains(text, s.CreditCode) {
		t.Fatalf("the PDF does not name %s (%s):\n%.2000s", s.Name, s.CreditCode, text)
	}
	u := verifyURLRE.FindString(strings.Join(strings.Fields(text), ""))
	if u == "" {
		t.Fatalf("no verification address in the PDF:\n%.3000s", text)
	}
	if !strings.Contains(u, "/verify/R"+strconv.FormatInt(s.ID, 10)+"-") {
		t.Fatalf("verification address %s is not for subject %d", u, s.ID)
	}
	b.Go(strings.Replace(u, "http://127.0.0.1:0", b.City.Base, 1))
	b.WaitText(".verdict-title", "真实有效")
	b.WaitText("table.kv", s.Name)
}

// pdfText extracts the text of a PDF with pdftotext (poppler-utils).
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (Debian package poppler-utils): %v", err)
	}
	return string(out)
}
