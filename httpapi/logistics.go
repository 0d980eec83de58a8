package httpapi

import (
	"net/http"
	"strconv"

	"ecredit/account"
	"ecredit/errs"
	"ecredit/httpx"
	"ecredit/logistics"
)

// logisticsRoutes are the routes of logistics credit (M4): parcels and
// tracking events in bulk, a parcel's tracking, a firm's metrics and
// grade, and the public grade of a firm.
var logisticsRoutes = []Route{
	{"POST", "/api/v1/parcels/batch", (*API).batchParcels},
	{"POST", "/api/v1/parcels/events/batch", (*API).batchParcelEvents},
	{"GET", "/api/v1/parcels/{waybill}", (*API).getParcel},
	{"GET", "/api/v1/logistics/{id}/metrics", (*API).logisticsMetrics},
	{"GET", "/api/v1/public/logistics/{code}", (*API).publicLogistics},
}

func (a *API) logistics() (*logistics.Service, error) {
	if a.d.Logistics == nil {
		return nil, &errs.Error{Code: errs.Unavailable, Message: "物流信用服务未启用 (logistics is not configured)"}
	}
	return a.d.Logistics, nil
}

// LogisticsBatchResult is the answer to a parcel or event batch: counts
// and every line's result, in line order.
type LogisticsBatchResult struct {
	Created   int         `json:"created"`
	Updated   int         `json:"updated"`
	Unchanged int         `json:"unchanged"`
	Failed    int         `json:"failed"`
	Results   []BatchLine `json:"results"`
}

// logisticsBatch decodes a batch body (a JSON array or NDJSON, at most
// MaxBatchRows items) into T, ingests the good items with ingest and
// answers every line's fate.
func logisticsBatch[T any](a *API, w http.ResponseWriter, r *http.Request,
	ingest func(svc *logistics.Service, firm string, ins []T) ([]logistics.Result, error)) error {
	svc, err := a.logistics()
	if err != nil {
		return err
	}
	if ac := account.From(r.Context()); ac.Role == account.RolePublic {
		return &errs.Error{Code: errs.Unauthorized, Message: "需要 API 密钥 (authentication required)"}
	}
	p := newParams(r, "firm")
	firm := p.str("firm", 40)
	if err := p.err(); err != nil {
		return err
	}
	items, err := readBatch(r, MaxBody)
	if err != nil {
		return err
	}
	res := LogisticsBatchResult{Results: make([]BatchLine, len(items))}
	var ins []T
	var at []int
	for i, it := range items {
		var in T
		if err := httpx.DecodeJSONBytes(it.raw, &in); err != nil {
			res.Results[i] = a.batchError(r, it.line, err)
			continue
		}
		ins = append(ins, in)
		at = append(at, i)
	}
	if len(ins) > 0 {
		done, err := ingest(svc, firm, ins)
		if err != nil {
			return err
		}
		for k, d := range done {
			line := items[at[k]].line
			if d.Err != nil || d.Status == logistics.ResultError {
				res.Results[at[k]] = a.batchError(r, line, d.Err)
				continue
			}
			res.Results[at[k]] = BatchLine{Line: line, Status: d.Status, ID: d.ID}
		}
	}
	for _, l := range res.Results {
		switch l.Status {
		case logistics.ResultCreated:
			res.Created++
		case logistics.ResultUpdated:
			res.Updated++
		case logistics.ResultUnchanged:
			res.Unchanged++
		default:
			res.Failed++
		}
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

// batchParcels is POST /api/v1/parcels/batch?firm=: parcels, one
// logistics.ParcelInput a line (or array element).
func (a *API) batchParcels(w http.ResponseWriter, r *http.Request) error {
	return logisticsBatch(a, w, r, func(svc *logistics.Service, firm string, ins []logistics.ParcelInput) ([]logistics.Result, error) {
		return svc.IngestParcels(r.Context(), firm, ins)
	})
}

// batchParcelEvents is POST /api/v1/parcels/events/batch?firm=: tracking
// events, one logistics.EventInput a line (or array element).
func (a *API) batchParcelEvents(w http.ResponseWriter, r *http.Request) error {
	return logisticsBatch(a, w, r, func(svc *logistics.Service, firm string, ins []logistics.EventInput) ([]logistics.Result, error) {
		return svc.IngestEvents(r.Context(), firm, ins)
	})
}

// getParcel is GET /api/v1/parcels/{waybill}?firm=: a parcel and its
// tracking.
func (a *API) getParcel(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.logistics()
	if err != nil {
		return err
	}
	p := newParams(r, "firm")
	firm := p.str("firm", 40)
	if err := p.err(); err != nil {
		return err
	}
	v, err := svc.Parcel(r.Context(), firm, r.PathValue("waybill"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

// logisticsMetrics is GET /api/v1/logistics/{id}/metrics?days=: a firm's
// grade and metrics with its couriers.
func (a *API) logisticsMetrics(w http.ResponseWriter, r *http.Request) error {
	svc, err := a.logistics()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p := newParams(r, "days")
	days := 0
	if s := p.v.Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 730 {
			p.errs.Add("days", "参数 days 必须是 1–730 的整数 (days must be 1–730)")
		}
		days = n
	}
	if err := p.err(); err != nil {
		return err
	}
	rep, err := svc.Metrics(r.Context(), id, days)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// LogisticsPublic is the public grade of a logistics firm.
type LogisticsPublic struct {
	FirmID     int64  `json:"firm_id"`
	FirmName   string `json:"firm_name"`
	CreditCode string `json:"credit_code"`
	*logistics.Public
	Rules      []logistics.Rule `json:"rules"`
	DTreatment []string         `json:"d_treatment"`
}

// publicLogistics is GET /api/v1/public/logistics/{code}: the grade,
// metrics and treatment of the logistics firm with the credit code, with
// the grading rules in force.
func (a *API) publicLogistics(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.PublicLimiter.Check(w, r); err != nil {
		return err
	}
	svc, err := a.logistics()
	if err != nil {
		return err
	}
	c := r.PathValue("code")
	if len(c) > maxCodeInput {
		return errs.Field("code", "代码过长（最多 %d 字节）(code too long)", maxCodeInput)
	}
	if err := newParams(r).err(); err != nil {
		return err
	}
	sub, pub, err := svc.PublicGradeByCode(r.Context(), c)
	if err != nil {
		return err
	}
	pol := svc.PolicyInUse()
	httpx.WriteJSON(w, http.StatusOK, LogisticsPublic{FirmID: sub.ID, FirmName: sub.Name, CreditCode: sub.CreditCode, Public: pub,
		Rules: pol.Rules, DTreatment: pol.DTreatment})
	return nil
}
