package pdf

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecredit/errs"
)

// needChromium skips when the browser or pdftotext is missing, except in
// CI, where the browser tests must run.
func needChromium(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"chromium", "pdftotext"} {
		if _, err := exec.LookPath(bin); err != nil {
			if ci := os.Getenv("CI"); ci == "true" || ci == "1" {
				t.Fatalf("%s not installed and CI is set: apt-get install -y chromium fonts-noto-cjk poppler-utils", bin)
			}
			t.Skipf("%s not installed", bin)
		}
	}
}

// PDFText extracts the text of a PDF with pdftotext.
func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "out.pdf")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-enc", "UTF-8", f, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestChromiumPDF(t *testing.T) {
	needChromium(t)
	c := New()
	defer c.Close()
	html := `<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>body{font-family:"Noto Sans CJK SC",sans-serif}</style></head>
<body><h1>承德市电子商务信用报告</h1><p>统一社会信用代码 91130802MA0ABCDE1X</p><p>京东 山楂 0123456789</p></body></html>`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 2 { // the second render reuses the browser
		b, err := c.PDF(ctx, []byte(html))
		if err != nil {
			t.Fatalf("render %d: %v", i, err)
		}
		if !bytes.HasPrefix(b, []byte("%PDF-")) {
			t.Fatalf("render %d: not a PDF: %q", i, b[:min(len(b), 16)])
		}
		text := pdfText(t, b)
		for _, want := range []string{"承德市电子商务信用报告", "91130802MA0ABCDE1X", "京东", "山楂", "0123456789"} {
			if !strings.Contains(text, want) {
				t.Errorf("render %d: PDF text lacks %q:\n%s", i, want, text)
			}
		}
	}
}

func TestMissingChromium(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	c := &Chromium{Path: filepath.Join(t.TempDir(), "no-such-chromium")}
	_, err := c.PDF(context.Background(), []byte("<p>x</p>"))
	if !errs.Is(err, errs.Unavailable) || !strings.Contains(errs.MessageOf(err), "Chromium") {
		t.Fatalf("err = %v, want unavailable naming Chromium", err)
	}
}
