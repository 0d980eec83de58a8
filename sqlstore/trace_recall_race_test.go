package sqlstore_test

import (
	"context"
	"sync"
	"testing"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/errs"
	"ecredit/record"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
	"ecredit/trace"
)

// recallRace is the store with another recall slipped in between a
// recall's credit record and its recall row, as a concurrent request
// would come.
type recallRace struct {
	*sqlstore.DB
	between func()
}

func (r *recallRace) CreateRecall(c context.Context, rc *trace.Recall, ev *trace.Event, a *audit.Entry) error {
	if f := r.between; f != nil {
		r.between = nil
		f()
	}
	return r.DB.CreateRecall(c, rc, ev, a)
}

// TestTraceRecallRace: two recalls of one batch at once — by a
// department and by the credit office, or by the producer — leave one
// recall and one credit record: the second links the first's record and
// finds the batch recalled (a Conflict), never a second negative record
// against the producer. Raced for real in goroutines, the same.
func TestTraceRecallRace(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTraceWorld(t, db)
		rs := &recallRace{DB: db}
		svc := &trace.Service{Store: rs, Subjects: db, Records: db, Recorder: w.recs, Clock: w.clk}
		office := actor(account.RoleAdmin, 16, 0, "承德市社会信用体系建设办公室")
		recordsOf := func(g, b string) int {
			t.Helper()
			rs, err := db.ListRecords(ctx, record.Filter{SubjectID: w.producer.ID, Type: record.TypeOther, Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, r := range rs {
				if r.SourceRef == trace.RecallRef(g, b) {
					n++
				}
			}
			return n
		}

		for i, slipped := range []context.Context{office, w.produce} {
			b := []string{"R1", "R2"}[i]
			g := w.productBatch(t, []string{"690300000001", "690300000002"}[i], b, "2026-01-10")
			rs.between = func() {
				if _, err := w.svc.Recall(slipped, g, b, trace.RecallInput{Reason: "抽检不合格"}); err != nil {
					t.Errorf("slipped-in recall: %v", err)
				}
			}
			_, err := svc.Recall(w.dept, g, b, trace.RecallInput{Reason: "抽检不合格，责令召回"})
			wantCode(t, err, errs.Conflict, "batch")
			if n := recordsOf(g, b); n != 1 {
				t.Errorf("batch %s: %d recall records, want 1", b, n)
			}
			rc, err := db.GetRecall(ctx, g, b)
			if err != nil || rc.Reason != "抽检不合格" {
				t.Errorf("batch %s: the recall %v %+v", b, err, rc)
			}
		}

		// For real: four callers at once, one batch each round.
		for round := range 3 {
			b := []string{"S1", "S2", "S3"}[round]
			g := w.productBatch(t, []string{"690300000011", "690300000012", "690300000013"}[round], b, "2026-01-10")
			var wg sync.WaitGroup
			var mu sync.Mutex
			won := 0
			for _, c := range []context.Context{w.dept, office, w.produce, w.dept} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := w.svc.Recall(c, g, b, trace.RecallInput{Reason: "标签错误"})
					switch {
					case err == nil:
						mu.Lock()
						won++
						mu.Unlock()
					case !errs.Is(err, errs.Conflict):
						t.Errorf("round %d: %v", round, err)
					}
				}()
			}
			wg.Wait()
			if n := recordsOf(g, b); won != 1 || n != 1 {
				t.Errorf("round %d: %d recalls succeeded, %d records; want 1 and 1", round, won, n)
			}
		}
	})
}
