package imports

import (
	"strings"

	"ecredit/errs"
)

// Column is one field of a kind of file (parcels, tracking events,
// orders…) with the headers a file may use for it: the first is the API
// field name, the second the Chinese header shown in error reports.
type Column struct {
	Field    string
	Headers  []string
	Required bool
}

// Columns are the columns of a kind of file.
type Columns []Column

// Map maps a header row to the field of each column ("" for a column not
// used; a field's first matching column wins), or an Invalid error on
// field "file" naming every missing required column.
func (cs Columns) Map(header []string) ([]string, error) {
	out := make([]string, len(header))
	have := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		for _, c := range cs {
			for _, name := range c.Headers {
				if strings.EqualFold(h, name) && !have[c.Field] {
					out[i], have[c.Field] = c.Field, true
				}
			}
		}
	}
	var missing []string
	for _, c := range cs {
		if c.Required && !have[c.Field] {
			missing = append(missing, c.Headers[1]+"（"+c.Field+"）")
		}
	}
	if len(missing) > 0 {
		return nil, errs.Field("file", "表头缺少必填列：%s (missing columns)", strings.Join(missing, "、"))
	}
	return out, nil
}

// Header is the Chinese header of field, for error reports (the field
// itself when it is not a column, e.g. "items.1.gtin" of a nested error
// shows as its last part's header when that is a column).
func (cs Columns) Header(field string) string {
	for _, c := range cs {
		if c.Field == field {
			return c.Headers[1]
		}
	}
	if i := strings.LastIndexByte(field, '.'); i >= 0 {
		if h := cs.Header(field[i+1:]); h != field[i+1:] {
			return h
		}
	}
	return field
}

// Cells maps the fields of a row to its trimmed cells.
func Cells(fields, cells []string) map[string]string {
	m := make(map[string]string, len(fields))
	for i, f := range fields {
		if f != "" && i < len(cells) {
			m[f] = strings.TrimSpace(cells[i])
		}
	}
	return m
}
