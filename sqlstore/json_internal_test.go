package sqlstore

import (
	"encoding/json"
	"strings"
	"testing"
)

// appendJSONString writes what encoding/json reads back as the string (its
// invalid UTF-8 replaced), escaping only quotes, backslashes and control
// characters.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `say "hi"`, `a\b`, "tab\there\nnew", "\x00\x1f\x7f", "承德山楂干 500g", "end\\", `"`,
		"bad \xff utf8", "\u2028 line sep", strings.Repeat(`x"\`, 50)} {
		b := appendJSONString([]byte("prefix:"), s)
		if !strings.HasPrefix(string(b), "prefix:") {
			t.Fatalf("%q: the prefix is gone: %q", s, b)
		}
		var got string
		if err := json.Unmarshal(b[len("prefix:"):], &got); err != nil {
			t.Fatalf("%q: %s does not parse: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); got != want {
			t.Fatalf("%q: read back %q, want %q", s, got, want)
		}
	}
	if got := string(appendJSONString(nil, "a\"b\x01c")); got != `"a\"b\u0001c"` {
		t.Fatalf("escapes: %s", got)
	}
}
