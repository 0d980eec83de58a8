package demo

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"ecredit/audit"
	"ecredit/code"
	"ecredit/logistics"
	"ecredit/registry"
	"ecredit/sqlstore"
)

// ParcelCounts are what the logistics generator wrote.
type ParcelCounts struct {
	Parcels, Events int
	Grades          map[logistics.Grade]int // firms by grade
}

// MaxDemoParcels bounds the parcels of a (very large) demo city.
const MaxDemoParcels = 200_000

// parcelsPerSubject: a 5,000-subject city gets 10,000 parcels.
const parcelsPerSubject = 2

// firmProfile is how well a demo firm works: each firm draws one, so that
// the city shows every grade.
type firmProfile struct {
	late, lost, damaged, complaint, gap, ret float64
}

var firmProfiles = []firmProfile{
	{late: 0.02, lost: 0.0002, damaged: 0.0003, complaint: 0.001, gap: 0.003, ret: 0.01},  // an A firm
	{late: 0.04, lost: 0.0005, damaged: 0.0005, complaint: 0.0015, gap: 0.01, ret: 0.012}, // A or B
	{late: 0.08, lost: 0.001, damaged: 0.0015, complaint: 0.004, gap: 0.03, ret: 0.015},   // B
	{late: 0.15, lost: 0.003, damaged: 0.004, complaint: 0.008, gap: 0.06, ret: 0.02},     // C
	{late: 0.25, lost: 0.006, damaged: 0.008, complaint: 0.02, gap: 0.12, ret: 0.03},      // D
}

// pickupHour draws the hour of a pickup: a daily cycle with the morning
// and afternoon rounds, little at night.
func pickupHour(rng *rand.Rand) int {
	weights := [24]float64{0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1, 2, 4, 5, 5, 3, 3, 4, 5, 6, 6, 4, 2, 1.5, 1, 0.6, 0.3}
	var total float64
	for _, w := range weights {
		total += w
	}
	x := rng.Float64() * total
	for h, w := range weights {
		if x -= w; x < 0 {
			return h
		}
	}
	return 12
}

// listKind returns the ids of every subject of a kind, ascending.
func listKind(ctx context.Context, store *sqlstore.DB, k registry.Kind) ([]int64, error) {
	var out []int64
	err := eachSubject(ctx, store, k, func(s *registry.Subject) error {
		out = append(out, s.ID)
		return nil
	})
	return out, err
}

// eachSubject calls fn with every subject of kind k, by id, a page at a
// time.
func eachSubject(ctx context.Context, store *sqlstore.DB, k registry.Kind, fn func(*registry.Subject) error) error {
	var after int64
	for {
		subs, err := store.ListSubjects(ctx, registry.Filter{Kind: k, After: after, Limit: 5000})
		if err != nil {
			return err
		}
		for _, s := range subs {
			if err := fn(s); err != nil {
				return err
			}
		}
		if len(subs) < 5000 {
			return nil
		}
		after = subs[len(subs)-1].ID
	}
}

// writeParcels generates the parcels and tracking events of the city's
// logistics firms over the last 90 days: pickups on a daily cycle, most
// parcels delivered on time, a few late, rare losses, damage and
// complaints, some tracking with a step missing, couriers of each firm
// (registered couriers by subject, all by the firm's courier code). The
// events go through logistics.Apply and the store's batch paths, as
// reported data would.
func writeParcels(ctx context.Context, store *sqlstore.DB, seed int64, subjects int, now time.Time, progress io.Writer) (ParcelCounts, error) {
	pc := ParcelCounts{Grades: map[logistics.Grade]int{}}
	firms, err := listKind(ctx, store, registry.KindLogistics)
	if err != nil || len(firms) == 0 {
		return pc, err
	}
	couriers, err := listKind(ctx, store, registry.KindCourier)
	if err != nil {
		return pc, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x10915))
	total := min(subjects*parcelsPerSubject, MaxDemoParcels)
	chengde := code.Regions("1308")
	all := code.Regions("")
	region := func(local bool) string {
		if local || len(all) == 0 {
			return chengde[rng.IntN(len(chengde))].Code
		}
		return all[rng.IntN(len(all))].Code
	}
	// Firm sizes follow a Zipf-like law: the first firms carry most.
	weights := make([]float64, len(firms))
	var wsum float64
	for i := range weights {
		weights[i] = 1 / math.Pow(float64(i+1), 0.8)
		wsum += weights[i]
	}
	entry := func(what string) *audit.Entry {
		return &audit.Entry{ActorName: "system", Role: "admin", Action: audit.ActCreate, Object: "demo:logistics", Detail: what, Via: "system"}
	}
	ships, err := orderShipments(ctx, store)
	if err != nil {
		return pc, err
	}
	seq := 0
	for fi, firm := range firms {
		prof := firmProfiles[rng.IntN(len(firmProfiles))]
		n := int(float64(total) * weights[fi] / wsum)
		mineShips := ships[firm]
		n = max(n, min(len(mineShips), MaxDemoParcels/len(firms)))
		// The firm's couriers: every len(firms)-th courier of the city.
		var mine []int64
		for ci := fi; ci < len(couriers); ci += len(firms) {
			mine = append(mine, couriers[ci])
		}
		for start := 0; start < n; start += 250 {
			size := min(250, n-start)
			ps := make([]*logistics.Parcel, 0, size)
			evs := make([]*logistics.Event, 0, 4*size)
			for k := range size {
				seq++
				day := rng.IntN(90)
				pick := time.Date(now.Year(), now.Month(), now.Day(), pickupHour(rng), rng.IntN(60), 0, 0, time.UTC).
					Add(-8*time.Hour).AddDate(0, 0, -day) // the hour is Beijing time
				if pick.After(now) {
					pick = pick.AddDate(0, 0, -1)
				}
				local := rng.Float64() < 0.3
				waybill, dest := fmt.Sprintf("CD%02d%09d", fi%100, seq), region(local)
				// The firm's first parcels are the orders it carried: the
				// same waybill, picked up when the order shipped, to the
				// order's region.
				var ship *shipment
				if j := start + k; j < len(mineShips) {
					ship = &mineShips[j]
					waybill, dest, pick = ship.waybill, ship.dest, ship.shipped
					local = strings.HasPrefix(dest, "1308")
				}
				promise := 72 * time.Hour
				if local {
					promise = 24 * time.Hour
				}
				p := &logistics.Parcel{FirmID: firm, Waybill: waybill, WeightG: int64(200 + rng.ExpFloat64()*1500),
					Origin: region(true), Dest: dest, PromisedAt: pick.Add(promise), Status: logistics.StatusCreated,
					CreatedAt: pick.Add(-time.Duration(rng.IntN(120)) * time.Minute), Version: 1}
				p.UpdatedAt = p.CreatedAt
				cc := ""
				if len(mine) > 0 {
					// The firm's registered couriers are reported with
					// their ID number on every parcel; a third as many
					// again work under the firm's code alone.
					ci := rng.IntN(len(mine) + (len(mine)+2)/3)
					cc = fmt.Sprintf("C%04d", ci+1)
					p.CourierCode = cc
					if ci < len(mine) {
						p.CourierID = mine[ci]
					}
				}
				ps = append(ps, p)
				// The journey.
				dur := time.Duration(float64(promise) * (0.35 + 0.45*rng.Float64()))
				if rng.Float64() < prof.late {
					dur = promise + time.Duration(rng.ExpFloat64()*float64(20*time.Hour)) + time.Hour
				}
				at := func(d time.Duration) time.Time { return pick.Add(d) }
				add := func(t logistics.EventType, d time.Duration, detail, reg string) {
					if at(d).After(now) {
						return
					}
					ev := &logistics.Event{Type: t, At: at(d), Detail: detail, Region: reg, CourierCode: cc, RecordedAt: now}
					if t == logistics.EventComplaint {
						ev.Note = "快件延误、服务态度差"
					}
					evs = append(evs, ev)
				}
				add(logistics.EventPickedUp, 0, "", p.Origin)
				if ship != nil {
					// An order's parcel goes as the order says: signed when
					// it was signed (on the promised time as often as the
					// firm keeps it), on its way when shipped lately, else
					// refused and returned.
					switch {
					case !ship.signed.IsZero() && ship.signed.After(pick):
						dur = ship.signed.Sub(pick)
						p.PromisedAt = pick.Add(max(promise, dur+time.Hour))
						if rng.Float64() < prof.late {
							p.PromisedAt = pick.Add(dur * 3 / 4)
						}
						add(logistics.EventInTransit, dur/3, "", p.Origin[:4]+"00")
						add(logistics.EventOutForDelivery, dur-min(90*time.Minute, dur/4), "", p.Dest)
						add(logistics.EventSigned, dur, []string{"recipient", "recipient", "locker", "proxy"}[rng.IntN(4)], p.Dest)
					case now.Sub(pick) < 5*24*time.Hour:
						add(logistics.EventInTransit, 3*time.Hour, "", p.Origin[:4]+"00")
					default:
						add(logistics.EventInTransit, 3*time.Hour, "", p.Origin[:4]+"00")
						add(logistics.EventException, 48*time.Hour, "refused", p.Dest)
						add(logistics.EventReturned, 96*time.Hour, "", p.Origin)
					}
					continue
				}
				add(logistics.EventInTransit, dur/3, "", p.Origin[:4]+"00")
				x := rng.Float64()
				switch {
				case x < prof.lost:
					add(logistics.EventException, dur/2, "lost", "")
				case x < prof.lost+prof.ret:
					add(logistics.EventException, dur*2/3, "refused", p.Dest)
					add(logistics.EventReturned, dur+24*time.Hour, "", p.Origin)
				default:
					if rng.Float64() >= prof.gap {
						add(logistics.EventOutForDelivery, dur-90*time.Minute, "", p.Dest)
					}
					by := "recipient"
					if y := rng.Float64(); y < 0.35 {
						by = "locker"
					} else if y < 0.45 {
						by = "proxy"
					}
					add(logistics.EventSigned, dur, by, p.Dest)
					if rng.Float64() < prof.damaged {
						add(logistics.EventException, dur+2*time.Hour, "damaged", p.Dest)
					}
				}
				if rng.Float64() < prof.complaint {
					add(logistics.EventComplaint, dur+3*time.Hour, "", "")
				}
			}
			if err := store.SaveParcels(ctx, ps, entry("演示运单 (demo parcels)")); err != nil {
				return pc, err
			}
			// Each parcel's events start with its pickup.
			pi := -1
			for _, e := range evs {
				if e.Type == logistics.EventPickedUp {
					pi++
				}
				e.ParcelID = ps[pi].ID
			}
			byID := make(map[int64]*logistics.Parcel, len(ps))
			for _, p := range ps {
				byID[p.ID] = p
			}
			for _, e := range evs {
				_ = logistics.Apply(byID[e.ParcelID], e)
			}
			if err := store.AppendEvents(ctx, evs, ps, entry("演示物流轨迹 (demo tracking events)")); err != nil {
				return pc, err
			}
			pc.Parcels += len(ps)
			pc.Events += len(evs)
		}
	}
	svc := &logistics.Service{Store: store, Subjects: store, Clock: fixedClock(now)}
	for _, f := range firms {
		sub, err := store.GetSubject(ctx, f)
		if err != nil {
			return pc, err
		}
		g, err := svc.PublicGrade(ctx, sub)
		if err != nil {
			return pc, err
		}
		pc.Grades[g.Grade]++
	}
	if progress != nil {
		fmt.Fprintf(progress, "物流：%d 家物流企业的运单 %d 件、轨迹事件 %d 条；评级 A %d、B %d、C %d、D %d、暂不评级 %d\n",
			len(firms), pc.Parcels, pc.Events, pc.Grades[logistics.GradeA], pc.Grades[logistics.GradeB], pc.Grades[logistics.GradeC],
			pc.Grades[logistics.GradeD], pc.Grades[logistics.GradeNone])
	}
	return pc, nil
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// shipment is an order a logistics firm carried.
type shipment struct {
	waybill, dest   string
	shipped, signed time.Time
}

// orderShipments returns the shipped orders of the city by carrier, in
// order of id.
func orderShipments(ctx context.Context, store *sqlstore.DB) (map[int64][]shipment, error) {
	rows, err := store.ReaderDB().QueryContext(ctx, `SELECT carrier_id, waybill, region, shipped_at, signed_at FROM orders
		WHERE waybill <> '' AND carrier_id <> 0 AND shipped_at > 0 ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]shipment{}
	for rows.Next() {
		var firm, shipped, signed int64
		var s shipment
		if err := rows.Scan(&firm, &s.waybill, &s.dest, &shipped, &signed); err != nil {
			return nil, err
		}
		if !code.KnownRegion(s.dest) {
			continue
		}
		s.shipped = time.UnixMicro(shipped).UTC()
		if signed > 0 {
			s.signed = time.UnixMicro(signed).UTC()
		}
		out[firm] = append(out[firm], s)
	}
	return out, rows.Err()
}
