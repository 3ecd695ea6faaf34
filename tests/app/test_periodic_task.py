"""The background loop behind the approval sweep and PR polling."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.periodic import PeriodicTask


async def test_a_failing_pass_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    passes: list[int] = []
    third = asyncio.Event()
    waits: list[float] = []

    async def step() -> None:
        passes.append(len(passes) + 1)
        if len(passes) == 1:
            raise RuntimeError("database blinked")
        if len(passes) == 3:
            third.set()

    async def virtual_sleep(seconds: float) -> None:  # time is virtual: record, then yield once
        waits.append(seconds)
        await asyncio.sleep(0)

    task = PeriodicTask("probe", 5, step, sleep=virtual_sleep)
    with caplog.at_level(logging.WARNING):
        await task.start()
        await asyncio.wait_for(third.wait(), 5)
        await task.stop()
    assert passes[:3] == [1, 2, 3]
    assert waits[:2] == [5, 5]  # runs first, then waits between passes
    assert "probe failed: database blinked; trying again in 5 s" in caplog.text


async def test_wait_first_waits_before_the_first_pass() -> None:
    order: list[str] = []
    ran = asyncio.Event()

    async def step() -> None:
        order.append("pass")
        ran.set()

    async def virtual_sleep(_seconds: float) -> None:
        order.append("wait")
        await asyncio.sleep(0)

    task = PeriodicTask("probe", 60, step, wait_first=True, sleep=virtual_sleep)
    await task.start()
    await asyncio.wait_for(ran.wait(), 5)
    await task.stop()
    assert order[:2] == ["wait", "pass"]


async def test_an_interval_of_zero_leaves_it_off() -> None:
    async def step() -> None:
        raise AssertionError("must not run")

    task = PeriodicTask("probe", 0, step)
    await task.start()
    assert task._task is None
    await task.stop()  # stopping what never started is fine
