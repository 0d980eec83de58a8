package sqlstore_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/clock"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// BenchmarkTraceCapture stores 1000 trace events a call (inspections of 50
// batches of one product) three ways on both engines (bench/run.sh epcis):
// as trace.EventInput values (IngestEvents, what the NDJSON batch route
// calls: "NativeCeiling", as capture calls it and cannot be faster), as
// an EPCIS 2.0 JSON-LD document and as an EPCIS 1.2 XML document
// (CaptureEPCIS). Each reports events/s; bench/run.sh gives the
// documents' as ratios to the native path's: what reading EPCIS costs.
func BenchmarkTraceCapture(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		now := time.Date(2026, 6, 20, 4, 0, 0, 0, time.UTC)
		db.SetClock(clock.NewFake(now))
		svc := &trace.Service{Store: db, Subjects: db, Records: db, Clock: clock.NewFake(now)}
		n := int(benchSeq.Add(10))
		producer := mustCreate(b, db, org(b, 6_000_000+n, registry.KindMerchant, "基准食品厂", "130802"))
		dept := account.With(ctx, account.Actor{AccountID: 1, Name: "bench", Role: account.RoleDepartment, Via: "api"})
		g := gtin13(b, fmt.Sprintf("6%011d", 90000000000+n))
		if _, _, err := svc.CreateProduct(dept, trace.ProductInput{GTIN: g, Name: "基准山楂糕", Category: "food", ProducerCode: producer.CreditCode}); err != nil {
			b.Fatal(err)
		}
		const lots, perCall = 50, trace.MaxBatch
		for i := range lots {
			if _, _, err := svc.CreateBatch(dept, trace.BatchInput{GTIN: g, Batch: fmt.Sprintf("B%02d", i), ProducedOn: "2026-05-01"}); err != nil {
				b.Fatal(err)
			}
		}
		seq := 0
		inputs := func() []trace.EventInput {
			out := make([]trace.EventInput, perCall)
			for i := range out {
				seq++
				out[i] = trace.EventInput{EventID: fmt.Sprintf("urn:uuid:bench-%d-%d", n, seq), Type: trace.EventInspected, GTIN: g, Batch: fmt.Sprintf("B%02d", seq%lots),
					Time: now.Add(-time.Duration(seq%5000) * time.Minute).Format(time.RFC3339), Region: "130802", Disposition: "conformant",
					Ref: fmt.Sprintf("JC-%d", seq), RefType: "inspection_report"}
			}
			return out
		}
		jsonDoc := func(ins []trace.EventInput) []byte {
			var evs []string
			for _, in := range ins {
				evs = append(evs, fmt.Sprintf(`{"type":"ObjectEvent","eventID":%q,"eventTime":%q,"eventTimeZoneOffset":"+08:00","action":"OBSERVE",`+
					`"bizStep":"inspecting","disposition":"conformant","quantityList":[{"epcClass":%q}],"certificationInfo":%q,"ecredit:region":"130802"}`,
					in.EventID, in.Time, trace.BatchLink(in.GTIN, in.Batch), in.Ref))
			}
			ctxJSON, _ := json.Marshal([]any{trace.EPCISContext, map[string]string{"ecredit": trace.EPCISNamespace}})
			return []byte(`{"@context":` + string(ctxJSON) + `,"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-06-20T12:00:00+08:00","epcisBody":{"eventList":[` +
				strings.Join(evs, ",") + `]}}`)
		}
		xmlDoc := func(ins []trace.EventInput) []byte {
			var sb strings.Builder
			sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?><epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" xmlns:ecredit="` + trace.EPCISNamespace +
				`" schemaVersion="1.2" creationDate="2026-06-20T12:00:00+08:00"><EPCISBody><EventList>`)
			for _, in := range ins {
				fmt.Fprintf(&sb, `<ObjectEvent><eventTime>%s</eventTime><eventTimeZoneOffset>+08:00</eventTimeZoneOffset><baseExtension><eventID>%s</eventID></baseExtension>`+
					`<epcList/><action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:inspecting</bizStep><disposition>urn:epcglobal:cbv:disp:conformant</disposition>`+
					`<extension><quantityList><quantityElement><epcClass>%s</epcClass></quantityElement></quantityList></extension>`+
					`<ecredit:refType>inspection_report</ecredit:refType><ecredit:ref>%s</ecredit:ref><ecredit:region>130802</ecredit:region></ObjectEvent>`,
					in.Time, in.EventID, trace.BatchLink(in.GTIN, in.Batch), in.Ref)
			}
			sb.WriteString(`</EventList></EPCISBody></epcis:EPCISDocument>`)
			return []byte(sb.String())
		}
		// Each way prepares its input untimed and stores it, timed.
		native := func(ins []trace.EventInput) func() (trace.Tally, error) {
			return func() (t trace.Tally, err error) {
				res, err := svc.IngestEvents(dept, ins)
				for _, r := range res {
					t.Count(r.Status)
				}
				return t, err
			}
		}
		capture := func(doc func([]trace.EventInput) []byte) func([]trace.EventInput) func() (trace.Tally, error) {
			return func(ins []trace.EventInput) func() (trace.Tally, error) {
				d := doc(ins)
				return func() (t trace.Tally, err error) {
					lines, err := svc.CaptureEPCIS(dept, d)
					for _, l := range lines {
						t.Count(l.Status)
					}
					return t, err
				}
			}
		}
		for _, w := range []struct {
			name    string
			prepare func([]trace.EventInput) func() (trace.Tally, error)
		}{{"NativeCeiling", native}, {"epcis-json", capture(jsonDoc)}, {"epcis-xml", capture(xmlDoc)}} {
			b.Run(w.name, func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					store := w.prepare(inputs())
					b.StartTimer()
					t, err := store()
					if err != nil {
						b.Fatal(err)
					}
					if t.Created != perCall {
						b.Fatalf("created %d of %d", t.Created, perCall)
					}
				}
				reportRows(b, b.N*perCall)
			})
		}
	})
}
