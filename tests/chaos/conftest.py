"""Fixtures and hooks of the chaos suite; the harness itself is chaos_harness.py (a name of its own: tests/integration has a harness.py) (imported by the tests)."""
from chaos_harness import (  # noqa: F401 - pytest finds fixtures and hooks by name here
    chaos, play, play_and_kill, pytest_collection_modifyitems, pytest_configure,
)


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def calm_afterwards(chaos):
    """Whatever a test left on (faults, clock), the next test file on this emulator starts calm."""
    yield
    chaos.faults("")
    from chaos_harness import control

    control(chaos.front, "clock", {"factor": None})
