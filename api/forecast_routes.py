"""Short-term forecasts for care coordination: the next hours of an item at a location or
summed over a region, with an 80 % interval and the backtest that says how far to trust it.

Forecasts are made by the forecaster (`python -m forecast`) on its schedule and read here from
the `forecast` table: nothing is fitted on the request path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.access import CAPACITY_READERS, Access, PrincipalDep, add_route
from api.availability_routes import REGION_CODES
from api.contract import refusal
from api.deps import ConnDep
from api.history_routes import subject_scope
from core.refusals import Invalid, NotFound
from definitions import Definition, load_catalogue
from forecast.items import forecast_items, has_regional_forecast
from forecast.methods import LABELS, LEVEL, MODEL_NAME
from storage.forecasts import ForecastRow, get_forecast

NO_RELIABLE_FORECAST = "no reliable forecast"


class ForecastPoint(BaseModel):
    """One hour ahead."""

    at: datetime = Field(description="the start of the hour (UTC)")
    value: float = Field(description="the figure expected (within the item's range)")
    lower: float = Field(description=f"lower end of the {LEVEL} % interval")
    upper: float = Field(description=f"upper end of the {LEVEL} % interval")


class MethodScore(BaseModel):
    """A method's backtest: mean absolute error and interval coverage."""

    mae: float | None = Field(description="mean absolute error over the backtest, in the "
                                          "item's unit")
    coverage: float | None = Field(description=f"share of figures inside the {LEVEL} % "
                                               "interval (honest: near 0.8)")


class BacktestSummary(BaseModel):
    """The rolling-origin backtest over the last week of the history, 1 to 4 hours ahead."""

    origins: int
    points: int = Field(description="figures scored per method")
    better_baseline: str
    t_statistic: float | None = Field(
        description="paired test of the forecast's gain over the better baseline per origin; "
                    "above 1.645: better beyond chance (5 %, one-sided)")
    scores: dict[str, MethodScore] = Field(
        description="per method: `model`, `last-value`, `same-hour-last-week`")


class ForecastResponse(BaseModel):
    """The next hours of one item. `verdict` is "forecast" when the model beat the better
    baseline in its backtest, else "no reliable forecast" and `points` are that baseline's."""

    definition: str
    label: str
    unit: str
    rollup: str
    location: str | None
    region: str | None
    locations: int = Field(description="locations summed (a region), else 1")
    issued_at: datetime = Field(description="when the forecaster made it")
    origin: datetime = Field(description="the first hour forecast; made from the figures "
                                         "before it")
    verdict: Literal["forecast", "no reliable forecast"]
    method: Literal["model", "last-value", "same-hour-last-week"]
    method_label: str
    model: str = Field(description="what the forecast is made with")
    reason: str
    interval_level: int = LEVEL
    history_hours: int = Field(description="hours with a figure the forecast was made from")
    points: list[ForecastPoint]
    backtest: BacktestSummary


# The items that have forecasts: what `forecast_item` takes, as the document's enum.
FORECAST_CODES = {"enum": sorted(d.code for d in forecast_items(load_catalogue()))}


def forecast_item(code: str, regional: bool) -> Definition:
    """The definition of an item that has forecasts (for a region: a summed one); 422 else."""
    definition = load_catalogue().get(code)
    if definition is None:
        raise Invalid(f"unknown definition {code!r}; see GET /v1/definitions", "item")
    if definition.code not in {d.code for d in forecast_items(load_catalogue())}:
        raise Invalid(f"{code} has no forecasts: only numeric capacity and busyness items "
                      "with a range are forecast", "item")
    if regional and not has_regional_forecast(definition):
        raise Invalid(f"{code} rolls up by '{definition.rollup}': a region's figure is the "
                      "one reported last by any of its locations, which no forecast can "
                      "follow; ask per location", "item")
    return definition


def forecast_answer(row: ForecastRow, definition: Definition,
                    horizon: int) -> ForecastResponse:
    """The answer for a stored forecast, its first `horizon` hours."""
    backtest = row.backtest
    scores = {method: MethodScore(mae=backtest["mae"].get(method),
                                  coverage=backtest["coverage"].get(method))
              for method in backtest.get("mae", {})}
    return ForecastResponse(
        definition=definition.code, label=definition.label.en, unit=definition.unit,
        rollup=definition.rollup, location=row.subject if row.scope == "location" else None,
        region=row.subject if row.scope == "region" else None, locations=row.locations,
        issued_at=row.issued_at, origin=row.origin,
        verdict="forecast" if row.reliable else NO_RELIABLE_FORECAST,
        method=row.method,
        method_label=LABELS[row.method], model=MODEL_NAME, reason=row.reason,
        history_hours=row.history_hours,
        points=[ForecastPoint(**p) for p in row.points[:horizon]],
        backtest=BacktestSummary(origins=backtest.get("origins", 0),
                                 points=backtest.get("points", 0),
                                 better_baseline=backtest.get("better_baseline", ""),
                                 t_statistic=backtest.get("t_statistic"), scores=scores))


async def item_forecast(
    conn: ConnDep,
    principal: PrincipalDep,
    item: Annotated[str, Query(description="definition code, e.g. "
                                           "`hospital.beds.ic.available`",
                               json_schema_extra=FORECAST_CODES)],
    location: Annotated[str | None, Query(description="one location id")] = None,
    region: Annotated[str | None, Query(description="a ROAZ region: the item summed over "
                                                    "its locations ('sum' items only)",
                                        json_schema_extra=REGION_CODES)] = None,
    horizon: Annotated[int, Query(ge=1, le=4, description="hours ahead (1-4)")] = 4,
) -> ForecastResponse:
    """The next `horizon` hours of one item at a location, or summed over a ROAZ region, with
    an 80 % interval, inside the item's range. When the model did not beat the better of two
    baselines ("last value", "same hour last week") in its backtest, the answer says "no
    reliable forecast" and gives that baseline's figures. Who may read the live figures may
    read their forecast: a ZCV its regions and their neighbours, a provider its own locations.
    """
    if location is None and region is None:
        raise Invalid("give location=<id> or region=<ROAZ region>", "location")
    definition = forecast_item(item, regional=region is not None)
    await subject_scope(conn, principal, location, region, False)
    scope: Literal["location", "region"] = "location" if location is not None else "region"
    subject = location if location is not None else str(region)
    row = await get_forecast(conn, scope=scope, subject=subject, definition=item)
    if row is None:
        raise NotFound(f"no forecast of {item} for {scope} {subject} yet: it has no recent "
                       "hourly history, or the forecaster has not run since it started "
                       "reporting", "item")
    return forecast_answer(row, definition, horizon)


def router() -> APIRouter:
    """Forecasts, with the live queries' authorisation."""
    built = APIRouter(prefix="/v1", tags=["Forecasts (care coordination)"])
    add_route(built, "/forecast", item_forecast, methods=["GET"],
              response_model=ForecastResponse,
              responses={404: refusal(404, "the location is not registered")},
              rule=Access(CAPACITY_READERS, "read forecast", "read"))
    return built
