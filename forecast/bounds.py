"""The values a forecast may take: the item's range, and whole numbers for counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecast.series import Array


@dataclass(frozen=True)
class Interval:
    """Point forecasts with the lower and upper ends of their interval."""

    mean: Array
    lower: Array
    upper: Array


@dataclass(frozen=True)
class Bounds:
    """The values a figure can take: the item's range (for a region summed over `locations`,
    the sum of the locations' ranges). Counts are whole numbers, but a forecast of 3.4 beds
    is an expectation, so only the interval is widened to whole numbers."""

    low: float
    high: float
    whole: bool

    def scaled(self, locations: int) -> Bounds:
        """The bounds of a sum over `locations` locations."""
        return Bounds(self.low * locations, self.high * locations, self.whole)

    def apply(self, prediction: Interval) -> Interval:
        """The prediction clipped to the range (no negative beds), interval widened to whole
        numbers for counts."""
        lower, upper = prediction.lower, prediction.upper
        if self.whole:
            lower, upper = np.floor(lower + 1e-9), np.ceil(upper - 1e-9)
        return Interval(*(np.clip(a, self.low, self.high)
                            for a in (prediction.mean, lower, upper)))


