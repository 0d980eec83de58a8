package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	td := filepath.Join("..", "..", "imports", "testdata")
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("XK_XDR_MC,XK_XDR_SHXYM,XK_WSH,XK_NR,XK_JDRQ,XK_XKJG\n承德甲公司,91130802MA0A1B2C2Y,W-1,食品经营,2025-01-02,承德市行政审批局\n"), 0o600)
	missing := filepath.Join(dir, "missing.csv")
	os.WriteFile(missing, []byte("CF_XDR_MC,CF_XDR_SHXYM,CF_WSH\nx,y,z\n"), 0o600)
	errFile := filepath.Join(dir, "errors.csv")
	tests := []struct {
		name      string
		args      []string
		code      int
		stdoutRow int // data rows in the error report on stdout; -1 = not checked
		stderrHas string
	}{
		{"penalty GB18030 with bad rows", []string{"--type", "penalty", "--source", "承德市市场监督管理局", filepath.Join(td, "penalty_gb18030.csv")}, 1, 4, "共 10 行：新增 6，未变 0，更正 0，失败 4"},
		{"again: nothing new", []string{filepath.Join(td, "penalty_gb18030.csv"), "--type", "penalty", "--source", "承德市市场监督管理局"}, 1, 4, "新增 0，未变 6"},
		{"xlsx to an error file", []string{"--type", "penalty", "--source", "承德市市场监督管理局", "--errors", errFile, filepath.Join(td, "penalty.xlsx")}, 1, 0, "错误报告已写入"},
		{"all good", []string{"--type", "licence", "--progress", "1", good}, 0, 0, "已处理 1 行，成功 1，失败 0"},
		{"missing columns", []string{"--type", "penalty", missing}, 2, 0, "缺少必填列"},
		{"unknown type", []string{"--type", "nonsense", good}, 2, 0, "未知的记录类型"},
		{"no file", []string{"--type", "penalty"}, 2, 0, "请指定一个要导入的文件"},
		{"unreadable", []string{"--type", "penalty", filepath.Join(dir, "nope.csv")}, 2, 0, "无法打开文件"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"--data", dir}, tt.args...)
			code := runImport(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
			t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			if code != tt.code || !strings.Contains(stderr.String(), tt.stderrHas) {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if tt.stdoutRow > 0 {
				recs, err := csv.NewReader(&stdout).ReadAll()
				if err != nil || len(recs) != tt.stdoutRow+1 || recs[0][0] != "行号" {
					t.Errorf("error report: %v %v", recs, err)
				}
			}
		})
	}
	b, err := os.ReadFile(errFile)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	if err != nil || len(recs) != 4 || recs[1][0] != "7" || recs[1][1] != "统一社会信用代码" {
		t.Errorf("error file: %v %v", recs, err)
	}
}
