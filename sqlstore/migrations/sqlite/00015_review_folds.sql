-- Folded reviews (M5, issue 3), kept in step across the two engines. A
-- platform may fold a review with a stated reason, never delete it; the
-- authorities watch what platforms fold (the console's 评价折叠 page,
-- trade.Service.FoldStats and FoldedReviews). Folds are rare, so a partial
-- index holds only the folded reviews, newest fold first: listing them, and
-- counting them by platform and rating, never reads the other reviews.

-- +goose Up
CREATE INDEX reviews_folded_idx ON reviews (folded_at, id) WHERE folded_at <> 0;

-- +goose Down
DROP INDEX reviews_folded_idx;
