package imports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"ecredit/errs"
	"ecredit/record"
)

// Line is one line of an NDJSON batch.
type Line struct {
	Line  int
	Input record.Input
	Err   error // the line could not be decoded; do not ingest
}

// MaxLine is the longest NDJSON line accepted, in bytes.
const MaxLine = 1 << 20

// ReadNDJSON reads a batch of records, one JSON object per line (the
// fields of record.Input: type, fields, source_ref, correct, reason).
// defaultType fills a missing "type". Blank lines are skipped; a line that
// is not a valid object gets its own error and the others are still read.
// More than max lines is a TooLarge error.
func ReadNDJSON(r io.Reader, defaultType record.Type, max int) ([]Line, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLine)
	var out []Line
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		if len(b) == 0 {
			continue
		}
		if max > 0 && len(out) >= max {
			return nil, &errs.Error{Code: errs.TooLarge, Field: "body", Message: fmt.Sprintf("一批最多 %d 条记录 (batch too large)", max)}
		}
		l := Line{Line: n}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l.Input); err != nil {
			l.Err = lineError(err)
		} else if dec.More() {
			l.Err = errs.Field("", "一行只能有一个 JSON 对象 (one JSON object per line)")
		}
		if l.Input.Type == "" {
			l.Input.Type = defaultType
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &errs.Error{Code: errs.TooLarge, Field: "body", Message: fmt.Sprintf("第 %d 行超过 %d 字节 (line too long)", n+1, MaxLine)}
		}
		return nil, &errs.Error{Code: errs.Invalid, Field: "body", Message: "无法读取请求内容 (cannot read body)", Err: err}
	}
	return out, nil
}

func lineError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return errs.Field("", "不是有效的 JSON（第 %d 个字节附近）(invalid JSON)", se.Offset)
	case errors.As(err, &te):
		f := te.Field
		return errs.Field(f, "字段「%s」类型错误，应为 %s (wrong type)", f, te.Type.String())
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errs.Field(f, "未知字段「%s」(unknown field)", f)
	}
	return errs.Field("", "不是有效的 JSON 对象 (invalid JSON)")
}
