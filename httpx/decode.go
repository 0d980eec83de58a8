package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"ecredit/errs"
)

// DecodeJSON decodes the body of r strictly into v (a pointer): unknown
// fields, wrong types, syntax errors, an empty body, trailing data and a body
// over the limit are all errors naming what is wrong (errs.Invalid, or
// errs.TooLarge for the size).
func DecodeJSON(r *http.Request, v any) error {
	if r.Body == nil {
		return errEmpty
	}
	return DecodeJSONReader(r.Body, v)
}

var errEmpty = &errs.Error{Code: errs.Invalid, Message: "请求体为空，需要 JSON 对象 (empty body: a JSON object is required)"}

// DecodeJSONReader is DecodeJSON on a reader (a batch line, a test).
func DecodeJSONReader(rd io.Reader, v any) error {
	// The input is kept to find the path of an unknown nested field, which
	// encoding/json does not report.
	var seen bytes.Buffer
	dec := json.NewDecoder(io.TeeReader(rd, &seen))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, v, seen.Bytes())
	}
	// Anything but white space after the value is an error.
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case err == io.EOF:
		return nil
	case err == nil:
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("JSON 值之后还有多余内容（第 %d 字节）(unexpected data after the JSON value at byte %d)",
			dec.InputOffset()-int64(len(extra)), dec.InputOffset()-int64(len(extra)))}
	default:
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return &errs.Error{Code: errs.Invalid, Message: "JSON 值之后还有多余内容 (unexpected data after the JSON value)", Err: err}
	}
}

// DecodeJSONBytes is DecodeJSON on a byte slice.
func DecodeJSONBytes(b []byte, v any) error { return DecodeJSONReader(bytes.NewReader(b), v) }

func tooLarge(limit int64) error {
	return &errs.Error{Code: errs.TooLarge, Message: fmt.Sprintf("请求体超过 %s 上限 (request body larger than %d bytes)", sizeText(limit), limit)}
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d 字节", n)
}

func decodeError(err error, v any, input []byte) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		ute *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case err == io.EOF:
		return errEmpty
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &errs.Error{Code: errs.Invalid, Message: "JSON 不完整，内容提前结束 (truncated JSON)", Err: err}
	case errors.As(err, &se):
		return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("JSON 语法错误，位于第 %d 字节：%s (syntax error at byte %d)", se.Offset, se.Error(), se.Offset), Err: err}
	case errors.As(err, &ute):
		field := ute.Field
		want := jsonType(ute.Type)
		if field == "" {
			return &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("请求体应为 JSON %s，而不是 %s (body must be a JSON %s, got %s)",
				typeName(want), typeName(ute.Value), want, ute.Value), Err: err}
		}
		return &errs.Error{Code: errs.Invalid, Field: field, Message: fmt.Sprintf("字段 %s 应为 %s，而不是 %s (field %s must be %s, got %s)",
			field, typeName(want), typeName(ute.Value), field, want, ute.Value), Err: err}
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		t := reflect.TypeOf(v)
		var raw any
		if d := json.NewDecoder(bytes.NewReader(input)); d.Decode(&raw) == nil {
			if path, owner, ok := unknownPath(raw, t, ""); ok {
				f, t = path, owner
			}
		}
		return &errs.Error{Code: errs.Invalid, Field: f, Message: fmt.Sprintf("未知字段 %s，请检查拼写 (unknown field %q)%s", f, f, knownFields(t)), Err: err}
	}
	if strings.HasPrefix(msg, "json: cannot unmarshal") {
		return &errs.Error{Code: errs.Invalid, Message: "JSON 值的类型不对 (wrong JSON type)", Err: err}
	}
	// Errors from a type's own UnmarshalJSON (a malformed time, …).
	return &errs.Error{Code: errs.Invalid, Message: "JSON 内容无效：" + msg + " (invalid JSON value)", Err: err}
}

// unknownPath finds the first key of the decoded JSON value raw that the Go
// type t has no field for. It returns the dotted path and the struct type
// that lacks the field.
func unknownPath(raw any, t reflect.Type, prefix string) (string, reflect.Type, bool) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "", nil, false
	}
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			return "", nil, false
		}
		// the keys in input order are not known after decoding into a map;
		// sort them so the answer is deterministic
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			ft, ok := fieldType(t, k)
			if !ok {
				return join(k), t, true
			}
			if p, owner, ok := unknownPath(obj[k], ft, join(k)); ok {
				return p, owner, true
			}
		}
	case reflect.Slice, reflect.Array:
		arr, ok := raw.([]any)
		if !ok {
			return "", nil, false
		}
		for i, e := range arr {
			if p, owner, ok := unknownPath(e, t.Elem(), fmt.Sprintf("%s[%d]", prefix, i)); ok {
				return p, owner, true
			}
		}
	case reflect.Map:
		obj, ok := raw.(map[string]any)
		if !ok {
			return "", nil, false
		}
		for k, e := range obj {
			if p, owner, ok := unknownPath(e, t.Elem(), join(k)); ok {
				return p, owner, true
			}
		}
	}
	return "", nil, false
}

// fieldType returns the type of the field of struct t that JSON key k
// decodes into (matching case-insensitively, as encoding/json does).
func fieldType(t reflect.Type, k string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			if ft, ok := fieldType(derefType(f.Type), k); ok {
				return ft, true
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		if strings.EqualFold(name, k) {
			return f.Type, true
		}
	}
	return nil, false
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// knownFields lists the JSON fields of the target struct, to help the
// caller fix a misspelt field.
func knownFields(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return ""
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return ""
	}
	return "；可用字段：" + strings.Join(names, ", ")
}

// jsonType names the JSON type a Go type decodes from.
func jsonType(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		if t.String() == "time.Time" {
			return "string"
		}
		return "object"
	}
	return t.String()
}

// typeName is the Chinese name of a JSON type ("number 1.5" keeps its value
// description after the name).
func typeName(s string) string {
	kind, rest, _ := strings.Cut(s, " ")
	names := map[string]string{"string": "字符串", "boolean": "布尔值", "bool": "布尔值", "integer": "整数",
		"number": "数字", "array": "数组", "object": "对象", "null": "null", "value": "值"}
	n, ok := names[kind]
	if !ok {
		return s
	}
	if rest != "" {
		return n + " " + rest
	}
	return n
}
