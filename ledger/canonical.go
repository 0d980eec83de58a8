package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
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
	p := canonParser{src: src}
	p.skipSpace()
	if p.pos == len(src) {
		return nil, errors.New("内容不完整")
	}
	out, err := p.value(make([]byte, 0, len(src)))
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(src) {
		return nil, errors.New("值之后还有多余内容")
	}
	return out, nil
}

// canonParser is a recursive-descent JSON parser over valid UTF-8 that
// appends the canonical form of what it reads. It accepts exactly the JSON
// of RFC 8259 (what encoding/json accepts) and decodes strings with
// encoding/json, so its output is the same as that of a token-by-token
// re-encoding through json.Decoder, without the per-token cost.
type canonParser struct {
	src []byte
	pos int
}

var errIncomplete = errors.New("内容不完整")

func (p *canonParser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *canonParser) syntax(what string) error {
	if p.pos >= len(p.src) {
		return errIncomplete
	}
	return fmt.Errorf("第 %d 字节处%s", p.pos+1, what)
}

// value appends the canonical form of the value at p.pos (no leading
// space) to out.
func (p *canonParser) value(out []byte) ([]byte, error) {
	if p.pos >= len(p.src) {
		return nil, errIncomplete
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(out)
	case c == '[':
		return p.array(out)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return appendString(out, s), nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		if err := p.number(); err != nil {
			return nil, err
		}
		return append(out, p.src[start:p.pos]...), nil
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if bytes.HasPrefix(p.src[p.pos:], []byte(lit)) {
			p.pos += len(lit)
			return append(out, lit...), nil
		}
	}
	return nil, p.syntax("不是有效的 JSON 值")
}

func (p *canonParser) array(out []byte) ([]byte, error) {
	p.pos++ // '['
	out = append(out, '[')
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return append(out, ']'), nil
	}
	for {
		var err error
		if out, err = p.value(out); err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, errIncomplete
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			out = append(out, ',')
			p.skipSpace()
		case ']':
			p.pos++
			return append(out, ']'), nil
		default:
			return nil, p.syntax("数组中缺少逗号或右方括号")
		}
	}
}

func (p *canonParser) object(out []byte) ([]byte, error) {
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return append(out, '{', '}'), nil
	}
	type member struct {
		key        string
		start, end int // of the value, in out
	}
	var ms []member
	var seen map[string]bool // keys, once ms is long
	base := len(out)
	for {
		if p.pos >= len(p.src) {
			return nil, errIncomplete
		}
		if p.src[p.pos] != '"' {
			return nil, errors.New("对象的键不是字符串")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		dup := false
		if seen != nil {
			dup = seen[k]
			seen[k] = true
		} else {
			for _, m := range ms {
				dup = dup || m.key == k
			}
			if len(ms) == 16 { // large object: a set from now on
				seen = make(map[string]bool, 64)
				for _, m := range ms {
					seen[m.key] = true
				}
				seen[k] = true
			}
		}
		if dup {
			return nil, errors.New("对象的键「" + k + "」重复")
		}
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, errIncomplete
		}
		if p.src[p.pos] != ':' {
			return nil, p.syntax("对象的键后缺少冒号")
		}
		p.pos++
		p.skipSpace()
		start := len(out)
		if out, err = p.value(out); err != nil {
			return nil, err
		}
		ms = append(ms, member{k, start, len(out)})
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, errIncomplete
		}
		if p.src[p.pos] == '}' {
			p.pos++
			break
		}
		if p.src[p.pos] != ',' {
			return nil, p.syntax("对象中缺少逗号或右花括号")
		}
		p.pos++
		p.skipSpace()
	}
	vals := bytes.Clone(out[base:])
	out = out[:base]
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	out = append(out, '{')
	for i, m := range ms {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendString(out, m.key)
		out = append(out, ':')
		out = append(out, vals[m.start-base:m.end-base]...)
	}
	return append(out, '}'), nil
}

// str reads the string at p.pos (a '"') and returns its value. A string
// without escapes is its bytes (src is valid UTF-8); one with escapes is
// decoded by encoding/json.
func (p *canonParser) str() (string, error) {
	start := p.pos
	p.pos++
	escaped := false
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !escaped {
				return string(p.src[start+1 : p.pos-1]), nil
			}
			var s string
			if err := json.Unmarshal(p.src[start:p.pos], &s); err != nil {
				return "", err
			}
			return s, nil
		case c == '\\':
			escaped = true
			p.pos += 2
		case c < 0x20:
			return "", p.syntax("字符串中有未转义的控制字符")
		default:
			p.pos++
		}
	}
	return "", errIncomplete
}

// number reads a JSON number at p.pos: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *canonParser) number() error {
	digits := func() int {
		n := 0
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.src[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(p.src) && p.src[p.pos] == '0':
		p.pos++
	case digits() == 0:
		return p.syntax("数字无效")
	}
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return p.syntax("数字无效")
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return p.syntax("数字无效")
		}
	}
	return nil
}

const hexDigits = "0123456789abcdef"

func appendString(out []byte, s string) []byte {
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			out = append(out, '\\', '"')
		case c == '\\':
			out = append(out, '\\', '\\')
		case c == '\b':
			out = append(out, '\\', 'b')
		case c == '\f':
			out = append(out, '\\', 'f')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\t':
			out = append(out, '\\', 't')
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}
