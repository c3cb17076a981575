"""Work that must finish: cancellation waits for it rather than abandoning it."""

from __future__ import annotations

import asyncio

import pytest

from streams.delivery import finish_despite_cancel


def test_cancelled_caller_still_lets_the_work_finish() -> None:
    finished: list[str] = []

    async def write() -> str:
        await asyncio.sleep(0.05)
        finished.append("written")
        return "ok"

    async def scenario() -> None:
        caller = asyncio.ensure_future(finish_despite_cancel(write()))
        await asyncio.sleep(0.01)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller

    asyncio.run(scenario())
    assert finished == ["written"]


def test_result_and_errors_pass_through() -> None:
    async def fails() -> None:
        raise ValueError("refused")

    async def scenario() -> None:
        assert await finish_despite_cancel(asyncio.sleep(0, "done")) == "done"
        with pytest.raises(ValueError, match="refused"):
            await finish_despite_cancel(fails())

    asyncio.run(scenario())
