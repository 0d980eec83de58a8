package imports

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"

	"ecredit/errs"
)

// Table reads the rows of a CSV or XLSX file as cells, with the encoding
// and format detection of record files, for files that are not credit
// records (parcels and tracking events of package logistics).
type Table struct {
	Format   string // "csv" or "xlsx"
	Encoding string
	rd       *Reader
}

// OpenTable opens a CSV (UTF-8 with or without BOM, UTF-16, GB18030) or
// XLSX file; name chooses the format by extension, else the content.
func OpenTable(r io.Reader, name string) (*Table, error) {
	br := bufio.NewReaderSize(r, peekSize)
	head, _ := br.Peek(4)
	ext := strings.ToLower(filepath.Ext(name))
	rd := &Reader{}
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
	return &Table{Format: rd.Format, Encoding: rd.Encoding, rd: rd}, nil
}

// Next returns the next non-blank row and its number in the file, or
// io.EOF. A row that cannot be read is an errs.Invalid error with its line
// (reading may go on); any other error ends the file.
func (t *Table) Next() (cells []string, line int, err error) {
	for {
		cells, line, err = t.rd.next()
		if err != nil {
			var re rowErr
			if errors.As(err, &re) {
				return nil, line, &errs.Error{Code: errs.Invalid, Message: re.msg}
			}
			return nil, line, err
		}
		if len(nonEmpty(cells)) > 0 {
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			return cells, line, nil
		}
	}
}

// Close releases the file.
func (t *Table) Close() error { return t.rd.Close() }
