-- Rolling windows of a shop's reviews (M5): Taobao's 信用评价 table (最近1周,
-- 最近1个月, 最近6个月, 6个月前, 总计), the six-month 好评率 and the
-- six-month detailed ratings. Kept column for column identical to
-- ../sqlite/00012_review_windows.sql. Package trade owns the meaning;
-- sqlstore/trade_rolling.go reads it.
--
--   * review_days is the running sum per shop and calendar day
--     (Asia/Shanghai, UTC+8 without daylight saving: day = (created_at +
--     8 h) / 24 h in microseconds) of the counted, unfolded reviews — the
--     reviews shop_scores (00006) sums for life — by rating, with the
--     detailed ratings' count and sums. Triggers keep it: a review written
--     counted and unfolded is added to its day, a fold takes it out, in the
--     statement that writes the review (so in its transaction, whoever
--     writes it: the store, the demo's bulk insert).
--   * A window is then the days strictly inside it from review_days (about
--     180 rows for six months, however many reviews) plus the reviews of
--     its first and last day read exactly from reviews_window_idx, a
--     partial covering index on the same condition (a fold takes the
--     review out of it).
--   * What lies before the six months (6个月前) is the lifetime tally
--     (shop_scores) minus the six months, read in the same statement.
--   * Existing reviews are summed into review_days here.

-- +goose Up
CREATE INDEX reviews_window_idx ON reviews (shop_id, created_at, rating, dsr_counted, description, service, logistics)
    WHERE counted = 1 AND folded_at = 0;

CREATE TABLE review_days (
    shop_id          BIGINT  NOT NULL REFERENCES shops (id),
    day              INTEGER NOT NULL,
    positive         INTEGER NOT NULL DEFAULT 0,
    neutral          INTEGER NOT NULL DEFAULT 0,
    negative         INTEGER NOT NULL DEFAULT 0,
    dsr_count        INTEGER NOT NULL DEFAULT 0,
    description_sum  BIGINT  NOT NULL DEFAULT 0,
    service_sum      BIGINT  NOT NULL DEFAULT 0,
    logistics_sum    BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (shop_id, day)
);

INSERT INTO review_days (shop_id, day, positive, neutral, negative, dsr_count, description_sum, service_sum, logistics_sum)
SELECT shop_id, (created_at + 28800000000) / 86400000000,
       SUM(CASE WHEN rating = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN rating = 0 THEN 1 ELSE 0 END),
       SUM(CASE WHEN rating = -1 THEN 1 ELSE 0 END), SUM(dsr_counted), SUM(dsr_counted * description),
       SUM(dsr_counted * service), SUM(dsr_counted * logistics)
FROM reviews WHERE counted = 1 AND folded_at = 0
GROUP BY shop_id, (created_at + 28800000000) / 86400000000;

-- On PostgreSQL the insert trigger is per statement, over the inserted
-- rows (a transition table), so a multi-row INSERT of reviews costs one
-- grouped upsert, not one per review; the fold trigger is per row (folds
-- come one at a time, and a trigger on a column list takes no transition
-- table).

-- +goose StatementBegin
CREATE FUNCTION ecredit_review_days_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO review_days (shop_id, day, positive, neutral, negative, dsr_count, description_sum, service_sum, logistics_sum)
    SELECT shop_id, (created_at + 28800000000) / 86400000000,
           SUM(CASE WHEN rating = 1 THEN 1 ELSE 0 END), SUM(CASE WHEN rating = 0 THEN 1 ELSE 0 END),
           SUM(CASE WHEN rating = -1 THEN 1 ELSE 0 END), SUM(dsr_counted), SUM(dsr_counted * description),
           SUM(dsr_counted * service), SUM(dsr_counted * logistics)
    FROM new_reviews WHERE counted = 1 AND folded_at = 0
    GROUP BY shop_id, (created_at + 28800000000) / 86400000000
    ON CONFLICT (shop_id, day) DO UPDATE SET positive = review_days.positive + excluded.positive,
        neutral = review_days.neutral + excluded.neutral, negative = review_days.negative + excluded.negative,
        dsr_count = review_days.dsr_count + excluded.dsr_count,
        description_sum = review_days.description_sum + excluded.description_sum,
        service_sum = review_days.service_sum + excluded.service_sum,
        logistics_sum = review_days.logistics_sum + excluded.logistics_sum;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION ecredit_review_days_fold() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE review_days SET positive = positive - (CASE WHEN OLD.rating = 1 THEN 1 ELSE 0 END),
        neutral = neutral - (CASE WHEN OLD.rating = 0 THEN 1 ELSE 0 END),
        negative = negative - (CASE WHEN OLD.rating = -1 THEN 1 ELSE 0 END),
        dsr_count = dsr_count - OLD.dsr_counted, description_sum = description_sum - OLD.dsr_counted * OLD.description,
        service_sum = service_sum - OLD.dsr_counted * OLD.service, logistics_sum = logistics_sum - OLD.dsr_counted * OLD.logistics
    WHERE shop_id = OLD.shop_id AND day = (OLD.created_at + 28800000000) / 86400000000;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER reviews_days_insert AFTER INSERT ON reviews
    REFERENCING NEW TABLE AS new_reviews FOR EACH STATEMENT EXECUTE FUNCTION ecredit_review_days_insert();
CREATE TRIGGER reviews_days_fold AFTER UPDATE OF folded_at ON reviews
    FOR EACH ROW WHEN (OLD.counted = 1 AND OLD.folded_at = 0 AND NEW.folded_at <> 0) EXECUTE FUNCTION ecredit_review_days_fold();

-- +goose Down
DROP TRIGGER reviews_days_fold ON reviews;
DROP TRIGGER reviews_days_insert ON reviews;
DROP FUNCTION ecredit_review_days_fold();
DROP FUNCTION ecredit_review_days_insert();
DROP TABLE review_days;
DROP INDEX reviews_window_idx;
