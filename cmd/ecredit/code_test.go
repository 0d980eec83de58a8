package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"ecredit/code"
)

func runCodeForTest(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	rc := runCode(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return rc, out.String(), errOut.String()
}

func TestRunCodeExitStatus(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		rc    int
		lines int
	}{
		{"all valid", "", []string{"91350100M000100Y43", "11010519491231002X", "4006381333931", "130802"}, 0, 4},
		{"one invalid", "", []string{"91350100M000100Y43", "91110000600037341N"}, 1, 2},
		{"legacy warning is valid", "", []string{"91350203M0001QKT19"}, 0, 1},
		{"stdin", "91350100M000100Y43\n\n# comment\n 110105491231002 \n", nil, 0, 2},
		{"stdin dash", "111111111111111111\n", []string{"-"}, 1, 1},
		{"args and stdin", "130802\n", []string{"96385074", "-"}, 0, 2},
		{"json flag", "", []string{"--json", "130802"}, 0, 1},
		{"empty stdin", "", nil, 2, 0},
		{"unknown flag", "", []string{"--bogus", "130802"}, 2, 0},
		{"help", "", []string{"-h"}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, out, errOut := runCodeForTest(t, tt.stdin, tt.args...)
			if rc != tt.rc {
				t.Errorf("rc = %d, want %d; stderr %q", rc, tt.rc, errOut)
			}
			if n := strings.Count(out, "\n"); n != tt.lines {
				t.Errorf("%d lines, want %d:\n%s", n, tt.lines, out)
			}
			if tt.rc == 2 && !strings.Contains(errOut, "用法") {
				t.Errorf("usage error without usage text: %q", errOut)
			}
		})
	}
}

func TestRunCodeHumanLines(t *testing.T) {
	rc, out, _ := runCodeForTest(t, "", "91350100m000100y43", "91110000600037341N", "110105491231002", "9135021 1M0000XUF46", "4006381333932", "abc")
	if rc != 1 {
		t.Errorf("rc = %d", rc)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := [][]string{
		{"91350100M000100Y43  统一社会信用代码  有效  region=350100 福建省福州市  authority=9 工商 (市场监管)  category=1 企业  org=M000100Y-4  check=3"},
		{"91110000600037341N  统一社会信用代码  无效  ", "错误: 校验码应为 L 而不是 N (check character should be L)"},
		{"11010519491231002X  公民身份号码  有效  region=110105 北京市朝阳区  birth=1949-12-31  sex=女  upgraded=15→18  check=X"},
		{"91350211M0000XUF46  统一社会信用代码  有效  ", "警告: 厦门试点期"},
		{"4006381333932  商品条码 GTIN-13  无效  format=GTIN-13  check=1  错误: 校验码应为 1 而不是 2"},
		{"ABC  未知  无效  错误: 无法识别的代码"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, subs := range want {
		for _, s := range subs {
			if !strings.Contains(lines[i], s) {
				t.Errorf("line %d %q lacks %q", i, lines[i], s)
			}
		}
	}
	if strings.Contains(out, "\n\n") {
		t.Errorf("blank line in output:\n%s", out)
	}
}

// --json prints exactly json.Marshal(code.Parse(c, now)), the API contract.
func TestRunCodeJSON(t *testing.T) {
	inputs := []string{"91350100M000100Y43", "362322198709086409", "110105491231002", "6901234567892", "130823", "a<b>&c", ""}
	rc, out, _ := runCodeForTest(t, "", append([]string{"--json"}, inputs...)...)
	if rc != 1 {
		t.Errorf("rc = %d", rc)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(inputs) {
		t.Fatalf("%d lines for %d inputs:\n%s", len(lines), len(inputs), out)
	}
	for i, in := range inputs {
		b, err := json.Marshal(code.Parse(in, time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if lines[i] != string(b) {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], b)
		}
		var r code.Result
		if err := json.Unmarshal([]byte(lines[i]), &r); err != nil || r.Input != in {
			t.Errorf("line %d does not decode to its input: %v %+v", i, err, r)
		}
	}
	var first code.Result
	json.Unmarshal([]byte(lines[1]), &first)
	if first.Kind != code.KindIDNumber || !first.Valid {
		t.Errorf("362322198709086409: %+v", first)
	}
}

func TestRunCodeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	if rc := runCode(ctx, []string{"130802"}, strings.NewReader(""), &out, &errOut); rc != 1 || out.Len() != 0 {
		t.Errorf("rc = %d, out %q", rc, out.String())
	}
}
