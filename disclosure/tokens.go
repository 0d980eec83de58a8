package disclosure

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"

	"ecredit/errs"
)

// Search tokens.
//
// Chinese has no spaces between words and company names are short, so the
// full-text index works on character bigrams computed here, in Go, the same
// way for the index and for the query: the database only matches whole
// tokens (SQLite FTS5 with the unicode61 tokenizer over the space-separated
// tokens; PostgreSQL a tsvector of the same tokens), so both engines find
// the same rows. Trigram indexes would miss two-character names such as
// 京东; bigrams do not.
//
//   - A run of CJK characters gives its overlapping bigrams (承德山庄 →
//     承德 德山 山庄); a run of one CJK character gives that character.
//   - A run of other letters and digits (Latin, digits) is one token,
//     lower-cased; full-width forms are folded to ASCII first (ＡＢＣ → abc).
//   - Everything else (spaces, punctuation, symbols) separates runs.
//
// The index also holds the subject's credit code as one token, so a full
// code finds its subject through the same index.

// MaxQueryRunes bounds a search query.
const MaxQueryRunes = 100

// isCJK reports whether r is written without spaces between words.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// isWord reports whether r belongs to a token at all.
func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// normalize folds full-width forms to their narrow equivalents and
// lower-cases.
func normalize(s string) string {
	return strings.ToLower(width.Fold.String(s))
}

// runs splits normalised text into CJK runs and other word runs.
func runs(s string) (out []run) {
	var cur []rune
	curCJK := false
	flush := func() {
		if len(cur) > 0 {
			out = append(out, run{r: cur, cjk: curCJK})
		}
		cur = nil
	}
	for _, r := range normalize(s) {
		switch {
		case isCJK(r):
			if !curCJK {
				flush()
			}
			curCJK = true
			cur = append(cur, r)
		case isWord(r):
			if curCJK {
				flush()
			}
			curCJK = false
			cur = append(cur, r)
		default:
			flush()
		}
	}
	flush()
	return out
}

type run struct {
	r   []rune
	cjk bool
}

func (x run) tokens() []string {
	if !x.cjk || len(x.r) == 1 {
		return []string{string(x.r)}
	}
	out := make([]string, 0, len(x.r)-1)
	for i := 0; i+1 < len(x.r); i++ {
		out = append(out, string(x.r[i:i+2]))
	}
	return out
}

// Tokens returns the distinct index tokens of a text, in first-seen order.
func Tokens(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range runs(text) {
		for _, t := range x.tokens() {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// IndexText is what the search index stores for a subject: the tokens of
// its public name and its credit code, separated by single spaces.
func IndexText(name, creditCode string) string {
	ts := Tokens(name)
	if c := strings.ToLower(strings.TrimSpace(creditCode)); c != "" {
		dup := false
		for _, t := range ts {
			if t == c {
				dup = true
			}
		}
		if !dup {
			ts = append(ts, c)
		}
	}
	return strings.Join(ts, " ")
}

// QueryTokens tokenises a search query the way IndexText tokenises names;
// every returned token must match (AND). Spaces between CJK characters are
// ignored (京 东 is 京东), since people type them where names have none.
//
// A CJK character standing alone between non-CJK text matches only where
// the name has it alone too, so when a query also has longer tokens its
// single CJK characters are dropped (the longer tokens still narrow the
// result); a query of single CJK characters only is refused: at least two
// characters are needed. Errors name the field "q".
func QueryTokens(q string) ([]string, error) {
	const op = "disclosure.QueryTokens"
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "q", Message: "请输入查询内容：名称、名称中的关键字或统一社会信用代码 (query is empty)"}
	}
	if !utf8.ValidString(q) {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "q", Message: "查询内容不是有效的 UTF-8 文本 (query is not valid UTF-8)"}
	}
	if utf8.RuneCountInString(q) > MaxQueryRunes {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "q", Message: "查询内容过长，请输入不超过 100 个字符 (query longer than 100 characters)"}
	}
	rs := runs(NormalizeQuery(q))
	if len(rs) == 0 {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "q", Message: "查询内容只有标点或符号，请输入名称中的文字或代码 (query has no letters or digits)"}
	}
	var long []string
	seen := map[string]bool{}
	for _, x := range rs {
		if x.cjk && len(x.r) == 1 {
			continue
		}
		for _, t := range x.tokens() {
			if !seen[t] {
				seen[t] = true
				long = append(long, t)
			}
		}
	}
	if len(long) == 0 {
		return nil, &errs.Error{Code: errs.Invalid, Op: op, Field: "q", Message: "请至少输入两个连续的汉字，例如「京东」(a single Chinese character is too short to search)"}
	}
	return long, nil
}

// NormalizeQuery is the query as compared with names for ranking (exact
// name, name prefix): trimmed, full-width folded, spaces between CJK
// characters removed. Case is kept: names are compared as stored.
func NormalizeQuery(q string) string {
	q = width.Fold.String(strings.TrimSpace(q))
	rs := []rune(q)
	out := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); i++ {
		if unicode.IsSpace(rs[i]) && len(out) > 0 && isCJK(out[len(out)-1]) {
			j := i
			for j < len(rs) && unicode.IsSpace(rs[j]) {
				j++
			}
			if j < len(rs) && isCJK(rs[j]) {
				i = j - 1
				continue
			}
		}
		out = append(out, rs[i])
	}
	return string(out)
}
