"""Preflight rules of rotate_secrets.yml: bad inputs fail before any AWS or database call."""
from __future__ import annotations

import pytest

from ansible_collections.stream_sales.platform.plugins.module_utils.preflight import preflight_errors

VALID = {"operation": "rotate", "stream_sales_env": "local", "aws_region": "us-east-1", "rotate": "database,jwt",
         "rotate_reencrypt_command": "", "rotate_reencrypt_lambda": "", "rotate_stop_after": "", "rotate_port": "",
         "rotation_days": ""}


def errors(**changes):
    return preflight_errors(dict(VALID, **changes))


@pytest.mark.parametrize("changes", [
    {},
    {"rotate": "jwt"},
    {"rotate": " database , jwt ,"},
    {"rotate": "encryption", "rotate_reencrypt_command": "./reencrypt.sh"},
    {"rotate": "encryption,jwt", "rotate_reencrypt_lambda": "stream-sales-reencrypt"},
    {"rotate": "encryption", "rotate_reencrypt_lambda": "arn:aws:lambda:us-east-1:123456789012:function:reencrypt"},
    {"rotate_stop_after": "set", "rotate_port": "15432", "rotation_days": "0"},
])
def test_valid_inputs_pass(changes):
    assert errors(**changes) == []


@pytest.mark.parametrize("changes, message", [
    ({"rotate": ""}, "rotate is empty; allowed: a comma-separated subset of database, jwt, encryption"),
    ({"rotate": "database,passwords"}, "rotate names 'passwords'; allowed: a comma-separated subset of database, jwt, encryption."),
    ({"rotate": "encryption"}, "rotate includes encryption but names no re-encryption step: a new key alone would make "
                               "every value encrypted with the current one"),
    ({"rotate": "encryption", "rotate_reencrypt_command": "x", "rotate_reencrypt_lambda": "y"},
     "rotate_reencrypt_command and rotate_reencrypt_lambda are both set"),
    ({"rotate_reencrypt_command": "./reencrypt.sh"}, "rotate_reencrypt_command is set but rotate does not include encryption"),
    ({"rotate": "encryption", "rotate_reencrypt_lambda": "not a name"}, "rotate_reencrypt_lambda 'not a name' is not a Lambda"),
    ({"rotate_stop_after": "finish"}, "rotate_stop_after is 'finish'; allowed: empty (the whole rotation), create, set, test."),
    ({"rotate_port": "http"}, "rotate_port is 'http'; allowed: empty (the secret's port) or 1 to 65535."),
    ({"rotation_days": "30"}, "rotation_days is '30', but Secrets Manager rotates on a schedule only by invoking a rotation Lambda"),
])
def test_each_rule_names_the_variable(changes, message):
    found = errors(**changes)
    assert any(message in e for e in found), found


def test_other_operations_ignore_the_rotation_variables():
    assert preflight_errors(dict(VALID, operation="deploy", rotate="")) == []
