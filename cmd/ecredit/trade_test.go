package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tradeEndToEnd checks the demo city's orders and reviews through the real
// binary: a demo platform lists its orders, reports one more and sees it
// come back unchanged, and the public sees the shop's reputation as JSON
// and as the portal's ratings page.
func tradeEndToEnd(t *testing.T, srv *server, platformKey string) {
	c, body, _ := request(t, "GET", srv.url+"api/v1/orders?limit=5", platformKey, nil)
	var page struct {
		Items []struct {
			ID     int64  `json:"id"`
			ShopID int64  `json:"shop_id"`
			Buyer  string `json:"buyer"`
		} `json:"items"`
	}
	if c != http.StatusOK || json.Unmarshal(body, &page) != nil || len(page.Items) == 0 {
		t.Fatalf("GET /api/v1/orders = %d %.300s", c, body)
	}
	shop := page.Items[0].ShopID
	in := map[string]any{"order_no": "E2E-1", "shop_id": shop, "buyer": "e2e_buyer", "amount_fen": 1990,
		"items":   []map[string]any{{"gtin": "6901234567892", "quantity": 1, "price_fen": 1990}},
		"paid_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}
	if c, body, _ := request(t, "POST", srv.url+"api/v1/orders", platformKey, in); c != http.StatusCreated {
		t.Fatalf("POST /api/v1/orders = %d %s", c, body)
	}
	if c, body, _ := request(t, "POST", srv.url+"api/v1/orders", platformKey, in); c != http.StatusOK || !strings.Contains(string(body), `"unchanged"`) {
		t.Errorf("resubmitted order = %d %.200s", c, body)
	}
	c, body, _ = request(t, "GET", fmt.Sprintf("%sapi/v1/public/shops/%d", srv.url, shop), "", nil)
	if c != http.StatusOK || !strings.Contains(string(body), `"positive_rate"`) || !strings.Contains(string(body), `"level"`) {
		t.Errorf("public shop = %d %.300s", c, body)
	}
	c, body, _ = request(t, "GET", fmt.Sprintf("%sshops/%d", srv.url, shop), "", nil)
	if c != http.StatusOK || !strings.Contains(string(body), "好评率") || !strings.Contains(string(body), "物流服务质量") {
		t.Errorf("shop page = %d", c)
	}
}
