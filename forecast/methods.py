"""The names of the forecast methods and the interval level: shared by the forecaster and the
API (which must not load the forecasting library to answer)."""

from __future__ import annotations

LEVEL = 80
MODEL = "model"
LAST_VALUE = "last-value"
SAME_HOUR_LAST_WEEK = "same-hour-last-week"
BASELINES = (LAST_VALUE, SAME_HOUR_LAST_WEEK)
METHODS = (MODEL, *BASELINES)
MODEL_NAME = "hour-of-week profile + exponential smoothing (statsforecast AutoETS)"
LABELS = {MODEL: "forecast", LAST_VALUE: "last value", SAME_HOUR_LAST_WEEK: "same hour last week"}
