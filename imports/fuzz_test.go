package imports

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"ecredit/errs"
	"ecredit/record"
)

// readRows reads every row of rd, checking that rows come in order and
// hold only fields of the schema.
func readRows(t *testing.T, rd *Reader) {
	t.Helper()
	last := 0
	for {
		r, err := rd.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			if c := errs.CodeOf(err); c != errs.Invalid && c != errs.TooLarge {
				t.Fatalf("Next: %v (%s)", err, c)
			}
			return
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
}

// smallXLSX is a one-sheet workbook with the given rows.
func smallXLSX(f *testing.F, rows [][]any) []byte {
	x := excelize.NewFile()
	defer x.Close()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := x.SetSheetRow("Sheet1", cell, &r); err != nil {
			f.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := x.Write(&b); err != nil {
		f.Fatal(err)
	}
	return b.Bytes()
}

// FuzzXLSX: any file given as .xlsx opens with a clear error or reads
// row by row; nothing panics.
func FuzzXLSX(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("testdata", "penalty.xlsx"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(smallXLSX(f, [][]any{{"行政处罚决定书文号", "行政相对人名称", "处罚决定日期"}, {"文号1", "公司", 45293}, {"文号2", nil, "2026-13-45"}}))
	f.Add(smallXLSX(f, [][]any{{"CF_WSH", "CF_XDR_MC"}, {strings.Repeat("长", 3000), "\x00"}}))
	f.Add(smallXLSX(f, nil))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte("not a zip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := Open(bytes.NewReader(data), "f.xlsx", record.TypePenalty)
		if err != nil {
			if c := errs.CodeOf(err); c != errs.Invalid && c != errs.TooLarge {
				t.Fatalf("Open: %v (%s)", err, c)
			}
			if errs.MessageOf(err) == "" {
				t.Fatal("Open: error without a message")
			}
			return
		}
		defer rd.Close()
		readRows(t, rd)
	})
}

// FuzzNDJSON: a batch body reads into one result per non-blank line, in
// order, each decoded or carrying a clear error; only a body over the
// limits fails as a whole.
func FuzzNDJSON(f *testing.F) {
	for _, s := range []string{
		`{"type":"penalty","fields":{"doc_no":"1"}}` + "\n" + `{"type":"other","fields":{"x":"y"},"source_ref":"r1"}`,
		"\ufeff{\"fields\":{}}\r\n\r\n{\"correct\":true,\"reason\":\"更正\"}\n",
		`{"type":1}`, `{"fields":{"a":1}}`, `{"typo":true}`, `{} {}`, `[{}]`, "null\n\"x\"\n1", "{\n}", "\xff\xfe",
		strings.Repeat("{}\n", 60), `{"type":"penalty","fields":{"处罚决定日期":"2026-02-30"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ReadNDJSON(bytes.NewReader(data), record.TypePenalty, 50)
		if err != nil {
			if c := errs.CodeOf(err); (c != errs.Invalid && c != errs.TooLarge) || errs.MessageOf(err) == "" {
				t.Fatalf("ReadNDJSON: %v (%s)", err, c)
			}
			return
		}
		last := 0
		for _, l := range lines {
			if l.Line <= last {
				t.Fatalf("line numbers not increasing: %d after %d", l.Line, last)
			}
			last = l.Line
			if l.Err != nil {
				if errs.CodeOf(l.Err) != errs.Invalid || errs.MessageOf(l.Err) == "" {
					t.Fatalf("line %d: %v", l.Line, l.Err)
				}
				continue
			}
			if l.Input.Type == "" {
				t.Fatalf("line %d: no type after the default", l.Line)
			}
		}
	})
}
