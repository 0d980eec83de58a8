package imports

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"ecredit/errs"
	"ecredit/record"
)

func readAll(t *testing.T, rd *Reader) []*Row {
	t.Helper()
	var rows []*Row
	for {
		r, err := rd.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, r)
	}
}

func openFile(t *testing.T, name string, typ record.Type) *Reader {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	rd, err := Open(f, name, typ)
	if err != nil {
		t.Fatalf("Open %s: %v", name, err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}

// rowErrors maps row number → columns with reader-level errors.
func rowErrors(rows []*Row) map[int][]string {
	m := map[int][]string{}
	for _, r := range rows {
		for _, e := range r.Errors {
			m[r.Line] = append(m[r.Line], e.Column)
		}
	}
	return m
}

func TestTestdataFiles(t *testing.T) {
	tests := []struct {
		file      string
		typ       record.Type
		encoding  string
		lines     []int
		readErrs  map[int][]string // duplicates found by the reader
		warnRow   int              // row of the header warning, -1 none
		warnHas   string
		firstRef  string // Input.Fields value of the ref column of the first row
		refHeader string
	}{
		{"penalty_gb18030.csv", record.TypePenalty, "GB18030", []int{2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
			map[int][]string{8: {"行政处罚决定书文号"}}, -1, "", "承双市监罚〔2025〕101号", "行政处罚决定书文号"},
		{"licence_utf8bom.csv", record.TypeLicence, "UTF-8 BOM", []int{2, 3, 4, 5, 6, 7, 8, 9},
			map[int][]string{8: {"XK_WSH"}}, 1, "内部编号", "承双审批许〔2025〕0001号", "XK_WSH"},
		{"penalty_legacy.csv", record.TypePenalty, "UTF-8", []int{2, 3, 4, 5},
			map[int][]string{}, -1, "", "承平市监罚〔2019〕15号", "行政处罚决定书文号"},
		{"penalty.xlsx", record.TypePenalty, "XLSX", []int{4, 5, 7, 8, 9, 10},
			map[int][]string{10: {"行政处罚决定书文号"}}, 1, "标题", "承双市监罚〔2025〕201号", "行政处罚决定书文号"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rd := openFile(t, tt.file, tt.typ)
			if rd.Encoding != tt.encoding {
				t.Errorf("encoding = %q, want %q", rd.Encoding, tt.encoding)
			}
			rows := readAll(t, rd)
			var lines []int
			for _, r := range rows {
				lines = append(lines, r.Line)
			}
			if !equalInts(lines, tt.lines) {
				t.Errorf("rows = %v, want %v", lines, tt.lines)
			}
			got := rowErrors(rows)
			if len(got) != len(tt.readErrs) {
				t.Errorf("reader errors = %v, want %v", got, tt.readErrs)
			}
			for line, cols := range tt.readErrs {
				if strings.Join(got[line], ",") != strings.Join(cols, ",") {
					t.Errorf("row %d errors in %v, want %v", line, got[line], cols)
				}
			}
			if tt.warnRow >= 0 {
				found := false
				for _, w := range rd.Warnings {
					if w.Row == tt.warnRow && strings.Contains(w.Message, tt.warnHas) {
						found = true
					}
				}
				if !found {
					t.Errorf("no warning at row %d containing %q: %+v", tt.warnRow, tt.warnHas, rd.Warnings)
				}
			} else {
				for _, w := range rd.Warnings {
					if strings.Contains(w.Message, "不是") {
						t.Errorf("unexpected unknown-column warning: %+v", w)
					}
				}
			}
			if v := rows[0].Input.Fields[tt.refHeader]; v != tt.firstRef {
				t.Errorf("first row %s = %q, want %q", tt.refHeader, v, tt.firstRef)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGeneratedXLSXMatchesTestdata(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.xlsx")
	if err := writePenaltyXLSX(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := Open(f, "p.xlsx", record.TypePenalty)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	gen := readAll(t, rd)
	committed := readAll(t, openFile(t, "penalty.xlsx", record.TypePenalty))
	if len(gen) != len(committed) {
		t.Fatalf("generated %d rows, committed %d", len(gen), len(committed))
	}
	for i := range gen {
		for k, v := range committed[i].Input.Fields {
			if gen[i].Input.Fields[k] != v {
				t.Errorf("row %d %s: generated %q, committed %q", gen[i].Line, k, gen[i].Input.Fields[k], v)
			}
		}
	}
	// Excel dates arrive as serial numbers, which record.ParseDate reads.
	if v := committed[0].Input.Fields["处罚决定日期"]; v != "45939" {
		t.Errorf("date cell = %q, want the serial 45939", v)
	}
	if d, err := record.ParseDate("45939"); err != nil || d != "2025-10-09" {
		t.Errorf("ParseDate(45939) = %q, %v", d, err)
	}
}

func TestOpenFatal(t *testing.T) {
	gbk := func(s string) string {
		b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name, file, data string
		typ              record.Type
		want             string
	}{
		{"empty", "a.csv", "", record.TypePenalty, "文件为空"},
		{"missing required", "a.csv", "CF_XDR_MC,CF_XDR_SHXYM,CF_WSH\nx,y,z\n", record.TypePenalty, "缺少必填列"},
		{"missing required names", "a.csv", "CF_XDR_MC,CF_XDR_SHXYM,CF_WSH\n", record.TypePenalty, "违法事实（CF_SY）"},
		{"gbk missing", "a.csv", gbk("行政相对人名称,统一社会信用代码\n"), record.TypePenalty, "行政处罚决定书文号"},
		{"no header", "a.csv", "a,b,c\n1,2,3\n", record.TypeLicence, "没有找到表头行"},
		{"no code column", "a.csv", "XK_XDR_MC,XK_WSH,XK_NR,XK_JDRQ,XK_XKJG\n", record.TypeLicence, "统一社会信用代码"},
		{"binary", "a.csv", "PK\x03\x04garbage\x00\x00", record.TypeLicence, "二进制"},
		{"zip without extension", "upload", "PK\x03\x04garbage", record.TypeLicence, "XLSX"},
		{"xls", "a.xls", "\xd0\xcf\x11\xe0", record.TypeLicence, ".xls"},
		{"bad type", "a.csv", "x", "nonsense", "记录类型"},
		{"bad xlsx", "a.xlsx", "not a zip", record.TypeLicence, "XLSX"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, err := Open(strings.NewReader(tt.data), tt.file, tt.typ)
			if err == nil {
				rd.Close()
				t.Fatalf("Open succeeded, want error containing %q", tt.want)
			}
			if !errs.Is(err, errs.Invalid) || !strings.Contains(errs.MessageOf(err), tt.want) {
				t.Fatalf("err = %v, want invalid containing %q", err, tt.want)
			}
		})
	}
}

func TestCSVRowProblems(t *testing.T) {
	data := "CF_XDR_MC,CF_XDR_SHXYM,CF_WSH,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_JDRQ,CF_CFJG,CF_WFXW\n" +
		"a,91130802MA0A1B2C2Y,W1,f,b,警告,n,2025-01-02,j,v\n" +
		"b,91130802MA0A1B2C2Y,W2,f\"x,b,警告,n,2025-01-02,j,v\n" + // bare quote
		"\n" + // blank row: skipped
		"c,91130802MA0A1B2C2Y,W3,f,b,警告,n,2025-01-02,j,v,extra\n" + // cell outside the header
		"d,91130802MA0A1B2C2Y,\"W4\nsecond line\",f,b,警告,n,2025-01-02,j,v\n" + // multi-line cell
		"e,91130802MA0A1B2C2Y,W1,f,b,警告,n,2025-01-02,j,v\n" // duplicate of line 2
	rd, err := Open(strings.NewReader(data), "x.csv", record.TypePenalty)
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, rd)
	want := []struct {
		line int
		errs int
		has  string
	}{{2, 0, ""}, {3, 1, "引号"}, {5, 1, "没有表头"}, {6, 0, ""}, {8, 1, "与第 2 行重复"}}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		if r.Line != w.line || len(r.Errors) != w.errs {
			t.Errorf("row %d: line %d errors %+v, want line %d with %d errors", i, r.Line, r.Errors, w.line, w.errs)
			continue
		}
		if w.has != "" && !strings.Contains(r.Errors[0].Message, w.has) {
			t.Errorf("row %d: error %q, want %q", r.Line, r.Errors[0].Message, w.has)
		}
	}
	if rows[3].Input.Fields["CF_WSH"] != "W4\nsecond line" {
		t.Errorf("multi-line cell = %q", rows[3].Input.Fields["CF_WSH"])
	}
}

func TestTitleAndCodeRows(t *testing.T) {
	data := "承德市行政许可公示,,\n" +
		"行政相对人名称,统一社会信用代码,行政许可决定文书号,许可内容,许可决定日期,许可机关\n" +
		"XK_XDR_MC,XK_XDR_SHXYM,XK_WSH,XK_NR,XK_JDRQ,XK_XKJG\n" +
		"甲,91130802MA0A1B2C2Y,W1,食品,2025-01-02,局\n"
	rd, err := Open(strings.NewReader(data), "x.csv", record.TypeLicence)
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, rd)
	if len(rows) != 1 || rows[0].Line != 4 {
		t.Fatalf("rows = %+v", rows)
	}
	if len(rd.Warnings) != 2 {
		t.Errorf("warnings = %+v, want title and code-row warnings", rd.Warnings)
	}
}

type fakeIngester struct {
	got []record.Input
	err map[string]error // by ref
}

func (f *fakeIngester) IngestBatch(_ context.Context, ins []record.Input) ([]record.Result, error) {
	out := make([]record.Result, len(ins))
	for i, in := range ins {
		f.got = append(f.got, in)
		out[i] = record.Result{Line: i + 1, Status: record.ResultCreated}
		for _, v := range in.Fields {
			if e, ok := f.err[v]; ok {
				out[i] = record.Result{Line: i + 1, Status: record.ResultError, Err: e}
			}
		}
	}
	return out, nil
}

func TestRunMapsFieldErrorsToColumns(t *testing.T) {
	data := "CF_XDR_MC,CF_XDR_SHXYM,CF_WSH,CF_SY,CF_YJ,CF_CFLB,CF_NR,CF_JDRQ,CF_CFJG,CF_WFXW\n" +
		"a,91130802MA0A1B2C2Y,W1,f,b,警告,n,2025-01-02,j,v\n" +
		"b,91130802MA0A1B2C2Y,W2,f,b,警告,n,2025-02-30,j,v\n" +
		"c,91130802MA0A1B2C2Y,W3,f,b\"\",警告,n,2025-01-02,j,v\n"
	var l errs.List
	l.Add("fields.decision_date", "「处罚决定日期」日期无效")
	l.Add("fields.doc_no", "重复")
	ing := &fakeIngester{err: map[string]error{"W2": l.Err()}}
	rd, err := Open(strings.NewReader(data), "x.csv", record.TypePenalty)
	if err != nil {
		t.Fatal(err)
	}
	var progress []int
	rep, err := Run(context.Background(), rd, ing, Options{ProgressEvery: 1, Progress: func(r *Report) { progress = append(progress, r.Rows) }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 3 || rep.Created != 1 || rep.Failed != 2 {
		t.Fatalf("report = %+v", rep)
	}
	want := []CellError{{3, "CF_JDRQ", "「处罚决定日期」日期无效"}, {3, "CF_WSH", "重复"}}
	if len(rep.Errors) != 3 || rep.Errors[0] != want[0] || rep.Errors[1] != want[1] || rep.Errors[2].Row != 4 {
		t.Errorf("errors = %+v", rep.Errors)
	}
	if len(ing.got) != 2 {
		t.Errorf("ingested %d rows, want 2 (the unreadable row is not ingested)", len(ing.got))
	}
	if len(progress) != 4 || progress[3] != 3 {
		t.Errorf("progress = %v", progress)
	}
}

func TestReadNDJSON(t *testing.T) {
	body := `{"type":"penalty","fields":{"CF_WSH":"W1"}}
{"fields":{"XK_WSH":"W2"},"source_ref":"W2"}

{"type":"penalty","fields":{"CF_WSH":1}}
not json
{"type":"penalty","bogus":1}
{"type":"penalty"} {"type":"licence"}
`
	lines, err := ReadNDJSON(strings.NewReader("\ufeff"+body), record.TypeLicence, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line  int
		typ   record.Type
		field string // error field, "-" for no error
	}{{1, record.TypePenalty, "-"}, {2, record.TypeLicence, "-"}, {4, record.TypePenalty, "fields"}, {5, record.TypeLicence, ""}, {6, record.TypePenalty, "bogus"}, {7, record.TypePenalty, ""}}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d", len(lines), len(want))
	}
	for i, w := range want {
		l := lines[i]
		if l.Line != w.line || l.Input.Type != w.typ {
			t.Errorf("line %d: %+v", w.line, l)
		}
		if w.field == "-" {
			if l.Err != nil {
				t.Errorf("line %d: unexpected error %v", w.line, l.Err)
			}
		} else if l.Err == nil || errs.FieldOf(l.Err) != w.field {
			t.Errorf("line %d: err %v, want field %q", w.line, l.Err, w.field)
		}
	}
	if _, err := ReadNDJSON(strings.NewReader(body), "", 2); !errs.Is(err, errs.TooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	long := `{"type":"other","fields":{"x":"` + strings.Repeat("a", MaxLine) + `"}}`
	if _, err := ReadNDJSON(strings.NewReader(long), "", 10); !errs.Is(err, errs.TooLarge) {
		t.Errorf("long line: %v", err)
	}
}

func FuzzCSV(f *testing.F) {
	for _, name := range []string{"penalty_gb18030.csv", "licence_utf8bom.csv", "penalty_legacy.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("CF_WSH,CF_XDR_MC\n\"a\nb"))
	f.Add([]byte("\xff\xfeC\x00F\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, typ := range []record.Type{record.TypePenalty, record.TypeOther} {
			rd, err := Open(bytes.NewReader(data), "f.csv", typ)
			if err != nil {
				if !errs.Is(err, errs.Invalid) {
					t.Fatalf("Open: non-invalid error %v", err)
				}
				continue
			}
			last := 0
			for {
				r, err := rd.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if r.Line <= last {
					t.Fatalf("row numbers not increasing: %d after %d", r.Line, last)
				}
				last = r.Line
				for k := range r.Input.Fields {
					if _, ok := rd.Def.Resolve(k); !ok && !rd.Def.Open {
						t.Fatalf("row %d has field %q outside the schema", r.Line, k)
					}
				}
			}
			rd.Close()
		}
	})
}
