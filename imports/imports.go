// Package imports reads credit records from files: CSV (UTF-8 with or
// without BOM, UTF-16 with BOM, GB18030/GBK), XLSX, and NDJSON batches.
// Column headers are matched against the record catalog (field keys, 2.0
// codes such as CF_WSH, Chinese headers and legacy 1.0 headers). Each data
// row becomes a record.Input with its row number as in the file; problems
// are reported per row and column, never by dropping a row.
package imports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"ecredit/errs"
	"ecredit/record"
)

// CellError is one problem in a file: a row (as numbered in the file; 0
// for the file as a whole), a column header ("" for the whole row) and a
// message in Chinese.
type CellError struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// Row is one data row.
type Row struct {
	Line   int // row number in the file (the header is usually row 1)
	Input  record.Input
	Errors []CellError // problems found while reading; the row must not be ingested
}

// Limits.
const (
	MaxCell        = 64 << 10  // characters in one cell
	MaxXLSXUnzip   = 1 << 30   // bytes an XLSX may unpack to (zip bombs)
	MaxHeaderProbe = 10        // rows searched for the header row
	peekSize       = 256 << 10 // bytes inspected to detect the encoding
)

// Reader reads the rows of one file.
type Reader struct {
	Def      *record.TypeDef
	Format   string // "csv" or "xlsx"
	Encoding string // UTF-8, UTF-8 BOM, UTF-16, GB18030, XLSX
	Headers  []string
	Columns  []string    // field key of each column; "" for an unknown one
	Warnings []CellError // row 0 / header-row warnings (unknown columns, skipped title rows)

	next    func() (cells []string, line int, err error)
	close   func() error
	refs    map[string]int
	pending []pendingRow // rows read while looking for the header
	byKey   map[string]string
}

type pendingRow struct {
	cells []string
	line  int
}

// fatal builds the error for a file that cannot be imported at all.
func fatal(format string, args ...any) error {
	return &errs.Error{Code: errs.Invalid, Field: "file", Message: fmt.Sprintf(format, args...)}
}

// Open starts reading a file of record type typ. name (the file name)
// chooses the format by extension; without one the content decides (an
// XLSX file is a zip archive). Missing required columns and unreadable
// files are fatal errors (errs.Invalid, field "file").
func Open(r io.Reader, name string, typ record.Type) (*Reader, error) {
	def, ok := record.Lookup(typ)
	if !ok {
		return nil, &errs.Error{Code: errs.Invalid, Field: "type", Message: fmt.Sprintf("记录类型必须是 %s 之一 (unknown record type %q)", record.TypeNames(), typ)}
	}
	br := bufio.NewReaderSize(r, peekSize)
	head, _ := br.Peek(4)
	ext := strings.ToLower(filepath.Ext(name))
	rd := &Reader{Def: def, refs: map[string]int{}}
	var err error
	switch {
	case ext == ".xlsx" || ext == ".xlsm" || (ext != ".csv" && ext != ".txt" && bytes.HasPrefix(head, []byte("PK\x03\x04"))):
		err = rd.openXLSX(br)
	case ext == ".xls":
		return nil, fatal("不支持旧版 Excel 97-2003（.xls）文件，请另存为 .xlsx 或 CSV (legacy .xls is not supported)")
	default:
		err = rd.openCSV(br)
	}
	if err != nil {
		return nil, err
	}
	if err := rd.readHeader(); err != nil {
		rd.Close()
		return nil, err
	}
	return rd, nil
}

// Close releases the file.
func (rd *Reader) Close() error {
	if rd.close != nil {
		return rd.close()
	}
	return nil
}

func (rd *Reader) openCSV(br *bufio.Reader) error {
	rd.Format = "csv"
	peek, err := br.Peek(peekSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return fatal("无法读取文件：%v (cannot read file)", err)
	}
	var src io.Reader = br
	switch {
	case bytes.HasPrefix(peek, []byte("\xef\xbb\xbf")):
		rd.Encoding = "UTF-8 BOM"
		br.Discard(3)
	case bytes.HasPrefix(peek, []byte("\xff\xfe")) || bytes.HasPrefix(peek, []byte("\xfe\xff")):
		rd.Encoding = "UTF-16"
		src = transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
	case validUTF8Prefix(peek, len(peek) == peekSize):
		rd.Encoding = "UTF-8"
	default:
		rd.Encoding = "GB18030"
		src = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
	}
	if len(bytes.TrimSpace(peek)) == 0 {
		return fatal("文件为空 (empty file)")
	}
	if bytes.IndexByte(peek, 0) >= 0 && rd.Encoding != "UTF-16" {
		return fatal("文件包含二进制内容，不是 CSV 文本文件 (binary content, not a CSV file)")
	}
	cr := csv.NewReader(src)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	// Comma or semicolon or tab: whichever the first line has most of.
	first := peek
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	for _, d := range []rune{'\t', ';'} {
		if bytes.Count(first, []byte(string(d))) > bytes.Count(first, []byte(",")) {
			cr.Comma = d
		}
	}
	rd.next = func() ([]string, int, error) {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line := pe.StartLine
				if line <= 0 {
					line = pe.Line
				}
				return nil, line, rowErr{csvMessage(pe)}
			}
			return nil, 0, fatal("读取文件失败：%v (read error)", err)
		}
		line := 0
		if len(rec) > 0 {
			line, _ = cr.FieldPos(0)
		}
		for i, c := range rec {
			if !utf8.ValidString(c) {
				return nil, line, rowErr{fmt.Sprintf("第 %d 列不是有效的 %s 文本，请检查文件编码 (invalid text encoding)", i+1, rd.Encoding)}
			}
		}
		return rec, line, nil
	}
	return nil
}

// rowErr is a problem with one row that does not stop the file.
type rowErr struct{ msg string }

func (e rowErr) Error() string { return e.msg }

func csvMessage(pe *csv.ParseError) string {
	what := "格式错误"
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		what = "未加引号的字段中出现了引号（\"），请将该字段用引号括起并把其中的引号写成两个"
	case errors.Is(pe.Err, csv.ErrQuote):
		what = "引号不配对（字段的引号未闭合或闭合后还有字符）"
	}
	if pe.StartLine > 0 && pe.Line > pe.StartLine {
		return fmt.Sprintf("CSV %s；该行从第 %d 行延续到第 %d 行 (CSV parse error)", what, pe.StartLine, pe.Line)
	}
	return fmt.Sprintf("CSV %s（第 %d 个字符）(CSV parse error)", what, pe.Column)
}

// validUTF8Prefix reports whether b is valid UTF-8, allowing an incomplete
// rune at the end when the buffer was cut.
func validUTF8Prefix(b []byte, cut bool) bool {
	if utf8.Valid(b) {
		return true
	}
	if !cut {
		return false
	}
	for i := 1; i <= 3 && i < len(b); i++ {
		if utf8.Valid(b[:len(b)-i]) {
			return true
		}
	}
	return false
}

func (rd *Reader) openXLSX(r io.Reader) error {
	rd.Format, rd.Encoding = "xlsx", "XLSX"
	f, err := excelize.OpenReader(r, excelize.Options{UnzipSizeLimit: MaxXLSXUnzip, UnzipXMLSizeLimit: MaxXLSXUnzip / 4, RawCellValue: true})
	if err != nil {
		return fatal("无法打开 XLSX 文件：%v (not a readable XLSX file)", err)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return fatal("XLSX 文件没有工作表 (no sheet)")
	}
	sheet := sheets[0]
	for _, s := range sheets {
		if v, err := f.GetSheetVisible(s); err == nil && v {
			sheet = s
			break
		}
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		f.Close()
		return fatal("无法读取工作表「%s」：%v (cannot read sheet)", sheet, err)
	}
	line := 0
	rd.next = func() ([]string, int, error) {
		if !rows.Next() {
			if err := rows.Error(); err != nil {
				return nil, line + 1, fatal("读取工作表「%s」第 %d 行失败：%v (read error)", sheet, line+1, err)
			}
			return nil, 0, io.EOF
		}
		line++
		cols, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, line, rowErr{fmt.Sprintf("无法读取该行：%v (cannot read row)", err)}
		}
		return cols, line, nil
	}
	rd.close = func() error {
		rows.Close()
		return f.Close()
	}
	return nil
}

// readHeader finds the header row: the first of the first rows in which
// at least two cells name fields of the type (title rows above it are
// skipped with a warning), and a second header row of field codes right
// below it is skipped too.
func (rd *Reader) readHeader() error {
	var skipped []int
	for probe := 0; probe < MaxHeaderProbe; probe++ {
		cells, line, err := rd.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var re rowErr
			if errors.As(err, &re) {
				return fatal("第 %d 行（表头）无法读取：%s", line, re.msg)
			}
			return err
		}
		if known := rd.countKnown(cells); known >= 2 {
			rd.setHeader(cells, line)
			if len(skipped) > 0 {
				rd.Warnings = append(rd.Warnings, CellError{Row: skipped[0], Message: fmt.Sprintf("表头在第 %d 行，已跳过其上方的 %d 行标题 (title rows skipped)", line, len(skipped))})
			}
			// A second header row (2.0 codes under Chinese names) is skipped.
			cells2, line2, err := rd.next()
			switch {
			case err == io.EOF:
			case err != nil:
				var re rowErr
				if !errors.As(err, &re) {
					return err
				}
				rd.pending = append(rd.pending, pendingRow{nil, line2})
				rd.pendingErr(line2, re.msg)
			case rd.countKnown(cells2) >= max(2, len(nonEmpty(cells2))/2+1) && rd.sameFields(cells2):
				rd.Warnings = append(rd.Warnings, CellError{Row: line2, Message: "第二行表头（字段代码）已跳过 (second header row skipped)"})
			default:
				rd.pending = append(rd.pending, pendingRow{cells2, line2})
			}
			return rd.checkColumns()
		}
		if len(nonEmpty(cells)) > 0 {
			skipped = append(skipped, line)
		}
	}
	var want []string
	for _, k := range rd.Def.Required() {
		f, _ := rd.Def.Field(k)
		want = append(want, f.Name)
	}
	return fatal("没有找到表头行：前 %d 行中没有可识别的「%s」列名（例如 %s）(no header row found)", MaxHeaderProbe, rd.Def.Name, strings.Join(want, "、"))
}

// pendingErrs holds read errors of rows read ahead during header search.
func (rd *Reader) pendingErr(line int, msg string) {
	rd.pending[len(rd.pending)-1] = pendingRow{cells: []string{"\x00err", msg}, line: line}
}

func nonEmpty(cells []string) []string {
	var out []string
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			out = append(out, c)
		}
	}
	return out
}

func (rd *Reader) countKnown(cells []string) int {
	n := 0
	for _, c := range cells {
		if _, ok := rd.Def.Resolve(c); ok && strings.TrimSpace(c) != "" {
			n++
		}
	}
	return n
}

// sameFields reports whether a row maps, column by column, to the same
// fields as the header (a code row under a name row).
func (rd *Reader) sameFields(cells []string) bool {
	match := 0
	for i, c := range cells {
		k, ok := rd.Def.Resolve(c)
		if !ok || strings.TrimSpace(c) == "" {
			continue
		}
		if i >= len(rd.Columns) || rd.Columns[i] != k {
			return false
		}
		match++
	}
	return match >= 2
}

func (rd *Reader) setHeader(cells []string, line int) {
	rd.Headers = make([]string, len(cells))
	rd.Columns = make([]string, len(cells))
	rd.byKey = map[string]string{}
	var unknown []string
	for i, c := range cells {
		h := strings.TrimSpace(strings.TrimPrefix(c, "\ufeff"))
		rd.Headers[i] = h
		if h == "" {
			continue
		}
		if k, ok := rd.Def.Resolve(h); ok {
			rd.Columns[i] = k
			if _, dup := rd.byKey[k]; !dup {
				rd.byKey[k] = h
			}
			continue
		}
		if rd.Def.Open {
			rd.Columns[i] = "x:" + h // kept as a free-form field
			continue
		}
		unknown = append(unknown, h)
	}
	if len(unknown) > 0 {
		rd.Warnings = append(rd.Warnings, CellError{Row: line, Message: fmt.Sprintf("以下列不是「%s」的字段，已忽略：%s (unknown columns ignored)", rd.Def.Name, strings.Join(unknown, "、"))})
	}
}

// checkColumns fails when a required field has no column.
func (rd *Reader) checkColumns() error {
	var missing []string
	for _, k := range rd.Def.Required() {
		if _, ok := rd.byKey[k]; !ok {
			f, _ := rd.Def.Field(k)
			name := f.Name
			if f.Code != "" {
				name += "（" + f.Code + "）"
			}
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fatal("缺少必填列：%s (missing required columns)", strings.Join(missing, "、"))
	}
	_, hasCode := rd.byKey["credit_code"]
	_, hasID := rd.byKey["id_number"]
	if !hasCode && !hasID {
		return fatal("缺少必填列：统一社会信用代码（或自然人的证件号码）(missing credit code column)")
	}
	return nil
}

// Header returns the column header of a field key as written in the file
// (or the field's Chinese name when the file has no such column).
func (rd *Reader) Header(key string) string {
	if h, ok := rd.byKey[key]; ok {
		return h
	}
	if f, ok := rd.Def.Field(key); ok {
		return f.Name
	}
	return key
}

// Next returns the next data row, or io.EOF. Blank rows are skipped. A
// fatal read error (an I/O failure) ends the file.
func (rd *Reader) Next() (*Row, error) {
	for {
		var cells []string
		var line int
		var err error
		if len(rd.pending) > 0 {
			p := rd.pending[0]
			rd.pending = rd.pending[1:]
			cells, line = p.cells, p.line
			if len(cells) == 2 && cells[0] == "\x00err" {
				err = rowErr{cells[1]}
			}
		} else {
			cells, line, err = rd.next()
		}
		if err == io.EOF {
			return nil, io.EOF
		}
		if err != nil {
			var re rowErr
			if errors.As(err, &re) {
				return &Row{Line: line, Input: record.Input{Type: rd.Def.Type}, Errors: []CellError{{Row: line, Message: re.msg}}}, nil
			}
			return nil, err
		}
		if len(nonEmpty(cells)) == 0 {
			continue
		}
		return rd.row(cells, line), nil
	}
}

func (rd *Reader) row(cells []string, line int) *Row {
	row := &Row{Line: line, Input: record.Input{Type: rd.Def.Type, Fields: map[string]string{}}}
	for i, c := range cells {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if i >= len(rd.Columns) {
			row.Errors = append(row.Errors, CellError{Row: line, Column: fmt.Sprintf("第 %d 列", i+1), Message: "该列没有表头 (cell outside the header)"})
			continue
		}
		key := rd.Columns[i]
		if key == "" {
			continue // unknown column, warned about once
		}
		if utf8.RuneCountInString(c) > MaxCell {
			row.Errors = append(row.Errors, CellError{Row: line, Column: rd.Headers[i], Message: fmt.Sprintf("内容超过 %d 个字符 (cell too long)", MaxCell)})
			continue
		}
		row.Input.Fields[rd.Headers[i]] = c
	}
	// The source's own id must be unique within the file.
	var parts []string
	for _, k := range rd.Def.RefFields {
		parts = append(parts, rd.value(cells, k))
	}
	if ref := strings.Join(parts, "/"); strings.Trim(ref, "/") != "" && len(row.Errors) == 0 {
		if first, dup := rd.refs[ref]; dup {
			col := rd.Header(rd.Def.RefFields[0])
			row.Errors = append(row.Errors, CellError{Row: line, Column: col,
				Message: fmt.Sprintf("%s「%s」与第 %d 行重复 (duplicate in file)", col, ref, first)})
		} else {
			rd.refs[ref] = line
		}
	}
	return row
}

// value returns the (first non-empty) cell of a field key.
func (rd *Reader) value(cells []string, key string) string {
	for i, k := range rd.Columns {
		if k == key && i < len(cells) {
			if v := strings.TrimSpace(cells[i]); v != "" {
				if key == "credit_code" {
					return strings.ToUpper(v)
				}
				return v
			}
		}
	}
	return ""
}

// Ingester stores records (record.Service): each input gets its own
// result, in order.
type Ingester interface {
	IngestBatch(ctx context.Context, ins []record.Input) ([]record.Result, error)
}

// RunChunk is how many rows Run hands to the ingester at once.
const RunChunk = 500

// Report sums up an import.
type Report struct {
	File      string      `json:"file"`
	Type      record.Type `json:"type"`
	Format    string      `json:"format"`
	Encoding  string      `json:"encoding"`
	Rows      int         `json:"rows"` // data rows read
	Created   int         `json:"created"`
	Unchanged int         `json:"unchanged"`
	Corrected int         `json:"corrected"`
	Failed    int         `json:"failed"`
	Warnings  []CellError `json:"warnings"`
	Errors    []CellError `json:"errors"`
}

// OK counts the rows stored or already present.
func (r *Report) OK() int { return r.Created + r.Unchanged + r.Corrected }

// Options of Run.
type Options struct {
	// Correct stores rows whose 文书号 exists with different content as
	// corrections (with Reason) instead of failing them.
	Correct bool
	Reason  string
	// Progress, when set, is called every ProgressEvery rows and at the end.
	Progress      func(*Report)
	ProgressEvery int
}

// Run reads every row of rd and ingests it, RunChunk rows at a time. Each
// bad row is reported with its row number, column and message and does
// not stop the others. The error is non-nil only when the file cannot be
// read on (I/O failure), the store is unavailable, or ctx ends.
func Run(ctx context.Context, rd *Reader, ing Ingester, opt Options) (*Report, error) {
	rep := &Report{Type: rd.Def.Type, Format: rd.Format, Encoding: rd.Encoding, Warnings: append([]CellError{}, rd.Warnings...), Errors: []CellError{}}
	every := opt.ProgressEvery
	if every <= 0 {
		every = 1000
	}
	var chunk []*Row
	lastProgress := 0
	// Errors are reported in row order: rows that failed while being read
	// wait for the chunk they belong to.
	var readErrs []*Row
	flush := func() error {
		if len(chunk) == 0 && len(readErrs) == 0 {
			return nil
		}
		ins := make([]record.Input, len(chunk))
		for i, r := range chunk {
			ins[i] = r.Input
			ins[i].Correct, ins[i].Reason = opt.Correct, opt.Reason
		}
		var results []record.Result
		if len(ins) > 0 {
			var err error
			results, err = ing.IngestBatch(ctx, ins)
			if err != nil {
				return err
			}
		}
		errRows := map[int][]CellError{}
		for _, r := range readErrs {
			errRows[r.Line] = r.Errors
		}
		for i, res := range results {
			row := chunk[i]
			if res.Err != nil {
				if errs.Is(res.Err, errs.Unavailable) {
					return res.Err
				}
				errRows[row.Line] = rd.cellErrors(row.Line, res.Err)
				continue
			}
			switch res.Status {
			case record.ResultCreated:
				rep.Created++
			case record.ResultUnchanged:
				rep.Unchanged++
			case record.ResultCorrected:
				rep.Corrected++
			}
			for _, w := range res.Warnings {
				rep.Warnings = append(rep.Warnings, CellError{Row: row.Line, Message: w})
			}
		}
		lines := make([]int, 0, len(errRows))
		for l := range errRows {
			lines = append(lines, l)
		}
		slices.Sort(lines)
		for _, l := range lines {
			rep.Failed++
			rep.Errors = append(rep.Errors, errRows[l]...)
		}
		chunk, readErrs = chunk[:0], readErrs[:0]
		if opt.Progress != nil && rep.Rows-lastProgress >= every {
			opt.Progress(rep)
			lastProgress = rep.Rows
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return rep, &errs.Error{Code: errs.Unavailable, Message: "导入已取消 (import cancelled)", Err: err}
		}
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rep, err
		}
		rep.Rows++
		if len(row.Errors) > 0 {
			readErrs = append(readErrs, row)
		} else {
			chunk = append(chunk, row)
		}
		if len(chunk) >= min(RunChunk, every) || len(readErrs) >= RunChunk {
			if err := flush(); err != nil {
				return rep, err
			}
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	if opt.Progress != nil {
		opt.Progress(rep)
	}
	return rep, nil
}

// cellErrors turns a service error into per-column errors of a row.
func (rd *Reader) cellErrors(line int, err error) []CellError {
	var out []CellError
	for _, e := range errs.All(err) {
		col := ""
		if k, ok := record.FieldKey(e.Field); ok {
			col = rd.Header(strings.TrimPrefix(k, "x:"))
		} else if e.Field == "source_ref" && len(rd.Def.RefFields) > 0 {
			col = rd.Header(rd.Def.RefFields[0])
		} else if e.Field != "" && e.Field != "type" {
			col = e.Field
		}
		out = append(out, CellError{Row: line, Column: col, Message: errs.MessageOf(e)})
	}
	if len(out) == 0 {
		out = append(out, CellError{Row: line, Message: errs.MessageOf(err)})
	}
	return out
}
