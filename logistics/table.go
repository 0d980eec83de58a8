package logistics

import (
	"strconv"
	"strings"

	"ecredit/errs"
)

// File columns: each field with the headers a file may use for it.
var (
	parcelColumns = []column{
		{"waybill", []string{"waybill", "运单号", "快递单号"}, true},
		{"weight_g", []string{"weight_g", "重量（克）", "重量(克)", "重量"}, false},
		{"origin", []string{"origin", "始发地", "始发地代码", "寄件地区"}, true},
		{"dest", []string{"dest", "目的地", "目的地代码", "收件地区"}, true},
		{"courier", []string{"courier", "快递员编号", "快递员工号"}, false},
		{"courier_id_number", []string{"courier_id_number", "快递员身份证号", "快递员公民身份号码"}, false},
		{"promised_at", []string{"promised_at", "承诺送达时间", "时限"}, false},
	}
	eventColumns = []column{
		{"waybill", []string{"waybill", "运单号", "快递单号"}, true},
		{"type", []string{"type", "事件", "事件类型", "状态"}, true},
		{"at", []string{"at", "时间", "事件时间"}, true},
		{"region", []string{"region", "地点", "地区代码"}, false},
		{"signed_by", []string{"signed_by", "签收方式"}, false},
		{"exception", []string{"exception", "异常类型"}, false},
		{"courier", []string{"courier", "快递员编号", "快递员工号"}, false},
		{"note", []string{"note", "备注"}, false},
	}
)

type column struct {
	field    string
	headers  []string
	required bool
}

// eventTypeNames accept the Chinese names of event types in files.
var eventTypeNames = map[string]EventType{"揽收": EventPickedUp, "已揽收": EventPickedUp, "运输中": EventInTransit, "派送中": EventOutForDelivery,
	"签收": EventSigned, "已签收": EventSigned, "退回": EventReturned, "已退回": EventReturned, "异常": EventException, "投诉": EventComplaint}

// FileKinds are the kinds of logistics files: parcels and tracking events.
var FileKinds = []string{"parcels", "tracking"}

// Columns maps a header row of a file of kind ("parcels" or "tracking")
// to the field of each column ("" for columns not used); missing required
// columns are an error naming them.
func Columns(kind string, header []string) ([]string, error) {
	cols := parcelColumns
	switch kind {
	case "parcels":
	case "tracking":
		cols = eventColumns
	default:
		return nil, errs.Field("type", "文件类型应为 parcels 或 tracking (unknown file kind)")
	}
	out := make([]string, len(header))
	have := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		for _, c := range cols {
			for _, name := range c.headers {
				if strings.EqualFold(h, name) && !have[c.field] {
					out[i], have[c.field] = c.field, true
				}
			}
		}
	}
	var missing []string
	for _, c := range cols {
		if c.required && !have[c.field] {
			missing = append(missing, c.headers[1]+"（"+c.field+"）")
		}
	}
	if len(missing) > 0 {
		return nil, errs.Field("file", "表头缺少必填列：%s (missing columns)", strings.Join(missing, "、"))
	}
	return out, nil
}

func rowMap(fields, cells []string) map[string]string {
	m := map[string]string{}
	for i, f := range fields {
		if f != "" && i < len(cells) {
			m[f] = strings.TrimSpace(cells[i])
		}
	}
	return m
}

// ParcelRow reads a parcel from a row whose columns are fields.
func ParcelRow(fields, cells []string) (ParcelInput, error) {
	m := rowMap(fields, cells)
	in := ParcelInput{Waybill: m["waybill"], Origin: m["origin"], Dest: m["dest"], Courier: m["courier"],
		CourierIDNumber: m["courier_id_number"], PromisedAt: m["promised_at"]}
	if w := m["weight_g"]; w != "" {
		n, err := strconv.ParseFloat(w, 64)
		if err != nil {
			return in, errs.Field("weight_g", "重量「%s」不是数字 (weight is not a number)", clip(w))
		}
		in.WeightG = int64(n)
	}
	return in, nil
}

// EventRow reads a tracking event from a row whose columns are fields;
// event types may be given by their Chinese names.
func EventRow(fields, cells []string) EventInput {
	m := rowMap(fields, cells)
	t := m["type"]
	if et, ok := eventTypeNames[t]; ok {
		t = string(et)
	}
	return EventInput{Waybill: m["waybill"], Type: t, At: m["at"], Region: m["region"], SignedBy: m["signed_by"],
		Exception: m["exception"], Courier: m["courier"], Note: m["note"]}
}

// FieldHeader is the Chinese header of a field, for error reports.
func FieldHeader(field string) string {
	for _, cs := range [][]column{parcelColumns, eventColumns} {
		for _, c := range cs {
			if c.field == field {
				return c.headers[1]
			}
		}
	}
	return field
}
