package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"ecredit/sqlstore"
	"ecredit/sqlstore/storetest"
)

// BenchmarkCreateSubject measures POST /api/v1/subjects end to end (HTTP,
// auth, decoding, validation, store, audit) on both engines.
func BenchmarkCreateSubject(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		e := newEnv(b, db, envOpts{quiet: true})
		e.noCheck = true
		codes := make([]string, b.N)
		for i := range codes {
			codes[i] = mkUSCC(b, 10000+i)
		}
		client := e.srv.Client()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			body := fmt.Sprintf(`{"kind":"merchant","name":"基准商户%d","credit_code":"%s"}`, i, codes[i])
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/subjects", bytes.NewReader([]byte(body)))
			req.Header.Set("Authorization", "Bearer "+e.keys["dept"])
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 201 {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "subjects/s")
	})
}

// BenchmarkBatch measures POST /api/v1/subjects/batch with 1000 lines.
func BenchmarkBatch(b *testing.B) {
	storetest.RunB(b, func(b *testing.B, db *sqlstore.DB) {
		e := newEnv(b, db, envOpts{quiet: true})
		e.noCheck = true
		bodies := make([][]byte, b.N)
		for i := range bodies {
			var buf bytes.Buffer
			for j := 0; j < MaxBatchRows; j++ {
				fmt.Fprintf(&buf, `{"kind":"merchant","name":"批量%d-%d","credit_code":"%s"}`+"\n", i, j, mkUSCC(b, 100000+i*MaxBatchRows+j))
			}
			bodies[i] = buf.Bytes()
		}
		client := e.srv.Client()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/subjects/batch", bytes.NewReader(bodies[i]))
			req.Header.Set("Authorization", "Bearer "+e.keys["dept"])
			req.Header.Set("Content-Type", "application/x-ndjson")
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var br BatchResult
			err = json.NewDecoder(res.Body).Decode(&br)
			res.Body.Close()
			if err != nil || res.StatusCode != 200 || br.Created != MaxBatchRows {
				b.Fatalf("status %d, created %d, failed %d: %v", res.StatusCode, br.Created, br.Failed, err)
			}
		}
		b.ReportMetric(float64(b.N*MaxBatchRows)/b.Elapsed().Seconds(), "subjects/s")
	})
}
