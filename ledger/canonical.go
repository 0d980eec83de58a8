package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"ecredit/errs"
)

// Canonical returns the canonical JSON form of v, the bytes whose SHA-256 is
// an Entry's Content:
//   - object members sorted by key (byte order of the UTF-8 key, which is
//     code-point order); a duplicate key is an error;
//   - no whitespace outside strings;
//   - strings in UTF-8, escaping only '"', '\\' and control characters
//     (\b \f \n \r \t, else \u00xx in lower-case hex); '<', '>', '&' and
//     all other characters are written as themselves;
//   - numbers exactly as written in the input (1.0 stays 1.0): callers
//     hash values produced by Go's encoder, which writes a given value one
//     way only.
//
// v may be JSON text ([]byte or json.RawMessage) or any other value
// encoding/json can marshal (a Go string is marshalled as a JSON string). Invalid UTF-8 is an error rather
// than being replaced, so distinct inputs never collide.
func Canonical(v any) ([]byte, error) {
	var src []byte
	switch x := v.(type) {
	case json.RawMessage:
		src = x
	case []byte:
		src = x
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, &errs.Error{Code: errs.Invalid, Op: "ledger.Canonical", Message: "内容无法编码为 JSON (content cannot be encoded as JSON)", Err: err}
		}
		src = b
	}
	out, err := canonicalJSON(src)
	if err != nil {
		return nil, &errs.Error{Code: errs.Invalid, Op: "ledger.Canonical", Field: "content", Message: "内容不是有效的 JSON：" + err.Error() + " (invalid JSON)", Err: err}
	}
	return out, nil
}

// ContentHash is the SHA-256 of canonical content.
func ContentHash(canonical []byte) [32]byte { return sha256.Sum256(canonical) }

// HashContent is Canonical followed by ContentHash.
func HashContent(v any) ([32]byte, error) {
	c, err := Canonical(v)
	if err != nil {
		return [32]byte{}, err
	}
	return ContentHash(c), nil
}

func canonicalJSON(src []byte) ([]byte, error) {
	if !utf8.Valid(src) {
		return nil, errors.New("不是有效的 UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var buf bytes.Buffer
	if err := canonValue(dec, &buf); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("值之后还有多余内容")
	}
	return buf.Bytes(), nil
}

func canonValue(dec *json.Decoder, out *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return errors.New("内容不完整")
		}
		return err
	}
	return canonToken(dec, tok, out)
}

func canonToken(dec *json.Decoder, tok json.Token, out *bytes.Buffer) error {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			out.WriteByte('[')
			first := true
			for dec.More() {
				if !first {
					out.WriteByte(',')
				}
				first = false
				if err := canonValue(dec, out); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil { // ']'
				return err
			}
			out.WriteByte(']')
			return nil
		case '{':
			type member struct {
				key string
				val []byte
			}
			var ms []member
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, ok := kt.(string)
				if !ok {
					return errors.New("对象的键不是字符串")
				}
				if seen[k] {
					return errors.New("对象的键「" + k + "」重复")
				}
				seen[k] = true
				var vb bytes.Buffer
				if err := canonValue(dec, &vb); err != nil {
					return err
				}
				ms = append(ms, member{k, vb.Bytes()})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return err
			}
			slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
			out.WriteByte('{')
			for i, m := range ms {
				if i > 0 {
					out.WriteByte(',')
				}
				writeString(out, m.key)
				out.WriteByte(':')
				out.Write(m.val)
			}
			out.WriteByte('}')
			return nil
		}
		return errors.New("意外的分隔符 " + t.String())
	case string:
		writeString(out, t)
	case json.Number:
		out.WriteString(string(t))
	case bool:
		if t {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case nil:
		out.WriteString("null")
	default:
		return errors.New("意外的记号")
	}
	return nil
}

const hexDigits = "0123456789abcdef"

func writeString(out *bytes.Buffer, s string) {
	out.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			out.WriteString(`\"`)
		case c == '\\':
			out.WriteString(`\\`)
		case c == '\b':
			out.WriteString(`\b`)
		case c == '\f':
			out.WriteString(`\f`)
		case c == '\n':
			out.WriteString(`\n`)
		case c == '\r':
			out.WriteString(`\r`)
		case c == '\t':
			out.WriteString(`\t`)
		case c < 0x20:
			out.WriteString(`\u00`)
			out.WriteByte(hexDigits[c>>4])
			out.WriteByte(hexDigits[c&0xf])
		default:
			out.WriteByte(c)
		}
	}
	out.WriteByte('"')
}
