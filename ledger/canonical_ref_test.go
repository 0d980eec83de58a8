package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The token-by-token canonicaliser through json.Decoder that canonicalJSON
// replaced (for speed); the two must agree on every input.
func refCanonicalJSON(src []byte) ([]byte, error) {
	if !utf8.Valid(src) {
		return nil, errors.New("不是有效的 UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var buf bytes.Buffer
	if err := refCanonValue(dec, &buf); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("值之后还有多余内容")
	}
	return buf.Bytes(), nil
}

func refCanonValue(dec *json.Decoder, out *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return errors.New("内容不完整")
		}
		return err
	}
	return refCanonToken(dec, tok, out)
}

func refCanonToken(dec *json.Decoder, tok json.Token, out *bytes.Buffer) error {
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
				if err := refCanonValue(dec, out); err != nil {
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
				if err := refCanonValue(dec, &vb); err != nil {
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
				refWriteString(out, m.key)
				out.WriteByte(':')
				out.Write(m.val)
			}
			out.WriteByte('}')
			return nil
		}
		return errors.New("意外的分隔符 " + t.String())
	case string:
		refWriteString(out, t)
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

func refWriteString(out *bytes.Buffer, s string) {
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

func FuzzCanonicalMatchesDecoder(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1,2,{"d":null,"c":"x"}]}`, `"\u0000\n京"`, `[1.5e10,-0,true]`, `{"":{}}`, `{"a":1,"a":1}`,
		"\"\xff\"", ` { "b" : 1 , "a" : [ true , false , null ] } `, `"\ud800x"`, `"\uD83D\uDE00"`, `{"\u0061":1,"a":2}`, `[01]`, `[1.]`,
		`[-]`, `[1e+]`, `[.5]`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `nul`, `truex`, `"a\qb"`, "\"a\tb\"", `{} {}`, `  7  `, `{"a":{"b":[{"c":"<&>"}]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := canonicalJSON(in)
		want, werr := refCanonicalJSON(in)
		if (err == nil) != (werr == nil) {
			t.Fatalf("canonicalJSON(%q): error %v, decoder-based: %v", in, err, werr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("canonicalJSON(%q) = %q, decoder-based %q", in, got, want)
		}
	})
}
