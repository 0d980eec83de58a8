package sqlstore_test

import (
	"fmt"
	"testing"

	"ecredit/account"
	"ecredit/audit"
	"ecredit/record"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// IngestBatch resolves a window's subjects in one query and creates its
// unknown subjects in one transaction: the outcome must be what one
// lookup (and one pending subject) per record gives.
func TestIngestBatchSubjects(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc, _ := recordService(t, db, shanghai("2026-05-12 10:00"))
		c := account.With(ctx, samrAPI)
		known := org(t, 444, registry.KindMerchant, "承德市已登记商贸有限公司", "130802")
		if err := db.CreateSubjects(ctx, []*registry.Subject{known}, nil); err != nil {
			t.Fatal(err)
		}
		newA, newB := uscc(t, 445), uscc(t, 446)
		codes := []string{known.CreditCode, newA, newB, newA, known.CreditCode}
		ins := make([]record.Input, len(codes))
		for i, code := range codes {
			ins[i] = penaltyInput(fmt.Sprintf("BS-%d", i), "罚款", "0.5", "2026-05-10")
			ins[i].Fields["CF_XDR_SHXYM"] = code
		}
		res, err := svc.IngestBatch(c, ins)
		if err != nil {
			t.Fatal(err)
		}
		bySubject := map[string]int64{}
		for i, r := range res {
			if r.Err != nil || r.Status != record.ResultCreated || r.Record == nil {
				t.Fatalf("line %d: %s %v", i+1, r.Status, r.Err)
			}
			if prev, ok := bySubject[codes[i]]; ok && prev != r.Record.SubjectID {
				t.Errorf("line %d: subject %d, earlier line with the same code had %d", i+1, r.Record.SubjectID, prev)
			}
			bySubject[codes[i]] = r.Record.SubjectID
		}
		if bySubject[known.CreditCode] != known.ID {
			t.Errorf("known subject: records point at %d, want %d", bySubject[known.CreditCode], known.ID)
		}
		pending, err := db.ListSubjects(ctx, registry.Filter{Status: registry.StatusPending, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) != 2 {
			t.Fatalf("%d pending subjects, want 2", len(pending))
		}
		for i, code := range []string{newA, newB} { // created in order of first appearance
			p := pending[i]
			if p.CreditCode != code || p.ID != bySubject[code] || p.CreatedBy != samrAPI.AccountID || p.Name != ins[0].Fields["CF_XDR_MC"] {
				t.Errorf("pending subject %d: %+v", i, p)
			}
			created, err := db.List(ctx, audit.Filter{Object: fmt.Sprintf("subject:%d", p.ID), Action: audit.ActCreate})
			if err != nil || len(created) != 1 {
				t.Errorf("audit of pending subject %d: %d entries, %v", p.ID, len(created), err)
			}
		}
		// A second batch finds the subjects created by the first.
		more := penaltyInput("BS-9", "罚款", "0.5", "2026-05-10")
		more.Fields["CF_XDR_SHXYM"] = newB
		res, err = svc.IngestBatch(c, []record.Input{more})
		if err != nil || res[0].Err != nil || res[0].Record.SubjectID != bySubject[newB] {
			t.Fatalf("second batch: %+v %v", res, err)
		}
		if pending, _ := db.ListSubjects(ctx, registry.Filter{Status: registry.StatusPending, Limit: 100}); len(pending) != 2 {
			t.Errorf("%d pending subjects after the second batch, want 2", len(pending))
		}
		if rep := verify(t, db); !rep.OK() {
			t.Errorf("verify: %+v", rep.Mismatches)
		}
	})
}
