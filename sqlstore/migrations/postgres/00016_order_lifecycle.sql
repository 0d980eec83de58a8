-- An order's lifecycle (全过程留痕, M10, issue 3), kept in step across the
-- two engines. trace.Service.Backward gathers the trace events that name
-- an order (ref_type 'order') and the listings of its batches in its shop.
-- A busy batch may hold an event for every sale, so neither is read by
-- scanning the batch's events: two partial indexes hold just these.

-- +goose Up
CREATE INDEX trace_events_order_ref_idx ON trace_events (ref, at, id) WHERE ref_type = 'order';
CREATE INDEX trace_events_listed_idx ON trace_events (gtin, batch, shop_id, at, id) WHERE type = 'listed';

-- +goose Down
DROP INDEX trace_events_listed_idx;
DROP INDEX trace_events_order_ref_idx;
