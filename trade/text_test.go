package trade

import (
	"strings"
	"testing"

	"ecredit/errs"
)

// TestCheckText: the ASCII fast path and the one-pass check refuse the
// same texts, each for the first reason in checkText's order.
func TestCheckText(t *testing.T) {
	for _, c := range []struct {
		v        string
		max      int
		required bool
		want     string // part of the message, "" for none
	}{
		{"L2026-01", 10, true, ""},
		{"第一行\n第二行", 10, false, ""},
		{"承德山楂干 500g", 10, false, ""},
		{"承德山楂干 500g", 9, false, "不能超过 9 个字符"},
		{strings.Repeat("a", 11), 10, false, "不能超过 10 个字符"},
		{"", 10, true, "不能为空"},
		{"   ", 10, true, "不能为空"},
		{"", 10, false, ""},
		{"ab\x01", 10, false, "控制字符"},
		{"a\tb", 10, false, "控制字符"},
		{"批次\u0085", 10, false, "控制字符"},
		{"ab\xff", 10, false, "UTF-8"},
		{"ab\xff" + strings.Repeat("x", 20), 10, false, "UTF-8"},
		{strings.Repeat("x", 20) + "\x01", 10, false, "不能超过"},
		{"\x7f", 10, false, "控制字符"},
	} {
		var l errs.List
		checkText(&l, "f", c.v, c.max, c.required)
		got := ""
		if err := l.Err(); err != nil {
			got = err.Error()
		}
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("checkText(%q, %d, %v) = %q, want %q", c.v, c.max, c.required, got, c.want)
		}
	}
}
