"""Fixtures and hooks of the chaos suite. The harness itself is chaos_harness.py (a name of its
own: tests/integration has a harness.py), imported by the tests."""
import pytest
# pytest finds fixtures and hooks by name here: the imports are used by being here.
from chaos_harness import (  # noqa: F401 pylint: disable=unused-import
    chaos, play, play_and_kill, pytest_collection_modifyitems, pytest_configure,
)


@pytest.fixture(autouse=True)
def calm_afterwards(chaos):  # noqa: F811 - the chaos fixture, imported above for pytest
    """Whatever a test left on (faults, clock), the next test file on this emulator starts calm."""
    yield
    chaos.faults("")
    from chaos_harness import control

    control(chaos.front, "clock", {"factor": None})
