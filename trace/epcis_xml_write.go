package trace

// EPCIS 2.0 documents out in their XML binding, for systems that take no
// JSON-LD: the same events as the JSON export (ExportEPCIS, EPCIS), each
// EPCISEvent written as the element of its type in the order of the
// EPCIS 2.0 schema. CBV values are written as the CBV URNs the XML
// binding uses (urn:epcglobal:cbv:bizstep:…, …:disp:…, …:btt:…), which
// capture reads back to the same words (cbvTerm); ecredit's own steps are
// URIs already. A quantityElement names its quantity and uom only when
// the JSON does (an input whose quantity was not reported has its class
// alone). ecredit's extension fields are elements of EPCISNamespace under
// the prefix "ecredit", named and left out exactly as in JSON (their
// names are read from EPCISEvent's JSON tags). Inspection report numbers
// travel as ecredit:refType and ecredit:ref, as in JSON; there is no
// certificationInfo. Text and attributes are escaped by encoding/xml.

import (
	"context"
	"encoding/xml"
	"io"
	"reflect"
	"strconv"
	"strings"

	"ecredit/errs"
)

// EPCISXMLNamespace is the namespace of EPCIS 2.0 XML documents.
const EPCISXMLNamespace = "urn:epcglobal:epcis:xsd:2"

// EPCISXMLWriter writes one EPCIS 2.0 XML document an event at a time:
// NewEPCISXMLWriter writes the document up to its event list, Event each
// event, Close the end. It holds no events: memory stays that of one
// event whatever the document holds.
type EPCISXMLWriter struct {
	enc *xml.Encoder
	err error // the first error; every later call returns it
}

// NewEPCISXMLWriter starts a document created at creationDate (RFC 3339)
// on w.
func NewEPCISXMLWriter(w io.Writer, creationDate string) *EPCISXMLWriter {
	x := &EPCISXMLWriter{enc: xml.NewEncoder(w)}
	x.enc.Indent("", " ")
	x.token(xml.ProcInst{Target: "xml", Inst: []byte(`version="1.0" encoding="UTF-8"`)})
	x.token(xml.CharData("\n"))
	x.start("epcis:EPCISDocument",
		xml.Attr{Name: xml.Name{Local: "xmlns:epcis"}, Value: EPCISXMLNamespace},
		xml.Attr{Name: xml.Name{Local: "xmlns:" + epcisPrefix}, Value: EPCISNamespace},
		xml.Attr{Name: xml.Name{Local: "schemaVersion"}, Value: "2.0"},
		xml.Attr{Name: xml.Name{Local: "creationDate"}, Value: creationDate})
	x.start("EPCISBody")
	x.start("EventList")
	return x
}

// Event writes an ObjectEvent or a TransformationEvent.
func (x *EPCISXMLWriter) Event(e EPCISEvent) error {
	x.start(e.Type)
	x.text("eventTime", e.EventTime)
	x.text("recordTime", e.RecordTime)
	x.text("eventTimeZoneOffset", e.EventTimeZoneOffset)
	x.text("eventID", e.EventID)
	if e.Type == "TransformationEvent" {
		x.quantities("inputQuantityList", e.InputQuantityList)
		x.quantities("outputQuantityList", e.OutputQuantityList)
	} else {
		x.start("epcList") // required by the schema, empty: the batch is a class
		x.end("epcList")
		x.text("action", e.Action)
	}
	x.text("bizStep", cbvURN(e.BizStep, "bizstep"))
	x.text("disposition", cbvURN(e.Disposition, "disp"))
	for _, loc := range []struct {
		name string
		at   *EPCISLocation
	}{{"readPoint", e.ReadPoint}, {"bizLocation", e.BizLocation}} {
		if loc.at != nil {
			x.start(loc.name)
			x.text("id", loc.at.ID)
			x.end(loc.name)
		}
	}
	if len(e.BizTransactionList) > 0 {
		x.start("bizTransactionList")
		for _, bt := range e.BizTransactionList {
			x.elem("bizTransaction", bt.BizTransaction, xml.Attr{Name: xml.Name{Local: "type"}, Value: cbvURN(bt.Type, "btt")})
		}
		x.end("bizTransactionList")
	}
	x.quantities("quantityList", e.QuantityList)
	v := reflect.ValueOf(e)
	for _, f := range epcisExtensions {
		fv := v.Field(f.index)
		if f.omitEmpty && fv.IsZero() {
			continue
		}
		var s string
		if fv.Kind() == reflect.Int64 {
			s = strconv.FormatInt(fv.Int(), 10)
		} else {
			s = fv.String()
		}
		x.elem(f.name, s)
	}
	x.end(e.Type)
	return x.err
}

// Flush writes out what the encoder buffers.
func (x *EPCISXMLWriter) Flush() error {
	if x.err == nil {
		x.err = x.enc.Flush()
	}
	return x.err
}

// Close ends the document and flushes it.
func (x *EPCISXMLWriter) Close() error {
	x.end("EventList")
	x.end("EPCISBody")
	x.end("epcis:EPCISDocument")
	x.token(xml.CharData("\n"))
	return x.Flush()
}

func (x *EPCISXMLWriter) token(t xml.Token) {
	if x.err == nil {
		x.err = x.enc.EncodeToken(t)
	}
}

func (x *EPCISXMLWriter) start(name string, attrs ...xml.Attr) {
	x.token(xml.StartElement{Name: xml.Name{Local: name}, Attr: attrs})
}

func (x *EPCISXMLWriter) end(name string) {
	x.token(xml.EndElement{Name: xml.Name{Local: name}})
}

// elem writes an element holding s.
func (x *EPCISXMLWriter) elem(name, s string, attrs ...xml.Attr) {
	x.start(name, attrs...)
	x.token(xml.CharData(s))
	x.end(name)
}

// text writes an element holding s, unless s is empty.
func (x *EPCISXMLWriter) text(name, s string) {
	if s != "" {
		x.elem(name, s)
	}
}

// quantities writes a quantity list, unless it is empty: each element's
// class, its quantity when not zero and its uom when given, as JSON does.
func (x *EPCISXMLWriter) quantities(name string, qs []EPCISQuantity) {
	if len(qs) == 0 {
		return
	}
	x.start(name)
	for _, q := range qs {
		x.start("quantityElement")
		x.text("epcClass", q.EPCClass)
		if q.Quantity != 0 {
			x.text("quantity", strconv.FormatFloat(q.Quantity, 'f', -1, 64))
		}
		x.text("uom", q.UOM)
		x.end("quantityElement")
	}
	x.end(name)
}

// cbvURN writes a CBV word (as JSON has it) as its URN; a value that is a
// URI already (ecredit's steps) or empty is kept.
func cbvURN(v, vocabulary string) string {
	if v == "" || strings.Contains(v, ":") {
		return v
	}
	return "urn:epcglobal:cbv:" + vocabulary + ":" + v
}

// epcisExtension is an extension field of EPCISEvent: its index, its
// qualified name and whether JSON leaves it out when empty.
type epcisExtension struct {
	index     int
	name      string
	omitEmpty bool
}

// epcisExtensions are EPCISEvent's fields of EPCISNamespace, in order,
// named as their JSON tags name them.
var epcisExtensions = func() []epcisExtension {
	var out []epcisExtension
	t := reflect.TypeFor[EPCISEvent]()
	for i := range t.NumField() {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if strings.HasPrefix(name, epcisPrefix+":") {
			out = append(out, epcisExtension{index: i, name: name, omitEmpty: opts == "omitempty"})
		}
	}
	return out
}()

// WriteXML writes the document in the XML binding.
func (d *EPCISDocument) WriteXML(w io.Writer) error {
	x := NewEPCISXMLWriter(w, d.CreationDate)
	for _, e := range d.Body.EventList {
		if err := x.Event(e); err != nil {
			return errs.Wrap("trace.EPCISDocument.WriteXML", err)
		}
	}
	return errs.Wrap("trace.EPCISDocument.WriteXML", x.Close())
}

// WriteEPCISXML is WriteEPCIS in the XML binding: every event of a batch
// (see Events: public or whole), the TransformationEvent of its inputs
// first, as one document written a page (ExportEPCIS) at a time. The
// first page is read before anything is written, so that a batch that
// does not exist or a caller who may not see it is an error with nothing
// written; an error after that leaves the document unfinished (not
// well-formed), never short.
func (s *Service) WriteEPCISXML(ctx context.Context, w io.Writer, gtin, batch string, public bool) error {
	const op = "trace.WriteEPCISXML"
	var x *EPCISXMLWriter
	err := s.epcisPages(ctx, gtin, batch, public, func(doc *EPCISDocument) error {
		if x == nil {
			x = NewEPCISXMLWriter(w, doc.CreationDate)
		} else if err := x.Flush(); err != nil {
			return err
		}
		for _, e := range doc.Body.EventList {
			if err := x.Event(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return errs.Wrap(op, err)
	}
	return errs.Wrap(op, x.Close())
}
