package imports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"ecredit/errs"
	"ecredit/record"
)

// ExportOptions choose the layout of an export.
type ExportOptions struct {
	Format string // "csv" (UTF-8 with BOM, for Excel) or "xlsx"
	// Codes writes the national 2.0 field codes (XK_*, CF_*) as headers
	// instead of the Chinese names. With codes, licences and penalties
	// carry exactly the 2.0 fields, in the national order.
	Codes bool
}

// Exporter writes records of one type in the national 双公示 layout (for
// licences and penalties) or the catalog's layout (other types). Personal
// data is written as stored: masked. Files it writes import back as
// "unchanged" (except rows of natural persons, whose ID numbers are
// masked).
type Exporter struct {
	def    *record.TypeDef
	fields []*record.Field
	csv    *csv.Writer
	xlsx   *excelize.File
	sw     *excelize.StreamWriter
	w      io.Writer
	row    int
}

// NewExporter starts an export to w.
func NewExporter(w io.Writer, typ record.Type, opt ExportOptions) (*Exporter, error) {
	def, ok := record.Lookup(typ)
	if !ok {
		return nil, &errs.Error{Code: errs.Invalid, Field: "type", Message: fmt.Sprintf("记录类型必须是 %s 之一 (unknown record type %q)", record.TypeNames(), typ)}
	}
	e := &Exporter{def: def, w: w}
	hasCodes := false
	for i := range def.Fields {
		if def.Fields[i].Code != "" {
			hasCodes = true
		}
	}
	var header []string
	for i := range def.Fields {
		f := &def.Fields[i]
		if f.Legacy || (opt.Codes && hasCodes && f.Code == "") {
			continue
		}
		e.fields = append(e.fields, f)
		h := f.Name
		if opt.Codes && f.Code != "" {
			h = f.Code
		}
		header = append(header, h)
	}
	switch strings.ToLower(opt.Format) {
	case "", "csv":
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return nil, err
		}
		e.csv = csv.NewWriter(w)
		e.csv.UseCRLF = true
		if err := e.csv.Write(header); err != nil {
			return nil, err
		}
	case "xlsx":
		e.xlsx = excelize.NewFile()
		sheet := def.Name
		if err := e.xlsx.SetSheetName("Sheet1", sheet); err != nil {
			return nil, err
		}
		sw, err := e.xlsx.NewStreamWriter(sheet)
		if err != nil {
			return nil, err
		}
		e.sw = sw
		e.row = 1
		if err := e.writeXLSX(header); err != nil {
			return nil, err
		}
	default:
		return nil, &errs.Error{Code: errs.Invalid, Field: "format", Message: "导出格式必须是 csv 或 xlsx (format must be csv or xlsx)"}
	}
	return e, nil
}

func (e *Exporter) writeXLSX(cells []string) error {
	row := make([]any, len(cells))
	for i, c := range cells {
		row[i] = c // text cells: codes and dates stay exactly as written
	}
	cell, err := excelize.CoordinatesToCellName(1, e.row)
	if err != nil {
		return err
	}
	e.row++
	return e.sw.SetRow(cell, row)
}

// Write adds one record (of the exporter's type).
func (e *Exporter) Write(r *record.Record) error {
	if r.Type != e.def.Type {
		return &errs.Error{Code: errs.Invalid, Field: "type", Message: fmt.Sprintf("记录 %d 的类型是 %s，不是 %s (wrong type)", r.ID, r.Type, e.def.Type)}
	}
	cells := make([]string, len(e.fields))
	for i, f := range e.fields {
		v := r.Fields[f.Key]
		if f.Kind == record.KindEnum && v != "" {
			var ls []string
			for _, x := range strings.Split(v, ";") {
				ls = append(ls, f.EnumLabel(x))
			}
			v = strings.Join(ls, ";")
		}
		cells[i] = v
	}
	if e.csv != nil {
		return e.csv.Write(cells)
	}
	return e.writeXLSX(cells)
}

// Close finishes the file.
func (e *Exporter) Close() error {
	if e.csv != nil {
		e.csv.Flush()
		return e.csv.Error()
	}
	defer e.xlsx.Close()
	if err := e.sw.Flush(); err != nil {
		return err
	}
	return e.xlsx.Write(e.w)
}
