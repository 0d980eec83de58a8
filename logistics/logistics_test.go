package logistics

import (
	"strings"
	"testing"
	"time"

	"ecredit/errs"
)

func TestGradeThresholds(t *testing.T) {
	p := DefaultPolicy()
	good := Metrics{Parcels: 1000, Due: 1000, OnTimeRate: 0.97, LossDamageRate: 0.0005, ComplaintRate: 0.001, ValidityRate: 0.99}
	cases := []struct {
		name   string
		change func(m *Metrics)
		want   Grade
		reason string
	}{
		{"all A", func(m *Metrics) {}, GradeA, ""},
		{"exactly the A bounds", func(m *Metrics) { m.OnTimeRate, m.LossDamageRate, m.ValidityRate = 0.95, 0.001, 0.98 }, GradeA, ""},
		{"on time just below A", func(m *Metrics) { m.OnTimeRate = 0.9499 }, GradeB, "准时送达率"},
		{"one violation", func(m *Metrics) { m.Violations = 1 }, GradeB, "行政处罚 1 次"},
		{"loss 0.5%", func(m *Metrics) { m.LossDamageRate = 0.005 }, GradeC, "丢失破损率"},
		{"validity 85%", func(m *Metrics) { m.ValidityRate = 0.85 }, GradeD, "轨迹有效率 85%"},
		{"complaints 2%", func(m *Metrics) { m.ComplaintRate = 0.02 }, GradeD, "投诉率"},
		{"too few", func(m *Metrics) { m.Due = 29 }, GradeNone, "少于评级所需"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := good
			c.change(&m)
			g := p.Grade(m)
			if g.Grade != c.want {
				t.Fatalf("grade = %q, want %q (%v)", g.Grade, c.want, g.Reasons)
			}
			if c.reason != "" && !strings.Contains(strings.Join(g.Reasons, ";"), c.reason) {
				t.Errorf("reasons %v lack %q", g.Reasons, c.reason)
			}
			if c.want == GradeA && len(g.Reasons) != 0 {
				t.Errorf("A with reasons %v", g.Reasons)
			}
			if c.want != GradeNone && len(g.Treatment) == 0 {
				t.Errorf("grade %s without treatment", g.Grade)
			}
		})
	}
	if tr := p.Treatment(GradeD); !strings.Contains(strings.Join(tr, ""), "约谈") {
		t.Errorf("D treatment %v", tr)
	}
}

func TestLoadPolicy(t *testing.T) {
	p, err := LoadPolicy(strings.NewReader(`{"window_days": 30, "min_parcels": 5}`))
	if err != nil || p.WindowDays != 30 || p.MinParcels != 5 || len(p.Rules) != 3 {
		t.Fatalf("LoadPolicy = %+v, %v", p, err)
	}
	for _, bad := range []string{
		`{"window_days": 0}`,
		`{"rules": [{"grade":"A","min_on_time":0.8},{"grade":"B","min_on_time":0.9},{"grade":"C"}]}`,
		`{"rules": [{"grade":"A","min_on_time":1.5},{"grade":"B"},{"grade":"C"}]}`,
		`{"unknown": 1}`,
	} {
		if _, err := LoadPolicy(strings.NewReader(bad)); !errs.Is(err, errs.Invalid) {
			t.Errorf("LoadPolicy(%s) = %v, want invalid", bad, err)
		}
	}
}

func TestApplyRules(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	ev := func(typ EventType, at time.Time, detail string) *Event {
		return &Event{Type: typ, At: at, Detail: detail}
	}
	base := func() *Parcel {
		p := &Parcel{CreatedAt: t0}
		for _, e := range []*Event{ev(EventPickedUp, h(0), ""), ev(EventInTransit, h(5), "")} {
			if err := Apply(p, e); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	bad := []struct {
		name string
		ev   *Event
	}{
		{"in transit before pickup", ev(EventInTransit, h(-1), "")},
		{"second pickup at another time", ev(EventPickedUp, h(1), "")},
		{"signed before pickup", ev(EventSigned, h(-2), "recipient")},
	}
	for _, c := range bad {
		if err := Apply(base(), c.ev); !errs.Is(err, errs.Invalid) {
			t.Errorf("%s: err = %v, want invalid", c.name, err)
		}
	}
	p := base()
	for _, e := range []*Event{ev(EventOutForDelivery, h(20), ""), ev(EventSigned, h(22), "locker")} {
		if err := Apply(p, e); err != nil {
			t.Fatal(err)
		}
	}
	if p.Status != EventSigned || !p.SignedAt.Equal(h(22)) || p.Gap || !p.Terminal() || p.SignedBy != "locker" {
		t.Fatalf("state %+v", p)
	}
	for _, e := range []*Event{ev(EventInTransit, h(23), ""), ev(EventSigned, h(24), "recipient"), ev(EventReturned, h(25), ""),
		ev(EventOutForDelivery, h(23), "")} {
		if err := Apply(p, e); err == nil {
			t.Errorf("%s at +%v after signature accepted", e.Type, e.At.Sub(t0))
		}
	}
	// A late scan from before the signature and a damage found after it
	// are possible.
	if err := Apply(p, ev(EventInTransit, h(10), "")); err != nil {
		t.Fatal(err)
	}
	if err := Apply(p, ev(EventException, h(30), "damaged")); err != nil || !p.Damaged {
		t.Fatalf("damage after signature: %v %+v", err, p)
	}
	// Signed without being out for delivery: a gap.
	q := base()
	if err := Apply(q, ev(EventSigned, h(9), "proxy")); err != nil || !q.Gap {
		t.Fatalf("gap: %v %+v", err, q)
	}
}

func TestCheckEvent(t *testing.T) {
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	cases := []struct {
		in    EventInput
		field string
	}{
		{EventInput{Waybill: "SF1", Type: "teleported", At: "2026-03-01T07:00:00Z"}, "type"},
		{EventInput{Waybill: "SF1", Type: "picked_up", At: "2026-03-02T07:00:00Z"}, "at"},
		{EventInput{Waybill: "SF1", Type: "picked_up", At: "1999-03-02 07:00"}, "at"},
		{EventInput{Waybill: "SF1", Type: "picked_up", At: "yesterday"}, "at"},
		{EventInput{Waybill: "SF 1", Type: "picked_up", At: "2026-03-01 07:00"}, "waybill"},
		{EventInput{Waybill: "SF1", Type: "signed", At: "2026-03-01 07:00"}, "signed_by"},
		{EventInput{Waybill: "SF1", Type: "exception", At: "2026-03-01 07:00", Exception: "eaten"}, "exception"},
		{EventInput{Waybill: "SF1", Type: "in_transit", At: "2026-03-01 07:00", Region: "999999"}, "region"},
	}
	for _, c := range cases {
		_, _, err := checkEvent(c.in, now)
		if errs.FieldOf(err) != c.field {
			t.Errorf("%+v: err = %v, want field %s", c.in, err, c.field)
		}
	}
	_, e, err := checkEvent(EventInput{Waybill: "SF1", Type: "signed", At: "2026-03-01 15:30", SignedBy: "proxy", Region: "130802"}, now)
	if err != nil || !e.At.Equal(time.Date(2026, 3, 1, 7, 30, 0, 0, time.UTC)) || e.Detail != "proxy" {
		t.Fatalf("checkEvent = %+v, %v", e, err)
	}
}
