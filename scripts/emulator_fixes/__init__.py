"""Named fixes that make moto's server answer as AWS does (docs/emulator.md lists them).

One module per AWS service; each exposes FIXES, a tuple of functions that patch moto in the
server process before it starts serving. Each function's docstring names the AWS behaviour it
restores and the moto gap it closes; tests/emulator/ holds a test file per fix, run against the
emulator alone. The product (plugins/) never knows about any of this: it talks to the emulator
exactly as to AWS.

The server process learns what it needs from the environment scripts/emulator.py sets:
STREAM_SALES_PG_ADMIN_URL (the real PostgreSQL server RDS maps clusters onto),
STREAM_SALES_STATE_DIR (where fixes may keep files).
"""
from __future__ import annotations

import importlib
import pkgutil


def all_fixes():
    """Every fix of every service module, in module order then declaration order."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        yield from getattr(module, "FIXES", ())
