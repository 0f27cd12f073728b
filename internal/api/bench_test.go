package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// BenchmarkPutContact measures PUT /api/v1/contacts/{id} through real HTTP
// on PostgreSQL — authentication, validation against the document and the
// import's transaction — with 16 clients, each PUT changing a contact;
// PUT/s is the figure of issue 12's target (≥ 2,000). Run it with
// go test -run '^$' -bench PutContact -benchtime 20000x ./internal/api/
func BenchmarkPutContact(b *testing.B) {
	st := storetest.Open(b, store.Postgres)
	env := newEnv(b, st, true)
	seed(b, st)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var n atomic.Int64
	b.SetParallelism(8) // 8 × GOMAXPROCS clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			id := 1000 + i%5000 // later rounds update the first ones
			body := fmt.Sprintf(`{"customer_id":10,"name":"Kontakt %d","email":"k%d@schulz-technik.com"}`, i, id)
			req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("%s/api/v1/contacts/%d", env.srv.URL, id), strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+env.write)
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
				b.Errorf("PUT: %d", res.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "PUT/s")
}

// BenchmarkPutContactStore is BenchmarkPutContact's floor: the same writes
// as one-contact ImportCRM calls without HTTP, keys and validation, side by
// side with it.
func BenchmarkPutContactStore(b *testing.B) {
	st := storetest.Open(b, store.Postgres)
	seed(b, st)
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			id := 1000 + i%5000
			c := model.Contact{ID: id, CustomerID: 10, Name: fmt.Sprintf("Kontakt %d", i), Email: fmt.Sprintf("k%d@schulz-technik.com", id)}
			if _, err := st.ImportCRM(context.Background(), &crmfile.File{Contacts: []model.Contact{c}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "PUT/s")
}

// BenchmarkImportContactsAPI measures POST /api/v1/import of 1,000
// customers and 100,000 contacts (≈ 9 MB) on PostgreSQL through HTTP,
// including the validation of the body against the document. Run it with
// go test -run '^$' -bench ImportContactsAPI -benchtime 1x ./internal/api/
func BenchmarkImportContactsAPI(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"customers":[`)
	for c := 1; c <= 1000; c++ {
		if c > 1 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":%d,"number":"%d","name":"Kunde %d","email":"info@kunde%d.de"}`, c, 10000+c, c, c)
	}
	sb.WriteString(`],"contacts":[`)
	for c := 1; c <= 1000; c++ {
		for k := 0; k < 100; k++ {
			if c+k > 1 {
				sb.WriteByte(',')
			}
			id := c*100 + k
			fmt.Fprintf(&sb, `{"id":%d,"customer_id":%d,"name":"Kontakt %d","email":"kontakt%d@kunde%d.de"}`, id, c, id, k, c)
		}
	}
	sb.WriteString(`]}`)
	body := sb.String()
	b.SetBytes(int64(len(body)))
	for range b.N {
		b.StopTimer()
		st := storetest.Open(b, store.Postgres)
		env := newEnv(b, st, true)
		b.StartTimer()
		start := time.Now()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, env.srv.URL+"/api/v1/import", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+env.write)
		res, err := env.srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("import: %d", res.StatusCode)
		}
		b.ReportMetric(time.Since(start).Seconds(), "import_s")
	}
}
