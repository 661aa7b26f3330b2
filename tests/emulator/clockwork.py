"""Helpers for the scaled-clock tests: watch a state change, with generous time limits."""
from __future__ import annotations

import time


def watch(read, until, limit: float, every: float = 0.1, since: float | None = None) -> list:
    """Poll read() until until(value); returns [(seconds, value), ...] at each change.

    Seconds count from `since` (a time.monotonic() taken just before the call that started the
    change) when given: on a loaded machine the first poll may come late, and a lower bound
    measured from it would then fail although the emulator kept its time."""
    start = time.monotonic() if since is None else since
    seen: list = []
    while True:
        value = read()
        if not seen or seen[-1][1] != value:
            seen.append((round(time.monotonic() - start, 2), value))
        if until(value):
            return seen
        if time.monotonic() - start > limit:
            raise AssertionError(f"still {value!r} after {limit}s: {seen}")
        time.sleep(every)
