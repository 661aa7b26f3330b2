"""Preflight rules of migrate.yml / verify.yml: bad inputs fail before any AWS or database call."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.stream_sales.platform.plugins.module_utils.preflight import preflight_errors

MIGRATIONS = str(Path(__file__).resolve().parents[2] / "example-app" / "prisma" / "migrations")
VALID = {"operation": "migrate", "stream_sales_env": "local", "aws_region": "us-east-1",
         "aurora_min_capacity": 0, "aurora_max_capacity": 4, "aurora_auto_pause_seconds": 600,
         "migrate_transport": "direct", "migrations_dir": MIGRATIONS,
         "migrate_resolve_applied": "", "migrate_resolve_rolled_back": ""}


def errors(**changes):
    return preflight_errors(dict(VALID, **changes))


@pytest.mark.parametrize("transport", ["direct", "data_api"])
def test_valid_inputs_pass(transport):
    assert errors(migrate_transport=transport) == []
    assert errors(migrate_resolve_applied="20240105090000_init") == []


@pytest.mark.parametrize("changes, message", [
    ({"migrate_transport": "psql"}, "migrate_transport is 'psql'; allowed: direct, data_api."),
    ({"migrations_dir": "/no/such/dir"}, "migrations_dir '/no/such/dir' is not a directory"),
    ({"migrate_resolve_rolled_back": "nope"}, "migrate_resolve_rolled_back is 'nope', which is not a migration"),
    ({"migrate_resolve_applied": "20240105090000_init", "migrate_resolve_rolled_back": "20240105090000_init"},
     "migrate_resolve_applied and migrate_resolve_rolled_back are both set"),
    ({"aurora_max_capacity": "300"}, "aurora_max_capacity is 300; allowed: 0 to 256 ACU in steps of 0.5."),
])
def test_each_rule_names_the_variable(changes, message):
    found = errors(**changes)
    assert any(message in e for e in found), found


def test_deploy_without_migrate_variables_is_unaffected():
    values = {k: v for k, v in VALID.items() if not k.startswith("migrat")}
    assert preflight_errors(dict(values, operation="deploy")) == []
