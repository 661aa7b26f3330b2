"""Preflight's catalog of declared variables (typos refused) and its name, path and build rules."""
from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.stream_sales.platform.plugins.module_utils.preflight import preflight_errors
from ansible_collections.stream_sales.platform.plugins.plugin_utils.variables import Catalog

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "example-app" / ".open-next"


@pytest.fixture(scope="module")
def catalog():
    return Catalog(str(ROOT))


def test_every_variable_of_the_repository_inventories_is_declared(catalog):
    import yaml
    for path in (ROOT / "group_vars").glob("*.yml"):
        names = yaml.safe_load(path.read_text())
        assert catalog.unknown_errors(list(names), []) == [], path.name


@pytest.mark.parametrize("name, hint", [
    ("aurora_max_acu", "aurora_max_capacity"),
    ("network_az_cont", "network_az_count"),
    ("lock_wait_second", "lock_wait_seconds"),
    ("migrate_transprt", "migrate_transport"),
    ("stream_sales_perfix", "stream_sales_prefix"),
])
def test_a_typo_with_our_prefix_is_refused_with_the_closest_name(catalog, name, hint):
    errors = catalog.unknown_errors([name], [name])
    assert len(errors) == 1 and f"{name} (-e) is declared by no role or playbook" in errors[0]
    assert errors[0].endswith(f"did you mean {hint}?")


def test_inventory_variables_are_checked_too(catalog):
    assert "(inventory or play)" in catalog.unknown_errors(["cdn_price_klass"], [])[0]


def test_unprefixed_extra_vars_only_when_a_near_miss(catalog):
    assert catalog.unknown_errors(["deletion_protecton"], ["deletion_protecton"]) == [
        "deletion_protecton (-e) is declared nowhere and would be ignored; did you mean deletion_protection?"]
    assert catalog.unknown_errors(["my_own_thing"], ["my_own_thing"]) == []
    assert catalog.unknown_errors(["ansible_python_interpreter", "inventory_dir"], ["ansible_python_interpreter"]) == []


def test_declared_internal_and_registered_names_pass(catalog):
    assert catalog.unknown_errors(["lock_table", "network_vpc", "history_started", "aurora_max_capacity",
                                   "app_build_dir", "rotate_reencrypt_command"], []) == []


def test_negative_durations(catalog):
    assert catalog.duration_errors({"lock_wait_seconds": "-5"}) == ["lock_wait_seconds is -5; allowed: 0 or more (seconds)."]
    assert catalog.duration_errors({"lock_wait_seconds": 0, "sweep_wait_timeout": "1200", "unknown_seconds": -1}) == []


BASE = {"operation": "deploy", "stream_sales_env": "dev", "aws_region": "us-east-1"}


def errors(**values):
    return preflight_errors(dict(BASE, **values))


@pytest.mark.parametrize("prefix", ["Stream-Sales/Dev", "stream_sales", "st", "1stream", "stream--sales", "stream-", "a" * 43])
def test_bad_prefixes(prefix):
    assert any(e.startswith(f"stream_sales_prefix {prefix!r} cannot start S3 bucket and RDS names") for e in errors(stream_sales_prefix=prefix))


@pytest.mark.parametrize("prefix", ["stream-sales-dev", "acme-shop-prod", "s3x", "a" * 42])
def test_good_prefixes(prefix):
    assert errors(stream_sales_prefix=prefix) == []


@pytest.mark.parametrize("path, message", [
    ("no-leading-slash", "is not an SSM parameter path"),
    ("/trailing/", "is not an SSM parameter path"),
    ("/with space/x", "is not an SSM parameter path"),
    ("/aws/outputs", "starts with a name SSM reserves"),
    ("/" + "/".join("l" * 15), "too deep or too long"),
])
def test_bad_outputs_paths(path, message):
    assert any(message in e and e.startswith("outputs_path") for e in errors(outputs_path=path))


def test_good_outputs_path():
    assert errors(outputs_path="/stream-sales/dev/outputs") == []


def test_account_pinning_rules():
    assert errors(stream_sales_env="production", aws_account_id="", deletion_protection=True)[0].startswith(
        "aws_account_id is not set; production must name the 12-digit AWS account")
    assert errors(stream_sales_env="staging", aws_account_id="")[0].startswith("aws_account_id is not set; staging")
    assert errors(aws_account_id="") == []  # dev: optional
    assert errors(aws_account_id="12345")[0].startswith("aws_account_id '12345' is not an AWS account ID")
    assert errors(aws_account_id="111111111111", aws_assume_role_arn="arn:aws:iam::111111111111:role/deployer") == []
    assert "is not an IAM role ARN" in errors(aws_assume_role_arn="deployer")[0]
    assert "a role of account 222222222222, but aws_account_id is 111111111111" in errors(
        aws_account_id="111111111111", aws_assume_role_arn="arn:aws:iam::222222222222:role/deployer")[0]


def test_lock_ttl():
    assert errors(lock_ttl_seconds=10) == ["lock_ttl_seconds is 10; allowed: 60 or more (a lock must outlive a slow AWS call)."]


def test_the_build_is_read_for_a_deploy(tmp_path):
    assert errors(app_lambda_build_dir=str(tmp_path / "missing"))[0].startswith(f"app_build_dir '{tmp_path / 'missing'}' is not a folder")
    (tmp_path / "open-next.output.json").write_text("{not json")
    assert "is not valid JSON" in errors(app_lambda_build_dir=str(tmp_path))[0]
    assert errors(app_lambda_build_dir=str(tmp_path), operation="migrate") == []  # only deploy and drift read it


@pytest.mark.skipif(not BUILD.is_dir(), reason="make example-build")
def test_the_example_build_passes():
    assert errors(app_lambda_build_dir=str(BUILD), stream_sales_prefix="stream-sales-dev") == []
