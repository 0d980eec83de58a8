package trace

// EPCIS documents in their XML binding (EPCIS 2.0, and 1.x, which most
// laboratory and warehouse systems still write): each event is read into
// the JSON form of EPCIS 2.0 and then goes the JSON way (fromEPCIS). In
// 1.x, what 2.0 made ordinary fields sits in <baseExtension> (eventID,
// errorDeclaration) and <extension> (quantityList, ilmd, and the later
// event types: a TransformationEvent, from 1.1, is an <extension> of the
// EventList); both are flattened into the event. A TransformationEvent's
// inputEPCList, outputEPCList, inputQuantityList and outputQuantityList
// read like an ObjectEvent's epcList and quantityList. Elements of
// EPCISNamespace are ecredit's extension fields; other vendors' elements
// are ignored, like sources, destinations and
// sensor data. encoding/xml expands no entities beyond XML's own, and
// the document is read a token at a time, one event in memory at once.

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"ecredit/errs"
)

// xmlNode is an element of an event, read whole.
type xmlNode struct {
	name  xml.Name
	attrs []xml.Attr
	text  strings.Builder
	kids  []*xmlNode
}

func (n *xmlNode) attr(local string) string {
	for _, a := range n.attrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func (n *xmlNode) value() string { return strings.TrimSpace(n.text.String()) }

// maxXMLDepth bounds the nesting of an event's elements.
const maxXMLDepth = 32

// readXMLNode reads the element that start opens, to its end.
func readXMLNode(dec *xml.Decoder, start xml.StartElement, depth int) (*xmlNode, error) {
	if depth > maxXMLDepth {
		return nil, errs.Field("body", "EPCIS XML 嵌套超过 %d 层 (elements nested too deep)", maxXMLDepth)
	}
	n := &xmlNode{name: start.Name, attrs: start.Attr}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			k, err := readXMLNode(dec, t, depth+1)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, k)
		case xml.CharData:
			if n.text.Len() < 1<<16 {
				n.text.Write(t)
			}
		case xml.EndElement:
			return n, nil
		}
	}
}

func xmlErr(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return errs.Field("body", "EPCIS XML 文档无法解析：%s (malformed XML)", clip(err.Error(), 120))
}

// epcisXMLNamespaces are the namespaces of EPCIS document roots.
var epcisXMLNamespaces = map[string]bool{
	"urn:epcglobal:epcis:xsd:1": true, "urn:epcglobal:epcis:xsd:2": true,
	"urn:epcglobal:epcis-query:xsd:1": true, "urn:epcglobal:epcis-query:xsd:2": true,
}

// epcisXMLEvents reads the events of an XML document (at most maxEvents,
// unless it is 0) in the JSON form.
func epcisXMLEvents(doc []byte, maxEvents int) ([]json.RawMessage, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var path []string // local names of the open elements above the events
	var out []json.RawMessage
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, xmlErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(path) == 0 {
				if !epcisXMLNamespaces[t.Name.Space] || (t.Name.Local != "EPCISDocument" && t.Name.Local != "EPCISQueryDocument") {
					return nil, errs.Field("type", "不支持的 XML 文档「%s」，应为 EPCIS 的 EPCISDocument 或 EPCISQueryDocument (not an EPCIS document)", clip(t.Name.Local, 40))
				}
				sv := ""
				for _, a := range t.Attr {
					if a.Name.Local == "schemaVersion" {
						sv = strings.TrimSpace(a.Value)
					}
				}
				switch sv {
				case "1.0", "1.1", "1.2", "2.0", "2":
				case "":
					return nil, errs.Field("schemaVersion", "EPCIS XML 文档缺少 schemaVersion (schemaVersion required)")
				default:
					return nil, errs.Field("schemaVersion", "不支持的 EPCIS 版本 schemaVersion「%s」(unsupported version)", clip(sv, 20))
				}
			}
			if inEventList(path) && t.Name.Local != "extension" {
				n, err := readXMLNode(dec, t, 0)
				if err != nil {
					return nil, err
				}
				if maxEvents > 0 && len(out) == maxEvents {
					return nil, &errs.Error{Code: errs.TooLarge, Field: "epcisBody.eventList",
						Message: fmt.Sprintf("文档超过 %d 个事件，未保存任何事件；更大的文件请用命令行 ecredit import --type epcis 导入 (at most %d events per document; nothing stored)", maxEvents, maxEvents)}
				}
				b, err := json.Marshal(xmlEvent(n))
				if err != nil {
					return nil, errs.Wrap("trace.epcisXMLEvents", err)
				}
				out = append(out, b)
				continue
			}
			if path = append(path, t.Name.Local); len(path) > maxXMLDepth {
				return nil, errs.Field("body", "EPCIS XML 嵌套超过 %d 层 (elements nested too deep)", maxXMLDepth)
			}
		case xml.EndElement:
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		}
	}
	if len(path) != 0 {
		return nil, xmlErr(io.ErrUnexpectedEOF)
	}
	if len(out) == 0 {
		return nil, errs.Field("epcisBody.eventList", "文档不含任何事件 (no events)")
	}
	return out, nil
}

// inEventList reports whether the open elements are a document's event
// list (1.x also wraps later event types in <extension> there).
func inEventList(path []string) bool {
	p := strings.Join(path, "/")
	p = strings.TrimSuffix(strings.TrimSuffix(p, "/extension"), "/extension")
	return p == "EPCISDocument/EPCISBody/EventList" || p == "EPCISQueryDocument/EPCISBody/QueryResults/resultsBody/EventList"
}

// cbvMDANamespace is the namespace of the CBV master data attributes
// (ilmd's cbvmda:lotNumber).
const cbvMDANamespace = "urn:epcglobal:cbv:mda"

// xmlEvent is an event element in the JSON form of EPCIS 2.0.
func xmlEvent(n *xmlNode) map[string]any {
	m := map[string]any{"type": n.name.Local}
	var fields []*xmlNode
	for _, k := range n.kids {
		if k.name.Space == "" && (k.name.Local == "extension" || k.name.Local == "baseExtension") {
			fields = append(fields, k.kids...) // 1.x
			continue
		}
		fields = append(fields, k)
	}
	for _, k := range fields {
		if k.name.Space == EPCISNamespace {
			key := epcisPrefix + ":" + k.name.Local
			if k.name.Local == "shopId" {
				if v, err := strconv.ParseInt(k.value(), 10, 64); err == nil {
					m[key] = v
					continue
				}
			}
			m[key] = k.value()
			continue
		}
		if k.name.Space != "" {
			continue // another vendor's extension
		}
		switch k.name.Local {
		case "eventTime", "eventTimeZoneOffset", "eventID", "action", "bizStep", "disposition", "certificationInfo":
			m[k.name.Local] = k.value()
		case "readPoint", "bizLocation":
			loc := map[string]any{}
			for _, f := range k.kids {
				if f.name.Local == "id" {
					loc["id"] = f.value()
				}
			}
			m[k.name.Local] = loc
		case "errorDeclaration":
			m["errorDeclaration"] = map[string]any{}
		case "epcList", "inputEPCList", "outputEPCList":
			epcs := []string{}
			for _, e := range k.kids {
				epcs = append(epcs, e.value())
			}
			m[k.name.Local] = epcs
		case "quantityList", "inputQuantityList", "outputQuantityList":
			var qs []map[string]any
			for _, q := range k.kids {
				e := map[string]any{}
				for _, f := range q.kids {
					switch f.name.Local {
					case "epcClass", "uom":
						e[f.name.Local] = f.value()
					case "quantity":
						if v, err := strconv.ParseFloat(f.value(), 64); err == nil {
							e["quantity"] = v
						} else {
							e["quantity"] = f.value() // refused as not a number
						}
					}
				}
				qs = append(qs, e)
			}
			m[k.name.Local] = qs
		case "bizTransactionList":
			var bts []map[string]string
			for _, bt := range k.kids {
				bts = append(bts, map[string]string{"type": bt.attr("type"), "bizTransaction": bt.value()})
			}
			m["bizTransactionList"] = bts
		case "ilmd":
			ilmd := map[string]any{}
			for _, f := range k.kids {
				if f.name.Space == cbvMDANamespace {
					ilmd["cbvmda:"+f.name.Local] = f.value()
				}
			}
			m["ilmd"] = ilmd
		}
	}
	return m
}
