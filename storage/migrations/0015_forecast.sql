-- Short-term forecasts (forecast/): per location or ROAZ region and item, the newest forecast
-- of the next hours with its interval and the backtest that decides whether it is shown.
-- Written by the forecaster (python -m forecast) on its schedule, read by GET /v1/forecast;
-- one row per series, replaced at every refit.
CREATE TABLE forecast (
    scope           text NOT NULL CHECK (scope IN ('location', 'region')),
    subject         text NOT NULL,  -- a location id, or a ROAZ region code
    definition      text NOT NULL,
    issued_at       timestamptz NOT NULL,  -- when the refit made it
    origin          timestamptz NOT NULL,  -- the first hour forecast; figures up to before it
    reliable        boolean NOT NULL,  -- false: "no reliable forecast", the baseline is shown
    method          text NOT NULL
                    CHECK (method IN ('model', 'last-value', 'same-hour-last-week')),
    reason          text NOT NULL,
    points          jsonb NOT NULL,  -- [{at, value, lower, upper}] of the method shown
    backtest        jsonb NOT NULL,  -- origins, points, MAE and coverage per method, t
    history_hours   integer NOT NULL,  -- hours with a figure the forecast was made from
    locations       integer NOT NULL DEFAULT 1,  -- a region: locations summed
    PRIMARY KEY (scope, subject, definition)
);

-- Each refit: when, how long, how many series, for /healthz-like questions and the bench.
CREATE TABLE forecast_run (
    id              bigserial PRIMARY KEY,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL,
    series          integer NOT NULL,
    reliable        integer NOT NULL
);
