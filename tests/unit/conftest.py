"""Fixtures of the unit tests that run our modules against the emulator: `emulator`, `endpoint`
and `aws` come from tests/conftest.py."""
