package disclosure

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"ecredit/errs"
)

func TestTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"京东", []string{"京东"}},
		{"承德山庄", []string{"承德", "德山", "山庄"}},
		{"山楂 山楂", []string{"山楂"}}, // distinct
		{"京", []string{"京"}},
		{"ABC科技（承德）有限公司", []string{"abc", "科技", "承德", "有限", "限公", "公司"}},
		{"ＡＢＣ１２３", []string{"abc123"}}, // full-width folded, one word
		{"JD.com 京东", []string{"jd", "com", "京东"}},
		{"张*", []string{"张"}},
		{"  ·、！ ", nil},
		{"", nil},
	}
	for _, tc := range tests {
		if got := Tokens(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Tokens(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := IndexText("承德京东", "91130802MA0ABCDE1X"); got != "承德 德京 京东 91130802ma0abcde1x" {
		t.Errorf("IndexText = %q", got)
	}
}

func TestQueryTokens(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"京东", []string{"京东"}, false},
		{"京 东", []string{"京东"}, false},
		{"  京东物流 ", []string{"京东", "东物", "物流"}, false},
		{"abc 京", []string{"abc"}, false},
		{"Ａ", []string{"a"}, false},
		{"京", nil, true},
		{"京 , 东", nil, true}, // punctuation separates: two lone characters
		{"", nil, true},
		{"！？", nil, true},
		{strings.Repeat("京", 101), nil, true},
		{"\xff\xfe", nil, true},
	}
	for _, tc := range tests {
		got, err := QueryTokens(tc.in)
		if tc.err {
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "q" {
				t.Errorf("QueryTokens(%q) error = %v, want invalid on q", tc.in, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("QueryTokens(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzQueryTokens: any query either fails on q or gives tokens that the
// index tokenizer would produce for the same text, each free of spaces and
// quotes (they go into FTS5 and tsquery syntax).
func FuzzQueryTokens(f *testing.F) {
	for _, s := range []string{"京东", "承德 山楂", "ABC科技", "\"'&|!()", "京", "a b c", "ＡＢＣ", "𠀀𠀁"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		toks, err := QueryTokens(q)
		if err != nil {
			if errs.FieldOf(err) != "q" {
				t.Fatalf("error without field q: %v", err)
			}
			return
		}
		if len(toks) == 0 {
			t.Fatal("no tokens and no error")
		}
		index := Tokens(NormalizeQuery(q))
		for _, tok := range toks {
			if tok == "" || strings.ContainsAny(tok, " \t\n\r\"'&|!():*") || !utf8.ValidString(tok) {
				t.Fatalf("bad token %q", tok)
			}
			if !slices.Contains(index, tok) {
				t.Fatalf("query token %q not among index tokens %q of %q", tok, index, q)
			}
		}
	})
}
