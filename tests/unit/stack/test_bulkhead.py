"""The bulkhead bounding SQL fallback reads: a few run, a few wait, the rest are refused at once."""

from __future__ import annotations

import asyncio

import pytest

from timeline.bulkhead import Bulkhead, Overloaded


def test_refuses_beyond_running_and_waiting():
    """With every slot busy and the queue full, one more caller is refused without waiting."""

    async def scenario() -> tuple[list[str], int]:
        bulkhead = Bulkhead(limit=2, queue=1)
        release = asyncio.Event()
        outcomes: list[str] = []

        async def call(name: str) -> None:
            try:
                async with bulkhead:
                    await release.wait()
                    outcomes.append(name)
            except Overloaded:
                outcomes.append(f"{name} refused")

        tasks = [asyncio.create_task(call(n)) for n in ("a", "b", "c", "d")]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(*tasks)
        return outcomes, bulkhead.refused

    outcomes, refused = asyncio.run(scenario())
    assert outcomes[0] == "d refused"
    assert sorted(outcomes[1:]) == ["a", "b", "c"]
    assert refused == 1


def test_slots_are_released_after_errors():
    """A call that raises gives its slot back."""

    async def scenario() -> None:
        bulkhead = Bulkhead(limit=1, queue=0)
        with pytest.raises(RuntimeError):
            async with bulkhead:
                raise RuntimeError("boom")
        async with bulkhead:
            pass

    asyncio.run(scenario())


def test_bounds_must_make_sense():
    """No slot at all, or a negative queue, is refused at construction."""
    with pytest.raises(ValueError):
        Bulkhead(limit=0, queue=1)
    with pytest.raises(ValueError):
        Bulkhead(limit=1, queue=-1)
