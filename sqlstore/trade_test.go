package sqlstore_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/clock"
	"ecredit/errs"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trade"
)

// tradeWorld is a small city for the trade tests: two platforms with a
// shop each of one merchant, a second shop of a seller on platform A, and a
// logistics firm.
type tradeWorld struct {
	db                    *sqlstore.DB
	svc                   *trade.Service
	clk                   *clock.Fake
	platA, platB          context.Context // platform actors
	admin, agency, public context.Context
	platAID, platBID      int64
	merchant, seller      *registry.Subject
	shopA, shopB, shopS   *registry.Shop
	carrier               *registry.Subject
}

const gtinA = "6901234567892" // valid GTIN-13

func newTradeWorld(t *testing.T, db *sqlstore.DB) *tradeWorld {
	t.Helper()
	reg, clk := newService(t, db)
	clk.Set(time.Date(2026, 6, 20, 4, 0, 0, 0, time.UTC))
	sys := actor(account.RoleAdmin, 1, 0, "市信用办")
	w := &tradeWorld{db: db, clk: clk, svc: &trade.Service{Store: db, Clock: clk}, admin: sys,
		agency: actor(account.RoleAgency, 5, 0, "某信用评级公司"), public: account.With(ctx, account.Public("1.2.3.4", "r"))}
	mk := func(in registry.SubjectInput) *registry.Subject {
		s, err := reg.CreateSubject(sys, in)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	pa := mk(registry.SubjectInput{Kind: registry.KindPlatform, Name: "甲平台", CreditCode: uscc(t, 101)})
	pb := mk(registry.SubjectInput{Kind: registry.KindPlatform, Name: "乙平台", CreditCode: uscc(t, 102)})
	w.platAID, w.platBID = pa.ID, pb.ID
	w.platA, w.platB = actor(account.RolePlatform, 3, pa.ID, "甲平台"), actor(account.RolePlatform, 4, pb.ID, "乙平台")
	w.merchant = mk(registry.SubjectInput{Kind: registry.KindMerchant, Name: "承德山货商行", CreditCode: uscc(t, 103), RegionCode: "130802"})
	w.seller = mk(registry.SubjectInput{Kind: registry.KindMerchant, Name: "围场土豆合作社", CreditCode: uscc(t, 104), RegionCode: "130828"})
	w.carrier = mk(registry.SubjectInput{Kind: registry.KindLogistics, Name: "承德快运有限公司", CreditCode: uscc(t, 105)})
	shop := func(plat int64, owner int64, name, psid string) *registry.Shop {
		sh, err := reg.CreateShop(sys, registry.ShopInput{PlatformID: plat, OwnerID: owner, Name: name, URL: "https://" + psid + ".example.cn", PlatformShopID: psid, Category: "food"})
		if err != nil {
			t.Fatal(err)
		}
		return sh
	}
	w.shopA = shop(pa.ID, w.merchant.ID, "山货旗舰店", "A001")
	w.shopB = shop(pb.ID, w.merchant.ID, "山货专营店", "B001")
	w.shopS = shop(pa.ID, w.seller.ID, "土豆小店", "A002")
	return w
}

// order is a good, signed order of shop A.
func (w *tradeWorld) order(no, buyer string, paid time.Time) trade.OrderInput {
	return trade.OrderInput{OrderNo: no, ShopID: w.shopA.ID, Buyer: buyer, AmountFen: 5990,
		Items:  []trade.ItemInput{{GTIN: gtinA, Batch: "L2026-05", Name: "蘑菇干", Category: "food", Quantity: 2, PriceFen: 2995}},
		PaidAt: paid, ShippedAt: paid.Add(5 * time.Hour), SignedAt: paid.Add(50 * time.Hour), Region: "110105", Waybill: "SF" + no}
}

func TestTradeOrders(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTradeWorld(t, db)
		paid := time.Date(2026, 6, 10, 2, 0, 0, 0, time.UTC)

		// One order, then the same again, then with later times.
		in := w.order("NO-1", "buyer_a1", paid)
		in.SignedAt, in.ShippedAt, in.Waybill = time.Time{}, time.Time{}, ""
		res, err := w.svc.Ingest(w.platA, in)
		if err != nil || res.Status != trade.ResultCreated || res.ID == 0 {
			t.Fatalf("ingest: %+v %v", res, err)
		}
		if o := res.Order; o.Status != trade.StatusPaid || o.SellerID != w.merchant.ID || o.PlatformID != w.platAID || o.Version != 1 {
			t.Fatalf("stored as %+v", o)
		}
		if r, err := w.svc.Ingest(w.platA, in); err != nil || r.Status != trade.ResultUnchanged || r.ID != res.ID {
			t.Fatalf("resubmission: %+v %v", r, err)
		}
		full := w.order("NO-1", "buyer_a1", paid)
		full.CarrierCode = w.carrier.CreditCode
		if r, err := w.svc.Ingest(w.platA, full); err != nil || r.Status != trade.ResultUpdated || r.Order.Version != 2 {
			t.Fatalf("update: %+v %v", r, err)
		}
		d, err := w.svc.GetOrder(w.platA, res.ID)
		if err != nil || d.Order.Status != trade.StatusSigned || d.Order.Waybill != "SFNO-1" || d.Order.CarrierID != w.carrier.ID ||
			len(d.Order.Items) != 1 || d.Order.Items[0].GTIN != gtinA || !d.Order.SignedAt.Equal(full.SignedAt) {
			t.Fatalf("after update: %+v %v", d, err)
		}
		// Content changes and going back are conflicts naming the field.
		changed := full
		changed.AmountFen = 1
		_, err = w.svc.Ingest(w.platA, changed)
		wantCode(t, err, errs.Conflict, "amount_fen")
		back := full
		back.SignedAt, back.Status = time.Time{}, ""
		_, err = w.svc.Ingest(w.platA, back)
		wantCode(t, err, errs.Conflict, "signed_at")

		// Tenancy: platform B cannot report for, read, or list A's orders.
		_, err = w.svc.Ingest(w.platB, w.order("NO-X", "b", paid))
		wantCode(t, err, errs.NotFound, "shop_id")
		_, err = w.svc.GetOrder(w.platB, res.ID)
		wantCode(t, err, errs.NotFound, "id")
		if list, err := w.svc.ListOrders(w.platB, trade.OrderFilter{}); err != nil || len(list) != 0 {
			t.Fatalf("B lists %d orders, %v", len(list), err)
		}
		_, err = w.svc.Ingest(w.agency, w.order("NO-Y", "b", paid))
		wantCode(t, err, errs.Forbidden, "")
		_, err = w.svc.Ingest(w.public, w.order("NO-Y", "b", paid))
		wantCode(t, err, errs.Unauthorized, "")

		// A batch: every line its own fate, good lines stored.
		future := w.clk.Now().Add(time.Hour)
		byPSID := w.order("NO-3", "buyer_a3", paid)
		byPSID.ShopID, byPSID.PlatformShopID = 0, "A002"
		bad := func(mut func(*trade.OrderInput)) trade.OrderInput {
			o := w.order(fmt.Sprintf("BAD-%d", time.Now().UnixNano()), "buyer_x", paid)
			mut(&o)
			return o
		}
		batch := []trade.OrderInput{
			w.order("NO-2", "buyer_a2", paid),
			bad(func(o *trade.OrderInput) { o.Items[0].GTIN = "6901234567891" }),
			bad(func(o *trade.OrderInput) { o.Buyer = "11010519491231002X" }),
			bad(func(o *trade.OrderInput) { o.Buyer = "tel13912345678" }),
			bad(func(o *trade.OrderInput) { o.SignedAt = future }),
			bad(func(o *trade.OrderInput) { o.ShippedAt = paid.Add(-time.Minute) }),
			bad(func(o *trade.OrderInput) { o.SignedAt = o.ShippedAt.Add(-time.Minute) }),
			bad(func(o *trade.OrderInput) { o.ShopID = w.shopB.ID }),
			bad(func(o *trade.OrderInput) { o.Region = "999999" }),
			byPSID,
			w.order("NO-2", "buyer_a2", paid),
			bad(func(o *trade.OrderInput) { o.CarrierCode = w.merchant.CreditCode }),
			bad(func(o *trade.OrderInput) { o.Items[0].Quantity = 0 }),
		}
		want := []struct {
			status, field string
		}{{trade.ResultCreated, ""}, {trade.ResultError, "items.1.gtin"}, {trade.ResultError, "buyer"}, {trade.ResultError, "buyer"},
			{trade.ResultError, "signed_at"}, {trade.ResultError, "shipped_at"}, {trade.ResultError, "signed_at"},
			{trade.ResultError, "shop_id"}, {trade.ResultError, "region"}, {trade.ResultCreated, ""}, {trade.ResultError, "order_no"},
			{trade.ResultError, "carrier_code"}, {trade.ResultError, "items.1.quantity"}}
		out, err := w.svc.IngestBatch(w.platA, batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range out {
			if r.Line != i+1 || r.Status != want[i].status || errs.FieldOf(r.Err) != want[i].field {
				t.Errorf("line %d: %s %v, want %s on %q", i+1, r.Status, r.Err, want[i].status, want[i].field)
			}
		}
		if out[9].Order == nil || out[9].Order.ShopID != w.shopS.ID || out[9].Order.SellerID != w.seller.ID {
			t.Errorf("by platform shop id: %+v", out[9].Order)
		}
		list, err := w.svc.ListOrders(w.platA, trade.OrderFilter{})
		if err != nil || len(list) != 3 {
			t.Fatalf("A has %d orders, %v", len(list), err)
		}
		// The batch wrote one audit entry for its new orders.
		if es, err := db.List(ctx, auditFilter("orders:platform:"+fmt.Sprint(w.platAID))); err != nil || len(es) != 3 {
			t.Fatalf("audit entries %d, %v", len(es), err)
		}
		if _, err := w.svc.IngestBatch(w.platA, make([]trade.OrderInput, trade.MaxBatch+1)); errs.CodeOf(err) != errs.TooLarge {
			t.Fatalf("oversized batch: %v", err)
		}
	})
}

// TestTradeResubmission: a batch that mixes new orders with orders the
// platform already reported gets created, unchanged, updated and conflict
// in one call, with one audit entry per write and none for what did not
// change; two platforms' connections reporting the same batch at once
// insert every order exactly once.
func TestTradeResubmission(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTradeWorld(t, db)
		paid := w.clk.Now().Add(-72 * time.Hour)
		shipped := func(no string) trade.OrderInput {
			o := w.order(no, "buyer_r", paid)
			o.SignedAt = time.Time{}
			return o
		}
		if out, err := w.svc.IngestBatch(w.platA, []trade.OrderInput{shipped("R-1"), shipped("R-2"), shipped("R-3")}); err != nil || out[2].Status != trade.ResultCreated {
			t.Fatalf("first batch: %v %+v", err, out)
		}
		audits := func() int {
			es, err := db.List(ctx, auditFilter("orders:platform:"+fmt.Sprint(w.platAID)))
			if err != nil {
				t.Fatal(err)
			}
			return len(es)
		}
		if n := audits(); n != 1 {
			t.Fatalf("audit entries after the first batch: %d", n)
		}
		conflicting := shipped("R-3")
		conflicting.AmountFen++
		out, err := w.svc.IngestBatch(w.platA, []trade.OrderInput{
			shipped("R-1"),                  // unchanged
			w.order("R-2", "buyer_r", paid), // signed since: updated
			w.order("R-4", "buyer_r", paid), // new
			conflicting,                     // amount differs: conflict
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{trade.ResultUnchanged, trade.ResultUpdated, trade.ResultCreated, trade.ResultError}
		for i, r := range out {
			if r.Status != want[i] {
				t.Errorf("line %d: %s %v, want %s", i+1, r.Status, r.Err, want[i])
			}
		}
		wantCode(t, out[3].Err, errs.Conflict, "amount_fen")
		if out[1].Order == nil || out[1].Order.Version != 2 || out[1].Order.SignedAt.IsZero() || out[0].ID == 0 || out[0].ID != out[0].Order.ID {
			t.Fatalf("updated %+v, unchanged %+v", out[1].Order, out[0])
		}
		if n := audits(); n != 3 { // + one for R-4, + one for R-2
			t.Fatalf("audit entries after the mixed batch: %d", n)
		}
		if out, err := w.svc.IngestBatch(w.platA, []trade.OrderInput{shipped("R-1")}); err != nil || out[0].Status != trade.ResultUnchanged || audits() != 3 {
			t.Fatalf("unchanged-only batch: %v %+v, %d audit entries", err, out, audits())
		}

		// The same new batch from two connections at once; from the
		// second round on, the second connection has it in the opposite
		// order, so that PostgreSQL may see a deadlock on the order
		// numbers' key: still every order is created exactly once.
		stored := 4
		for round := range 4 {
			batch := make([]trade.OrderInput, 300)
			for i := range batch {
				batch[i] = w.order(fmt.Sprintf("C%d-%03d", round, i), "buyer_c", paid)
			}
			sends := [2][]trade.OrderInput{batch, batch}
			if round > 0 {
				sends[1] = slices.Clone(batch)
				slices.Reverse(sends[1])
			}
			results := make(chan []trade.Result, 2)
			errc := make(chan error, 2)
			for k := range 2 {
				go func() {
					out, err := w.svc.IngestBatch(w.platA, sends[k])
					errc <- err
					results <- out
				}()
			}
			created := 0
			for range 2 {
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
				for _, r := range <-results {
					switch r.Status {
					case trade.ResultCreated:
						created++
					case trade.ResultUnchanged:
					default:
						t.Fatalf("round %d, concurrent line %d: %s %v", round, r.Line, r.Status, r.Err)
					}
				}
			}
			stored += len(batch)
			var n int
			if err := db.WriterDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT COUNT(*) FROM orders WHERE platform_id = ?"), w.platAID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if created != len(batch) || n != stored {
				t.Fatalf("round %d: created %d times, %d orders stored; want %d and %d", round, created, n, len(batch), stored)
			}
		}
	})
}

func TestTradeReviews(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTradeWorld(t, db)
		w.clk.Set(time.Date(2026, 7, 10, 4, 0, 0, 0, time.UTC))
		june := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
		ingest := func(in trade.OrderInput) int64 {
			t.Helper()
			r, err := w.svc.Ingest(w.platA, in)
			if err != nil {
				t.Fatal(err)
			}
			return r.ID
		}
		one := func(v int) *int { return &v }
		good := trade.ReviewInput{Buyer: "buyer_r", Rating: one(1), Description: 5, Service: 5, Logistics: 4, Text: "很好"}

		id := ingest(w.order("R-1", "buyer_r", june))
		// Rules: order missing, another platform, another buyer, not signed.
		_, err := w.svc.Review(w.platA, 999999, good)
		wantCode(t, err, errs.NotFound, "id")
		_, err = w.svc.Review(w.platB, id, good)
		wantCode(t, err, errs.Forbidden, "id")
		other := good
		other.Buyer = "someone_else"
		_, err = w.svc.Review(w.platA, id, other)
		wantCode(t, err, errs.Forbidden, "buyer")
		unsigned := w.order("R-U", "buyer_r", june)
		unsigned.SignedAt = time.Time{}
		_, err = w.svc.Review(w.platA, ingest(unsigned), good)
		wantCode(t, err, errs.Conflict, "id")
		stars := good
		stars.Service = 6
		_, err = w.svc.Review(w.platA, id, stars)
		wantCode(t, err, errs.Invalid, "service")
		_, err = w.svc.Review(w.platA, id, trade.ReviewInput{Buyer: "buyer_r", Description: 5, Service: 5, Logistics: 5})
		wantCode(t, err, errs.Invalid, "rating")

		rv, err := w.svc.Review(w.platA, id, good)
		if err != nil || !rv.Counted || !rv.DSRCounted || rv.Month != 202606 {
			t.Fatalf("review: %+v %v", rv, err)
		}
		_, err = w.svc.Review(w.platA, id, good)
		wantCode(t, err, errs.Conflict, "order_id")

		// One follow-up, by the reviewer only.
		_, err = w.svc.Followup(w.platA, rv.ID, trade.FollowupInput{Buyer: "x", Text: "用了一个月"})
		wantCode(t, err, errs.Forbidden, "buyer")
		if _, err := w.svc.Followup(w.platA, rv.ID, trade.FollowupInput{Buyer: "buyer_r", Text: "用了一个月，依然很好"}); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Followup(w.platA, rv.ID, trade.FollowupInput{Buyer: "buyer_r", Text: "again"})
		wantCode(t, err, errs.Conflict, "followup")

		// The seller rates the buyer, once.
		if br, err := w.svc.RateBuyer(w.platA, id, trade.BuyerRatingInput{Rating: one(1), Text: "爽快"}); err != nil || br.Buyer != "buyer_r" {
			t.Fatalf("buyer rating: %+v %v", br, err)
		}
		_, err = w.svc.RateBuyer(w.platA, id, trade.BuyerRatingInput{Rating: one(-1)})
		wantCode(t, err, errs.Conflict, "order_id")
		if bc, err := w.svc.BuyerCredit(w.platA, 0, "buyer_r"); err != nil || bc.Positive != 1 || bc.Points != 1 {
			t.Fatalf("buyer credit: %+v %v", bc, err)
		}

		// The monthly bound: 8 more reviews of the same pair in June; only
		// 6 count in all, 3 with their detailed ratings. July counts again.
		for i := 2; i <= 9; i++ {
			oid := ingest(w.order(fmt.Sprintf("R-%d", i), "buyer_r", june.Add(time.Duration(i)*24*time.Hour)))
			in := good
			in.Description = 1
			if _, err := w.svc.Review(w.platA, oid, in); err != nil {
				t.Fatal(err)
			}
		}
		july := ingest(w.order("R-J", "buyer_r", time.Date(2026, 6, 30, 17, 0, 0, 0, time.UTC))) // 1 July in Shanghai
		jr, err := w.svc.Review(w.platA, july, good)
		if err != nil || !jr.Counted || !jr.DSRCounted || jr.Month != 202607 {
			t.Fatalf("July review %+v %v", jr, err)
		}
		sp, err := w.svc.ShopPublic(w.public, w.shopA.ID)
		if err != nil {
			t.Fatal(err)
		}
		rt := sp.Reputation.Ratings
		// June: reviews 1–6 counted (+6), 1–3 with DSR; July: +1 with DSR.
		if sp.Reputation.Points != 7 || rt.Reviews != 10 || rt.Counted != 7 || rt.Description.Count != 4 || rt.PositiveRate != 1 {
			t.Fatalf("reputation %+v", sp.Reputation)
		}
		// Description: 5 (review 1) + 1 + 1 (reviews 2, 3) + 5 (July).
		if want := math.Round(trade.Bayes(12, 4, 4.5, 30)*100) / 100; rt.Description.Score != want || rt.Description.Mean != 3 {
			t.Fatalf("description %+v, want score %v", rt.Description, want)
		}
		if sp.Reputation.Level.Rank != 1 || sp.Reputation.Level.Name != "一心" {
			t.Fatalf("level %+v", sp.Reputation.Level)
		}
		if len(sp.Recent) != 10 || sp.Recent[0].ID != jr.ID {
			t.Fatalf("recent %d", len(sp.Recent))
		}

		// Folding: a reason is required; B may not fold A's; folded once.
		_, err = w.svc.Fold(w.platA, rv.ID, trade.FoldInput{})
		wantCode(t, err, errs.Invalid, "reason")
		_, err = w.svc.Fold(w.platB, rv.ID, trade.FoldInput{Reason: "x"})
		wantCode(t, err, errs.Forbidden, "id")
		if _, err := w.svc.Fold(w.platA, rv.ID, trade.FoldInput{Reason: "疑似刷单"}); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Fold(w.admin, rv.ID, trade.FoldInput{Reason: "again"})
		wantCode(t, err, errs.Conflict, "id")
		sr, err := w.svc.SubjectReputation(w.public, w.merchant.ID)
		if err != nil || sr == nil || sr.Shops != 2 || sr.Points != 6 || sr.Ratings.Folded != 1 || sr.Ratings.Reviews != 10 {
			t.Fatalf("after fold: %+v %v", sr, err)
		}
		list, err := w.svc.ShopReviews(w.public, w.shopA.ID, 0, 100)
		if err != nil || len(list) != 10 || !list[9].Folded() || list[9].FoldReason != "疑似刷单" || list[9].Followup == "" {
			t.Fatalf("reviews: %d %v", len(list), err)
		}
		// A folded review no longer takes a slot of the monthly bound.
		late := ingest(w.order("R-10", "buyer_r", june.Add(20*24*time.Hour)))
		if lr, err := w.svc.Review(w.platA, late, good); err != nil || !lr.Counted {
			t.Fatalf("after fold, review counted=%v %v", lr.Counted, err)
		}
		if none, err := w.svc.SubjectReputation(w.public, w.carrier.ID); err != nil || none != nil {
			t.Fatalf("carrier has a reputation: %+v %v", none, err)
		}
		// Reviews are never deleted.
		if _, err := db.WriterDB().ExecContext(ctx, "DELETE FROM reviews"); err == nil {
			t.Fatal("reviews deleted")
		}
	})
}

func TestTradeEvaluations(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTradeWorld(t, db)
		score := 86.5
		in := trade.EvaluationInput{Ref: "PJ-2026-001", SubjectCode: w.merchant.CreditCode, Score: &score, Scale: "0-100", Grade: "A",
			Method: "经营、履约、评价、合规四个维度加权评分，数据来自平台订单与公示记录", ValidUntil: w.clk.Now().AddDate(1, 0, 0)}
		e, created, err := w.svc.SubmitEvaluation(w.agency, in)
		if err != nil || !created || e.SubjectID != w.merchant.ID {
			t.Fatalf("evaluation: %+v %v %v", e, created, err)
		}
		if again, created, err := w.svc.SubmitEvaluation(w.agency, in); err != nil || created || again.ID != e.ID {
			t.Fatalf("resubmission: %+v %v %v", again, created, err)
		}
		changed := in
		changed.Grade = "B"
		_, _, err = w.svc.SubmitEvaluation(w.agency, changed)
		wantCode(t, err, errs.Conflict, "ref")
		_, _, err = w.svc.SubmitEvaluation(w.platA, in)
		wantCode(t, err, errs.Forbidden, "")
		noMethod := in
		noMethod.Ref, noMethod.Method = "PJ-2", ""
		_, _, err = w.svc.SubmitEvaluation(w.agency, noMethod)
		wantCode(t, err, errs.Invalid, "method")
		expired := in
		expired.Ref, expired.ValidUntil = "PJ-3", w.clk.Now().Add(-time.Hour)
		_, _, err = w.svc.SubmitEvaluation(w.agency, expired)
		wantCode(t, err, errs.Invalid, "valid_until")
		unknown := in
		unknown.Ref, unknown.SubjectCode = "PJ-4", uscc(t, 999)
		_, _, err = w.svc.SubmitEvaluation(w.agency, unknown)
		wantCode(t, err, errs.NotFound, "subject_code")
		list, err := w.svc.Evaluations(w.public, w.merchant.ID)
		if err != nil || len(list) != 1 || *list[0].Score != 86.5 || list[0].Agency != "某信用评级公司" {
			t.Fatalf("list: %+v %v", list, err)
		}
		w.clk.Advance(400 * 24 * time.Hour)
		if list, err := w.svc.Evaluations(w.public, w.merchant.ID); err != nil || len(list) != 0 {
			t.Fatalf("expired still listed: %d %v", len(list), err)
		}
	})
}

func auditFilter(object string) audit.Filter { return audit.Filter{Object: object, Limit: 100} }

// TestOrderReferences: whatever enforces them (foreign keys and a trigger
// on SQLite, statement-level checks on PostgreSQL, migration 00013), an
// order needs an existing shop, its platform and seller must be the shop's,
// and an item needs its order; a referenced shop or subject cannot be
// deleted; orders are never deleted and never move to another platform,
// shop or seller.
func TestOrderReferences(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTradeWorld(t, db)
		paid := w.clk.Now().Add(-72 * time.Hour)
		mk := func(no string, mut func(*trade.Order)) *trade.Order {
			o := &trade.Order{PlatformID: w.platAID, ShopID: w.shopA.ID, SellerID: w.merchant.ID, OrderNo: no, Buyer: "buyer_f",
				AmountFen: 100, Status: trade.StatusPaid, PaidAt: paid,
				Items: []trade.Item{{Line: 1, GTIN: gtinA, Batch: "L1", Quantity: 1, PriceFen: 100}}}
			if mut != nil {
				mut(o)
			}
			return o
		}
		good := mk("F-1", nil)
		if taken, err := db.CreateOrders(ctx, []*trade.Order{good, mk("F-2", nil)}, nil); err != nil || len(taken) != 0 || good.ID == 0 {
			t.Fatalf("good orders: %v, taken %d", err, len(taken))
		}
		for name, mut := range map[string]func(*trade.Order){
			"shop":     func(o *trade.Order) { o.ShopID = 987654 },
			"platform": func(o *trade.Order) { o.PlatformID = 987654 },
			"seller":   func(o *trade.Order) { o.SellerID = 987654 },
			// Both exist, but are not shop A's.
			"other seller":   func(o *trade.Order) { o.SellerID = w.seller.ID },
			"other platform": func(o *trade.Order) { o.PlatformID = w.platBID },
		} {
			// The bad order sits among good ones: the whole statement fails.
			_, err := db.CreateOrders(ctx, []*trade.Order{mk("F-"+name+"-ok", nil), mk("F-"+name, mut)}, nil)
			if errs.CodeOf(err) != errs.Invalid {
				t.Errorf("order with a wrong %s: %v, want invalid", name, err)
			}
		}
		var n int
		if err := db.WriterDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM orders").Scan(&n); err != nil || n != 2 {
			t.Fatalf("%d orders stored after the failed batches, %v", n, err)
		}
		exec := func(q string, args ...any) error {
			_, err := db.WriterDB().ExecContext(ctx, db.Dialect().Rebind(q), args...)
			return err
		}
		// An order's items are in its row (00024): none can be added
		// without an order, nor beside one; order_items only shows them.
		if err := exec("INSERT INTO order_items (order_id, line, gtin, quantity, price_fen) VALUES (?, 2, ?, 1, 1)", good.ID, gtinA); err == nil {
			t.Error("an item was written into order_items")
		}
		var lines int
		if err := db.WriterDB().QueryRowContext(ctx, db.Dialect().Rebind("SELECT COUNT(*) FROM order_items WHERE order_id = ? AND gtin = ?"), good.ID, gtinA).Scan(&lines); err != nil || lines != len(good.Items) {
			t.Errorf("order_items shows %d lines of the order, want %d (%v)", lines, len(good.Items), err)
		}
		for what, q := range map[string]string{
			"delete an order":        "DELETE FROM orders WHERE id = ?",
			"move an order":          "UPDATE orders SET shop_id = " + fmt.Sprint(w.shopS.ID) + " WHERE id = ?",
			"change an order seller": "UPDATE orders SET seller_id = " + fmt.Sprint(w.seller.ID) + " WHERE id = ?",
		} {
			if err := exec(q, good.ID); err == nil {
				t.Errorf("%s: allowed", what)
			}
		}
		if err := exec("UPDATE orders SET status = ?, shop_id = shop_id WHERE id = ?", string(trade.StatusShipped), good.ID); err != nil {
			t.Errorf("a status change that keeps the shop: %v", err)
		}
		if err := exec("DELETE FROM shops WHERE id = ?", w.shopA.ID); err == nil {
			t.Error("deleting a shop that orders reference: allowed")
		}
		if err := exec("DELETE FROM subjects WHERE id = ?", w.platAID); err == nil {
			t.Error("deleting a platform that orders reference: allowed")
		}
	})
}

// TestOrdersOfSeller: a seller's orders are its shops' orders, listed
// oldest first a page at a time across shops and platforms; its latest
// orders give the categories it sells.
func TestOrdersOfSeller(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTradeWorld(t, db)
		paid := w.clk.Now().Add(-72 * time.Hour)
		var mine []int64
		for i := range 9 {
			sh := []*registry.Shop{w.shopA, w.shopB, w.shopS}[i%3]
			o := &trade.Order{PlatformID: sh.PlatformID, ShopID: sh.ID, SellerID: sh.OwnerID, OrderNo: fmt.Sprintf("S-%d", i), Buyer: "buyer_s",
				AmountFen: 100, Status: trade.StatusPaid, PaidAt: paid.Add(time.Duration(-i) * time.Hour),
				Items: []trade.Item{{Line: 1, GTIN: gtinA, Batch: "L1", Category: []string{"food", "drug", "toy"}[i%3], Quantity: 1, PriceFen: 100}}}
			if _, err := db.CreateOrders(ctx, []*trade.Order{o}, nil); err != nil {
				t.Fatal(err)
			}
			if sh.OwnerID == w.merchant.ID {
				mine = append(mine, o.ID)
			}
		}
		var got []int64
		for after := int64(0); ; {
			page, err := db.ListOrders(ctx, trade.OrderFilter{SellerID: w.merchant.ID, After: after, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, o := range page {
				if o.SellerID != w.merchant.ID || len(o.Items) != 1 {
					t.Fatalf("order %d of seller %d with %d items", o.ID, o.SellerID, len(o.Items))
				}
				got = append(got, o.ID)
			}
			after = page[len(page)-1].ID
		}
		if fmt.Sprint(got) != fmt.Sprint(mine) {
			t.Fatalf("seller's orders %v, want %v", got, mine)
		}
		onA, err := db.ListOrders(ctx, trade.OrderFilter{SellerID: w.merchant.ID, PlatformID: w.platAID, Limit: 50})
		if err != nil || len(onA) != 3 {
			t.Fatalf("seller's orders on platform A: %d, %v", len(onA), err)
		}
		if list, err := db.ListOrders(ctx, trade.OrderFilter{SellerID: w.carrier.ID}); err != nil || len(list) != 0 {
			t.Fatalf("orders of a subject without shops: %d, %v", len(list), err)
		}
		cats, err := db.SellerCategories(ctx, w.merchant.ID, 3)
		slices.Sort(cats)
		if err != nil || fmt.Sprint(cats) != "[drug food]" {
			t.Fatalf("categories of the merchant's latest 3 orders: %v, %v", cats, err)
		}
		cats, err = db.SellerCategories(ctx, w.merchant.ID, 1)
		if err != nil || fmt.Sprint(cats) != "[drug]" {
			t.Fatalf("category of the merchant's latest order: %v, %v", cats, err)
		}
	})
}
