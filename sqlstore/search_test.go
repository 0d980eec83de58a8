package sqlstore_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"ecredit/account"
	"ecredit/demo"
	"ecredit/disclosure"
	"ecredit/errs"
	"ecredit/registry"
	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

func names(vs []registry.SubjectView) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}

func TestSearchSubjects(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		keys := testKeys(t)
		var subs []*registry.Subject
		add := func(n int, kind registry.Kind, name, region string) *registry.Subject {
			s := org(t, n, kind, name, region)
			subs = append(subs, s)
			return s
		}
		beijing := add(1, registry.KindMerchant, "北京东方红商贸有限公司", "130802")
		shanzha := add(2, registry.KindMerchant, "山楂树下食品店", "130821")
		chengdeShanzha := add(3, registry.KindMerchant, "承德山楂食品有限公司", "130802")
		jdLogistics := add(4, registry.KindLogistics, "京东物流承德分公司", "130802")
		jd := add(5, registry.KindPlatform, "京东", "130802")
		chengdeJD := add(6, registry.KindMerchant, "承德京东电子商务有限公司", "130803")
		abc := add(7, registry.KindService, "ABC科技（承德）有限公司", "130802")
		if err := db.CreateSubjects(ctx, subs, nil); err != nil { // the batch path indexes too
			t.Fatal(err)
		}
		seller := mustCreate(t, db, person(t, keys, 8, registry.KindSeller, "张三丰", "13900139000"))
		svc := &disclosure.Service{Store: db}

		tests := []struct {
			q      string
			kind   registry.Kind
			region string
			want   []string
			byCode bool
		}{
			// exact name first, then the name prefix, then by id
			{q: "京东", want: []string{jd.Name, jdLogistics.Name, beijing.Name, chengdeJD.Name}},
			{q: "京 东", want: []string{jd.Name, jdLogistics.Name, beijing.Name, chengdeJD.Name}},
			{q: "京东", kind: registry.KindMerchant, want: []string{beijing.Name, chengdeJD.Name}},
			{q: "京东", region: "130803", want: []string{chengdeJD.Name}},
			{q: "山楂", want: []string{shanzha.Name, chengdeShanzha.Name}},
			{q: "承德山楂", want: []string{chengdeShanzha.Name}},
			{q: "楂树", want: []string{shanzha.Name}},            // a partial name
			{q: "食品有限公司", want: []string{chengdeShanzha.Name}}, // every bigram must match
			{q: "abc", want: []string{abc.Name}},
			{q: "ＡＢＣ 科技", want: []string{abc.Name}}, // full-width folded
			{q: "abc 山楂", want: nil},
			{q: "京东方", want: []string{beijing.Name}},
			{q: "淘宝", want: nil},
			{q: strings.ToLower(chengdeJD.CreditCode), want: []string{chengdeJD.Name}, byCode: true},
			{q: "京东 物", want: []string{jdLogistics.Name}}, // spaces between CJK characters are ignored
			{q: "abc 京", want: []string{abc.Name}},        // a lone CJK character next to a longer token is dropped
		}
		for _, tc := range tests {
			page, err := svc.Search(ctx, disclosure.SearchQuery{Q: tc.q, Kind: tc.kind, Region: tc.region})
			if err != nil {
				t.Errorf("Search(%q): %v", tc.q, err)
				continue
			}
			if got := names(page.Results); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("Search(%q kind=%q region=%q) = %q, want %q", tc.q, tc.kind, tc.region, got, tc.want)
			}
			if page.ByCode != tc.byCode || page.More {
				t.Errorf("Search(%q): ByCode=%v More=%v", tc.q, page.ByCode, page.More)
			}
		}

		// A person is found only by the masked name shown to the public,
		// never by the real one, and the view carries no phone.
		page, err := svc.Search(ctx, disclosure.SearchQuery{Q: "三丰"})
		if err != nil || len(page.Results) != 0 {
			t.Fatalf("search by a person's real name: %v, %v", page, err)
		}
		if v := disclosure.PublicView(seller, t0); v.Phone != "" || strings.Contains(v.Name, "三丰") {
			t.Fatalf("public view of a person leaks: %+v", v)
		}

		// Bad input names the field.
		for _, q := range []string{"", "   ", "！？。", "京", "---", strings.Repeat("京东", 51), "91130802MA0TEST01X"} {
			_, err := svc.Search(ctx, disclosure.SearchQuery{Q: q})
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "q" {
				t.Errorf("Search(%q) error = %v (field %q), want invalid on q", q, err, errs.FieldOf(err))
			}
		}
		for _, q := range []disclosure.SearchQuery{{Q: "京东", Kind: "bank"}, {Q: "京东", Region: "13x"}, {Q: "京东", Limit: 1000}, {Q: "京东", Offset: -1}} {
			_, err := svc.Search(ctx, q)
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) == "" {
				t.Errorf("Search(%+v) error = %v, want invalid naming a field", q, err)
			}
		}

		// A rename moves the subject in the index, in the same transaction.
		chengdeShanzha.Name = "承德山货食品有限公司"
		if err := db.UpdateSubject(ctx, chengdeShanzha, nil); err != nil {
			t.Fatal(err)
		}
		if page, _ := svc.Search(ctx, disclosure.SearchQuery{Q: "承德山楂"}); len(page.Results) != 0 {
			t.Fatalf("old name still found: %q", names(page.Results))
		}
		if page, _ := svc.Search(ctx, disclosure.SearchQuery{Q: "山货"}); !slices.Equal(names(page.Results), []string{chengdeShanzha.Name}) {
			t.Fatalf("new name: %q", names(page.Results))
		}

		// Reindex rebuilds an emptied index; EnsureSearchIndex notices.
		if _, err := db.WriterDB().ExecContext(ctx, "DELETE FROM subject_search"); err != nil {
			t.Fatal(err)
		}
		// (names that start with the query are found through the name
		// index, the other matches only through the search index)
		if page, _ := svc.Search(ctx, disclosure.SearchQuery{Q: "京东"}); !slices.Equal(names(page.Results), []string{jd.Name, jdLogistics.Name}) {
			t.Fatalf("emptied index finds %q", names(page.Results))
		}
		rebuilt, err := db.EnsureSearchIndex(ctx)
		if err != nil || !rebuilt {
			t.Fatalf("EnsureSearchIndex = %v, %v; want a rebuild", rebuilt, err)
		}
		if rebuilt, err := db.EnsureSearchIndex(ctx); err != nil || rebuilt {
			t.Fatalf("second EnsureSearchIndex = %v, %v; want nothing to do", rebuilt, err)
		}
		if page, _ := svc.Search(ctx, disclosure.SearchQuery{Q: "京东"}); len(page.Results) != 4 {
			t.Fatalf("after reindex: %q", names(page.Results))
		}
	})
}

func TestSearchPagination(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		var subs []*registry.Subject
		for i := range 25 {
			subs = append(subs, org(t, 100+i, registry.KindMerchant, fmt.Sprintf("承德避暑山庄特产店%02d", i), "130802"))
		}
		if err := db.CreateSubjects(ctx, subs, nil); err != nil {
			t.Fatal(err)
		}
		svc := &disclosure.Service{Store: db}
		var got []string
		for _, want := range []struct {
			offset, n int
			more      bool
		}{{0, 10, true}, {10, 10, true}, {20, 5, false}} {
			page, err := svc.Search(ctx, disclosure.SearchQuery{Q: "避暑山庄", Limit: 10, Offset: want.offset})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Results) != want.n || page.More != want.more {
				t.Fatalf("offset %d: %d results more=%v, want %d more=%v", want.offset, len(page.Results), page.More, want.n, want.more)
			}
			got = append(got, names(page.Results)...)
		}
		var want []string
		for _, s := range subs {
			want = append(want, s.Name)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pages = %q\nwant %q", got, want)
		}
	})
}

// BenchmarkSearch measures name search over a demo city (ecredit/demo) of
// ECREDIT_BENCH_SUBJECTS subjects (default 200,000), one generation per
// engine, reporting ms/query for:
//
//   - partial: 2–4 consecutive characters from the middle of a real name
//     (山楂, 避暑山 …), the typical public query;
//
//   - exact: a full name;
//
//   - broad: 承德, which occurs in most names of the demo city (the worst
//     case: ranking sorts every match);
//
//   - code: a full credit code;
//
//   - ceiling: FindSubjectByCode, a primary-key-like lookup, the floor any
//     search is compared with.
//
//     scripts/test.sh ./sqlstore/ -run '^$' -bench Search -benchtime 200x
//     ECREDIT_BENCH_SUBJECTS=1000000 scripts/test.sh ./sqlstore/ -run '^$' -bench Search -benchtime 200x -timeout 2h
func BenchmarkSearch(b *testing.B) {
	n := 200_000
	if s := os.Getenv("ECREDIT_BENCH_SUBJECTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < demo.MinSubjects {
			b.Fatalf("ECREDIT_BENCH_SUBJECTS=%q: want an integer ≥ %d", s, demo.MinSubjects)
		}
		n = v
	}
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		sysCtx := account.With(ctx, account.System)
		start := time.Now()
		if _, err := demo.Generate(sysCtx, db, testKeys(b), demo.Options{Seed: 1, Subjects: n}); err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: generated %d subjects in %s", db.Engine(), n, time.Since(start).Round(time.Second))
		// Sample real names and codes.
		subs, err := db.ListSubjects(ctx, registry.Filter{Kind: registry.KindMerchant, Limit: 5000})
		if err != nil || len(subs) == 0 {
			b.Fatalf("sample: %d %v", len(subs), err)
		}
		var partial, exact, codes []string
		for i, s := range subs {
			rs := []rune(s.Name)
			if len(rs) >= 6 {
				l := 2 + i%3
				at := 2 + i%(len(rs)-l-1)
				partial = append(partial, string(rs[at:at+l]))
			}
			exact = append(exact, s.Name)
			if s.CreditCode != "" {
				codes = append(codes, s.CreditCode)
			}
		}
		svc := &disclosure.Service{Store: db}
		run := func(name string, qs []string) {
			b.Run(name, func(b *testing.B) {
				i, found := 0, 0
				for b.Loop() {
					page, err := svc.Search(ctx, disclosure.SearchQuery{Q: qs[i%len(qs)]})
					if err != nil {
						b.Fatal(err)
					}
					found += len(page.Results)
					i++
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
				b.ReportMetric(float64(found)/float64(b.N), "results/query")
			})
		}
		run("partial", partial)
		run("exact", exact)
		run("broad", []string{"承德"})
		run("code", codes)
		b.Run("ceiling", func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := db.FindSubjectByCode(ctx, codes[i%len(codes)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
		})
	})
}
