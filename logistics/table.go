package logistics

import (
	"ecredit/imports"
	"strconv"

	"ecredit/errs"
)

// File columns: each field with the headers a file may use for it.
var (
	parcelColumns = imports.Columns{
		{Field: "waybill", Headers: []string{"waybill", "运单号", "快递单号"}, Required: true},
		{Field: "weight_g", Headers: []string{"weight_g", "重量（克）", "重量(克)", "重量"}},
		{Field: "origin", Headers: []string{"origin", "始发地", "始发地代码", "寄件地区"}, Required: true},
		{Field: "dest", Headers: []string{"dest", "目的地", "目的地代码", "收件地区"}, Required: true},
		{Field: "courier", Headers: []string{"courier", "快递员编号", "快递员工号"}},
		{Field: "courier_id_number", Headers: []string{"courier_id_number", "快递员身份证号", "快递员公民身份号码"}},
		{Field: "promised_at", Headers: []string{"promised_at", "承诺送达时间", "时限"}},
	}
	eventColumns = imports.Columns{
		{Field: "waybill", Headers: []string{"waybill", "运单号", "快递单号"}, Required: true},
		{Field: "type", Headers: []string{"type", "事件", "事件类型", "状态"}, Required: true},
		{Field: "at", Headers: []string{"at", "时间", "事件时间"}, Required: true},
		{Field: "region", Headers: []string{"region", "地点", "地区代码"}},
		{Field: "signed_by", Headers: []string{"signed_by", "签收方式"}},
		{Field: "exception", Headers: []string{"exception", "异常类型"}},
		{Field: "courier", Headers: []string{"courier", "快递员编号", "快递员工号"}},
		{Field: "note", Headers: []string{"note", "备注"}},
	}
)

// eventTypeNames accept the Chinese names of event types in files.
var eventTypeNames = map[string]EventType{"揽收": EventPickedUp, "已揽收": EventPickedUp, "运输中": EventInTransit, "派送中": EventOutForDelivery,
	"签收": EventSigned, "已签收": EventSigned, "退回": EventReturned, "已退回": EventReturned, "异常": EventException, "投诉": EventComplaint}

// FileKinds are the kinds of logistics files: parcels and tracking events.
var FileKinds = []string{"parcels", "tracking"}

// Columns maps a header row of a file of kind ("parcels" or "tracking")
// to the field of each column ("" for columns not used); missing required
// columns are an error naming them.
func Columns(kind string, header []string) ([]string, error) {
	switch kind {
	case "parcels":
		return parcelColumns.Map(header)
	case "tracking":
		return eventColumns.Map(header)
	}
	return nil, errs.Field("type", "文件类型应为 parcels 或 tracking (unknown file kind)")
}

// ParcelRow reads a parcel from a row whose columns are fields.
func ParcelRow(fields, cells []string) (ParcelInput, error) {
	m := imports.Cells(fields, cells)
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
	m := imports.Cells(fields, cells)
	t := m["type"]
	if et, ok := eventTypeNames[t]; ok {
		t = string(et)
	}
	return EventInput{Waybill: m["waybill"], Type: t, At: m["at"], Region: m["region"], SignedBy: m["signed_by"],
		Exception: m["exception"], Courier: m["courier"], Note: m["note"]}
}

// FieldHeader is the Chinese header of a field, for error reports.
func FieldHeader(field string) string {
	if h := parcelColumns.Header(field); h != field {
		return h
	}
	return eventColumns.Header(field)
}
