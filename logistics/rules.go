package logistics

import (
	"time"

	"ecredit/clock"
	"ecredit/errs"
)

func when(t time.Time) string { return t.In(clock.Shanghai).Format("2006-01-02 15:04:05") }

// Apply checks that ev is possible for p as it stands and, if it is,
// folds it into p's state. Events may arrive out of time order (a late
// in-transit scan is fine); what cannot have happened is refused: a
// signature before the pickup or the last dispatch, transport after the
// signature or the return, a second signature or pickup at another time.
// Re-applying an event already folded leaves p as it was only for the
// time-keyed fields; callers fold only events that are not stored yet
// (see Store.StoredEvents).
func Apply(p *Parcel, ev *Event) error {
	at := ev.At
	before := func(t time.Time) bool { return !t.IsZero() && at.Before(t) }
	after := func(t time.Time) bool { return !t.IsZero() && at.After(t) }
	switch ev.Type {
	case EventPickedUp:
		switch {
		case !p.PickedAt.IsZero() && !p.PickedAt.Equal(at):
			return errs.Field("at", "运单已于 %s 揽收，不能再次揽收 (already picked up at another time)", when(p.PickedAt))
		case after(p.SignedAt):
			return errs.Field("at", "揽收时间 %s 晚于签收时间 %s (pickup after signature)", when(at), when(p.SignedAt))
		case after(p.OutAt):
			return errs.Field("at", "揽收时间 %s 晚于派送时间 %s (pickup after dispatch)", when(at), when(p.OutAt))
		case after(p.ReturnedAt):
			return errs.Field("at", "揽收时间 %s 晚于退回时间 %s (pickup after return)", when(at), when(p.ReturnedAt))
		}
		p.PickedAt = at
	case EventInTransit, EventOutForDelivery:
		switch {
		case before(p.PickedAt):
			return errs.Field("at", "%s时间 %s 早于揽收时间 %s (before pickup)", ev.Type.Label(), when(at), when(p.PickedAt))
		case after(p.SignedAt):
			return errs.Field("at", "运单已于 %s 签收，之后不能再有%s事件 (transport after signature)", when(p.SignedAt), ev.Type.Label())
		case after(p.ReturnedAt):
			return errs.Field("at", "运单已于 %s 退回，之后不能再有%s事件 (transport after return)", when(p.ReturnedAt), ev.Type.Label())
		}
		if ev.Type == EventOutForDelivery && at.After(p.OutAt) {
			p.OutAt = at
		}
	case EventSigned:
		switch {
		case !p.SignedAt.IsZero() && !p.SignedAt.Equal(at):
			return errs.Field("at", "运单已于 %s 签收，不能再次签收 (already signed)", when(p.SignedAt))
		case !p.ReturnedAt.IsZero():
			return errs.Field("type", "运单已于 %s 退回，不能再签收 (parcel was returned)", when(p.ReturnedAt))
		case before(p.PickedAt):
			return errs.Field("at", "签收时间 %s 早于揽收时间 %s (signed before pickup)", when(at), when(p.PickedAt))
		case before(p.OutAt):
			return errs.Field("at", "签收时间 %s 早于派送时间 %s (signed before dispatch)", when(at), when(p.OutAt))
		}
		p.SignedAt, p.SignedBy = at, ev.Detail
	case EventReturned:
		switch {
		case !p.SignedAt.IsZero():
			return errs.Field("type", "运单已于 %s 签收，不能退回；退货请使用新运单 (a signed parcel cannot be returned)", when(p.SignedAt))
		case !p.ReturnedAt.IsZero() && !p.ReturnedAt.Equal(at):
			return errs.Field("at", "运单已于 %s 退回 (already returned)", when(p.ReturnedAt))
		case before(p.PickedAt):
			return errs.Field("at", "退回时间 %s 早于揽收时间 %s (returned before pickup)", when(at), when(p.PickedAt))
		}
		p.ReturnedAt = at
	case EventException:
		if before(p.PickedAt) {
			return errs.Field("at", "异常时间 %s 早于揽收时间 %s (exception before pickup)", when(at), when(p.PickedAt))
		}
		switch ev.Detail {
		case "lost":
			p.Lost = true
		case "damaged":
			p.Damaged = true
		}
		p.Exceptions++
	case EventComplaint:
		p.Complaints++
	default:
		return errs.Field("type", "未知的事件类型「%s」(unknown event type)", ev.Type)
	}
	p.Events++
	if ev.Type != EventComplaint && !at.Before(p.LastEventAt) {
		p.LastEventAt, p.Status = at, ev.Type
	}
	derive(p)
	return nil
}

// derive sets the state that follows from the rest: the start of the
// parcel and whether its chain has a gap (signed without being out for
// delivery).
func derive(p *Parcel) {
	p.StartedAt = p.PickedAt
	if p.StartedAt.IsZero() {
		p.StartedAt = p.CreatedAt
	}
	p.Gap = !p.SignedAt.IsZero() && p.OutAt.IsZero()
	if p.Status == "" {
		p.Status = StatusCreated
	}
}
