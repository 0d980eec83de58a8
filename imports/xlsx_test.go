package imports

import (
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

var update = flag.Bool("update", false, "rewrite testdata/penalty.xlsx")

// writePenaltyXLSX writes a provincial-style penalty workbook: a title row,
// Chinese headers, a row of 2.0 codes, dates stored as Excel dates and as
// text, an empty row, and bad rows (check character, missing 处罚依据,
// duplicate 文书号).
func writePenaltyXLSX(path string) error {
	f := excelize.NewFile()
	defer f.Close()
	sh := "行政处罚"
	f.SetSheetName("Sheet1", sh)
	header := []any{"行政相对人名称", "统一社会信用代码", "行政处罚决定书文号", "违法行为类型", "违法事实", "处罚依据", "处罚类别", "处罚内容", "罚款金额（万元）", "处罚决定日期", "处罚机关"}
	codes := []any{"CF_XDR_MC", "CF_XDR_SHXYM", "CF_WSH", "CF_WFXW", "CF_SY", "CF_YJ", "CF_CFLB", "CF_NR", "CF_NR_FK", "CF_JDRQ", "CF_CFJG"}
	date := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	rows := [][]any{
		{"承德市行政处罚信息公示表（2025年第四季度）"},
		header,
		codes,
		{"承德市双桥区优品电子商务有限公司", "91130802MA0A1B2C2Y", "承双市监罚〔2025〕201号", "虚假宣传", "网店宣传“承德第一”无依据", "《中华人民共和国反不正当竞争法》第二十条", "罚款", "罚款0.6万元", 0.6, date(2025, 10, 9), "承德市双桥区市场监督管理局"},
		{"承德山庄食品商贸有限公司", "91130803MA0C3D4EXH", "承双市监罚〔2025〕202号", "销售过期食品", "销售过期食品 3 箱", "《中华人民共和国食品安全法》第一百二十四条", "警告", "警告", "", "2025年12月1日", "承德市双桥区市场监督管理局"},
		{},
		{"承德兴隆网络科技有限公司", "91130881MA0H7J8K79", "承双市监罚〔2025〕203号", "无照经营", "未取得营业执照从事网络经营", "《无证无照经营查处办法》第十三条", "罚款", "罚款1万元", 1, date(2025, 11, 2), "承德市双桥区市场监督管理局"},
		{"承德隆化优选商贸有限公司", "91130826MA0L9M1NX0", "承双市监罚〔2025〕204号", "价格违法", "虚假原价", "", "罚款", "罚款0.8万元", 0.8, date(2025, 11, 3), "承德市双桥区市场监督管理局"},
		{"承德鹰手营子好运来超市有限公司", "91130804MA0T4U5W0B", "承双市监罚〔2025〕205号", "未明码标价", "网店商品未明码标价", "《明码标价和禁止价格欺诈规定》第二十条", "罚款", "罚款0.25万元", 0.25, date(2025, 11, 20), "承德市双桥区市场监督管理局"},
		{"承德双桥品优百货有限公司", "91130802MA0X6Y7A90", "承双市监罚〔2025〕201号", "销售不合格产品", "销售不合格电热毯", "《中华人民共和国产品质量法》第四十九条", "罚款", "罚款2万元", 2, date(2025, 10, 20), "承德市双桥区市场监督管理局"},
	}
	style, err := f.NewStyle(&excelize.Style{NumFmt: 14}) // m/d/yy, as Excel shows dates
	if err != nil {
		return err
	}
	for i, r := range rows {
		if len(r) == 0 {
			continue
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(sh, cell, &r); err != nil {
			return err
		}
		for j, v := range r {
			if _, ok := v.(time.Time); ok {
				c, _ := excelize.CoordinatesToCellName(j+1, i+1)
				f.SetCellStyle(sh, c, c, style)
			}
		}
	}
	return f.SaveAs(path)
}

func TestPenaltyXLSXTestdata(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/penalty.xlsx")
	}
	if err := writePenaltyXLSX(filepath.Join("testdata", "penalty.xlsx")); err != nil {
		t.Fatal(err)
	}
}
