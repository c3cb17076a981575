"""Token buckets per caller: a misbehaving client is slowed down, the others are not.

Pure and clock-driven (the caller passes `now`), so the rules are tested without waiting.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """`rate` requests per second on average, bursts of up to `burst` at once."""

    rate: float
    burst: float


class TokenBucket:
    """One caller's allowance: `burst` tokens, refilled at `rate` per second."""

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = limit.burst
        self.updated = now

    def take(self, now: float) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is there."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.limit.burst, self.tokens + elapsed * self.limit.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.limit.rate


class RateLimiter:
    """Buckets per key (a client id), at most `max_keys` of them: the least recently seen
    bucket is forgotten first, which only ever gives that caller a full bucket again."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._max_keys = max_keys

    def take(self, key: str, limit: Limit, now: float) -> float:
        """0.0 when `key` may go ahead now, else the seconds to wait (for Retry-After)."""
        bucket = self._buckets.get(key)
        if bucket is None or bucket.limit != limit:
            bucket = TokenBucket(limit, now)
            self._buckets[key] = bucket
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return bucket.take(now)
