"""Helpers for the scaled-clock tests: watch a state change, with generous time limits."""
from __future__ import annotations

import time


def watch(read, until, limit: float, every: float = 0.1) -> list:
    """Poll read() until until(value); returns [(seconds, value), ...] at each change."""
    start = time.monotonic()
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
