-- Values beyond numbers: codes (SEH status), date-times (expected end of a stop) and text go in
-- value_text; numbers and booleans (1/0) stay in value. At most one of the two is set, and
-- neither exactly when the figure is "not reported".

ALTER TABLE observation ADD COLUMN value_text text;
ALTER TABLE observation DROP CONSTRAINT observation_check;
ALTER TABLE observation ADD CONSTRAINT observation_value_or_reason CHECK (
    num_nonnulls(value, value_text) <= 1
    AND (num_nonnulls(value, value_text) = 0) = (not_reported_reason IS NOT NULL)
);

ALTER TABLE latest_observation ADD COLUMN value_text text;
ALTER TABLE latest_observation ADD CONSTRAINT latest_value_or_reason CHECK (
    num_nonnulls(value, value_text) <= 1
    AND (num_nonnulls(value, value_text) = 0) = (not_reported_reason IS NOT NULL)
);
