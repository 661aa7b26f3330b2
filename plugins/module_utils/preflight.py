# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cross-field rules checked before the first AWS call.

Role argument specs check each variable alone; these rules check how variables fit
together. Every message names the variable and what is allowed.
"""

from __future__ import annotations

import ipaddress
import os
import re

ENVIRONMENTS = ("dev", "staging", "production", "local")
OPERATIONS = ("deploy", "teardown", "outputs", "migrate", "verify", "rotate", "rollback", "drift", "history", "cost")

# Availability zones a new account sees per region (public AWS documentation). Checked
# again against DescribeAvailabilityZones by the network role; this table lets a wrong
# count fail before any AWS call.
REGION_AZ_COUNT = {
    "us-east-1": 6, "us-east-2": 3, "us-west-1": 2, "us-west-2": 4,
    "ca-central-1": 3, "ca-west-1": 3, "sa-east-1": 3, "mx-central-1": 3,
    "eu-west-1": 3, "eu-west-2": 3, "eu-west-3": 3, "eu-central-1": 3, "eu-central-2": 3,
    "eu-north-1": 3, "eu-south-1": 3, "eu-south-2": 3,
    "ap-south-1": 3, "ap-south-2": 3, "ap-east-1": 3, "ap-southeast-1": 3,
    "ap-southeast-2": 3, "ap-southeast-3": 3, "ap-southeast-4": 3, "ap-southeast-5": 3,
    "ap-northeast-1": 3, "ap-northeast-2": 4, "ap-northeast-3": 3,
    "me-south-1": 3, "me-central-1": 3, "il-central-1": 3, "af-south-1": 3,
}

SUBNET_TIERS = 3  # public, private with egress, isolated: one /24 each per AZ
MIN_AZS = 2  # an Aurora DB subnet group needs subnets in two AZs
ACU_MAX = 256.0
AUTO_PAUSE_RANGE = (300, 86400)  # SecondsUntilAutoPause bounds in the RDS API
# Deliberately simple: one @, a dot in the domain, no spaces. SNS confirms the rest.
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def _whole(value):
    """An int from an int or a digit string (extra vars arrive as strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _flag(value):
    """Ansible's truthiness for extra vars: 'false', 'no', '0' are false."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y", "t")
    return bool(value)


def _number(value):
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def check_environment(v, errors):
    env = v.get("stream_sales_env")
    if env not in ENVIRONMENTS:
        errors.append(f"stream_sales_env is {env!r}; allowed: {', '.join(ENVIRONMENTS)}.")


def check_region(v, errors):
    region = v.get("aws_region")
    if region not in REGION_AZ_COUNT:
        errors.append(f"aws_region {region!r} is not a known AWS region; allowed: {', '.join(sorted(REGION_AZ_COUNT))}.")


def check_network(v, errors):
    if "network_az_count" not in v:
        return
    azs = _whole(v.get("network_az_count"))
    region_azs = REGION_AZ_COUNT.get(v.get("aws_region"))
    if azs is None:
        errors.append(f"network_az_count must be a whole number, got {v.get('network_az_count')!r}.")
        azs = None
    elif region_azs and not MIN_AZS <= azs <= region_azs:
        errors.append(
            f"network_az_count is {azs}; {v.get('aws_region')} offers {region_azs} availability zones, "
            f"so allowed: {MIN_AZS} to {region_azs}."
        )
    elif not region_azs and azs < MIN_AZS:
        errors.append(f"network_az_count is {azs}; allowed: at least {MIN_AZS}.")

    nats = _whole(v.get("network_nat_gateway_count"))
    if nats is None or nats < 1:
        errors.append(f"network_nat_gateway_count is {v.get('network_nat_gateway_count')!r}; allowed: 1 to network_az_count.")
    elif azs is not None and nats > azs:
        errors.append(f"network_nat_gateway_count is {nats}; allowed: 1 to network_az_count ({azs}).")

    if "network_vpc_cidr" not in v:
        return
    cidr = v["network_vpc_cidr"]
    try:
        net = ipaddress.IPv4Network(str(cidr), strict=True)
    except ValueError as exc:
        errors.append(f"network_vpc_cidr {cidr!r} is not a valid IPv4 network ({exc}); e.g. 10.0.0.0/16.")
        return
    if not 16 <= net.prefixlen <= 24:
        errors.append(f"network_vpc_cidr {cidr} has prefix /{net.prefixlen}; allowed: /16 to /24 (AWS and /24 subnets).")
        return
    if azs is not None:
        needed = SUBNET_TIERS * azs
        room = 2 ** (24 - net.prefixlen)
        if needed > room:
            errors.append(
                f"network_vpc_cidr {cidr} holds {room} /24 subnets; {SUBNET_TIERS} tiers x {azs} AZs need {needed}. "
                f"Allowed: a prefix of /{24 - (needed - 1).bit_length()} or larger."
            )


def check_aurora(v, errors):
    if "aurora_min_capacity" not in v and "aurora_max_capacity" not in v:
        return
    lo, hi = _number(v.get("aurora_min_capacity")), _number(v.get("aurora_max_capacity"))
    out_of_range = False
    for name, val in (("aurora_min_capacity", lo), ("aurora_max_capacity", hi)):
        if val is None or not 0 <= val <= ACU_MAX or (val * 2) != int(val * 2):
            errors.append(f"{name} is {v.get(name)}; allowed: 0 to 256 ACU in steps of 0.5.")
            out_of_range = True
    if out_of_range:
        return  # the rules below compare the bounds: meaningless until both are valid
    if hi < 1:
        errors.append(f"aurora_max_capacity is {v.get('aurora_max_capacity')}; allowed: at least 1 ACU.")
    if lo > hi:
        errors.append(f"aurora_min_capacity ({lo:g}) is above aurora_max_capacity ({hi:g}); allowed: min <= max.")
    raw_pause = v.get("aurora_auto_pause_seconds") or 0
    pause = _whole(raw_pause)
    if pause is None:
        errors.append(f"aurora_auto_pause_seconds is {raw_pause!r}; allowed: 0 (off) or {AUTO_PAUSE_RANGE[0]} to {AUTO_PAUSE_RANGE[1]}.")
    elif pause:
        if lo != 0:
            errors.append(
                f"aurora_auto_pause_seconds is {pause} but aurora_min_capacity is {lo:g}; "
                "auto-pause is allowed only with aurora_min_capacity 0."
            )
        if not AUTO_PAUSE_RANGE[0] <= pause <= AUTO_PAUSE_RANGE[1]:
            errors.append(f"aurora_auto_pause_seconds is {pause!r}; allowed: 0 (off) or {AUTO_PAUSE_RANGE[0]} to {AUTO_PAUSE_RANGE[1]}.")


def check_alarm_email(v, errors):
    email = v.get("alarm_email") or ""
    if email and not EMAIL_RE.match(str(email)):
        errors.append(f"alarm_email {email!r} is not an e-mail address; allowed: empty (no alarms e-mail) or name@domain.tld.")


def check_deletion_protection(v, errors):
    if (v.get("stream_sales_env") == "production" and not _flag(v.get("deletion_protection"))
            and not _flag(v.get("allow_unprotected_production"))):
        errors.append(
            "deletion_protection is false for production; allowed only with the explicit override "
            "-e allow_unprotected_production=true."
        )


def check_teardown(v, errors):
    env = v.get("stream_sales_env")
    if v.get("operation") != "teardown" or env not in ("staging", "production"):
        return
    expected = f"stream-sales-{env}"
    if v.get("confirm_teardown") != expected:
        errors.append(f"confirm_teardown must be {expected!r} to tear down {env}: pass -e confirm_teardown={expected}.")


def _names(value):
    """A list of names, also from an extra var given as 'a,b' (extra vars arrive as strings)."""
    if isinstance(value, str):
        return [n.strip() for n in value.split(",") if n.strip()]
    return [str(n) for n in value or []]


def check_custom_domain(v, errors):
    """Names on the distribution need a certificate: an existing one, or a zone to validate one in."""
    aliases = _names(v.get("cdn_aliases"))
    if not aliases or v.get("operation") != "deploy":
        return
    if not v.get("cdn_acm_certificate_arn") and not v.get("cdn_hosted_zone_id"):
        errors.append("cdn_aliases needs a certificate: set cdn_acm_certificate_arn (ACM, us-east-1), or "
                      "cdn_hosted_zone_id (the Route 53 zone in which a requested certificate is validated).")
    names = [n.lower() for n in _names(v.get("cdn_certificate_domain_names"))]
    if names and not v.get("cdn_acm_certificate_arn"):
        uncovered = [a for a in aliases if str(a).lower() not in names
                     and not any(n.startswith("*.") and str(a).lower().split(".", 1)[-1] == n[2:] for n in names)]
        if uncovered:
            errors.append(f"cdn_certificate_domain_names does not cover cdn_aliases {', '.join(uncovered)}; "
                          "allowed: names (or *.wildcards) covering every alias, or empty (the aliases themselves).")


def check_endpoint(v, errors):
    url = v.get("aws_endpoint_url") or ""
    if url and not re.match(r"^https?://[^/\s]+", str(url)):
        errors.append(f"aws_endpoint_url {url!r} is not a URL; allowed: empty (AWS) or http(s)://host:port.")


MIGRATE_TRANSPORTS = ("direct", "data_api")


def check_migrate(v, errors):
    """migrate.yml / verify.yml inputs: checked here so a typo costs no AWS or database call."""
    transport = v.get("migrate_transport")
    if transport is not None and transport not in MIGRATE_TRANSPORTS:
        errors.append(f"migrate_transport is {transport!r}; allowed: {', '.join(MIGRATE_TRANSPORTS)}.")
    if "migrations_dir" not in v:
        return
    folder = str(v["migrations_dir"])
    if not os.path.isdir(folder):
        errors.append(f"migrations_dir {folder!r} is not a directory; allowed: a Prisma migrations folder "
                      "(prisma/migrations, one subfolder per migration holding migration.sql).")
        return
    resolve = {k: v.get(k) or "" for k in ("migrate_resolve_applied", "migrate_resolve_rolled_back")}
    if all(resolve.values()):
        errors.append("migrate_resolve_applied and migrate_resolve_rolled_back are both set; allowed: one of them per run.")
    for name, migration in resolve.items():
        if migration and not os.path.isfile(os.path.join(folder, str(migration), "migration.sql")):
            errors.append(f"{name} is {migration!r}, which is not a migration of migrations_dir {folder!r}; "
                          "allowed: the name of a subfolder holding migration.sql.")


ROTATABLE = ("database", "jwt", "encryption")
ROTATE_STEPS = ("create", "set", "test")
LAMBDA_NAME_RE = re.compile(r"^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$")


def check_rotate(v, errors):
    """rotate_secrets.yml inputs, all refused before any AWS call."""
    if v.get("operation") != "rotate":
        return
    raw = str(v.get("rotate") or "")
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in ROTATABLE]
    if not names:
        errors.append(f"rotate is empty; allowed: a comma-separated subset of {', '.join(ROTATABLE)}, "
                      "e.g. -e rotate=database,jwt.")
    elif unknown:
        errors.append(f"rotate names {', '.join(repr(n) for n in unknown)}; allowed: a comma-separated subset of "
                      f"{', '.join(ROTATABLE)}.")
    command = str(v.get("rotate_reencrypt_command") or "")
    function = str(v.get("rotate_reencrypt_lambda") or "")
    if "encryption" in names and not command and not function:
        errors.append(
            "rotate includes encryption but names no re-encryption step: a new key alone would make every value "
            "encrypted with the current one (the product stream-account passwords) unreadable. Name the step that "
            "re-encrypts them with the new key, run between AWSPENDING and AWSCURRENT: "
            "-e rotate_reencrypt_command='...' or -e rotate_reencrypt_lambda=FUNCTION.")
    if command and function:
        errors.append("rotate_reencrypt_command and rotate_reencrypt_lambda are both set; allowed: one of them.")
    if (command or function) and "encryption" not in names:
        which = "rotate_reencrypt_command" if command else "rotate_reencrypt_lambda"
        errors.append(f"{which} is set but rotate does not include encryption; allowed: only with -e rotate=...,encryption.")
    if function and not LAMBDA_NAME_RE.match(function):
        errors.append(f"rotate_reencrypt_lambda {function!r} is not a Lambda function name or ARN.")
    stop = str(v.get("rotate_stop_after") or "")
    if stop and stop not in ROTATE_STEPS:
        errors.append(f"rotate_stop_after is {stop!r}; allowed: empty (the whole rotation), {', '.join(ROTATE_STEPS)}.")
    port = v.get("rotate_port")
    if port not in (None, "") and (_whole(port) is None or not 1 <= _whole(port) <= 65535):
        errors.append(f"rotate_port is {port!r}; allowed: empty (the secret's port) or 1 to 65535.")
    days = v.get("rotation_days")
    if days not in (None, "", 0, "0"):
        errors.append(
            f"rotation_days is {days!r}, but Secrets Manager rotates on a schedule only by invoking a rotation "
            "Lambda function, and this collection ships none (the database needs the alternating-user steps of "
            "postgresql_rotation, the encryption key a re-encryption step). Schedule "
            "`ansible-playbook playbooks/rotate_secrets.yml -e rotate=...` instead (cron, a CI schedule); "
            "allowed: rotation_days unset.")


# The longest names derived from stream_sales_prefix (roles): the images bucket
# <prefix>-images-<12-digit account> (S3: 63) and the final snapshot
# <prefix>-final-<YYYYmmddHHMMSS> (RDS: 63, letters, digits, single hyphens, a letter first).
PREFIX_MAX = 63 - len("-final-20261231235959")
PREFIX_RE = re.compile(r"^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$")


def check_prefix(v, errors):
    """Every resource name starts with the prefix: S3 bucket and RDS identifier rules apply to it."""
    if "stream_sales_prefix" not in v:
        return
    prefix = str(v["stream_sales_prefix"])
    if not PREFIX_RE.match(prefix) or not 3 <= len(prefix) <= PREFIX_MAX:
        errors.append(
            f"stream_sales_prefix {prefix!r} cannot start S3 bucket and RDS names "
            f"({prefix}-images-<account id>, {prefix}-final-<time>); allowed: 3 to {PREFIX_MAX} lowercase letters, "
            "digits and single hyphens, starting with a letter and ending with a letter or digit, "
            "e.g. stream-sales-dev.")


SSM_SEGMENT_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
SSM_MAX_NAME = 1011  # characters of a parameter name, its path included
SSM_MAX_LEVELS = 15
LONGEST_OUTPUT_KEY = "DatabaseConnectCommand"


def check_outputs_path(v, errors):
    """outputs_path/<Key> must be a valid SSM parameter name (SSM's hierarchy rules)."""
    if "outputs_path" not in v:
        return
    path = str(v["outputs_path"])
    segments = path.split("/")[1:]
    allowed = ("allowed: a path of / followed by segments of letters, digits, '.', '-' and '_', "
               f"at most {SSM_MAX_LEVELS - 1} levels, not under /aws or /ssm, e.g. /stream-sales/dev/outputs.")
    if (not path.startswith("/") or path.endswith("/") or not segments
            or not all(SSM_SEGMENT_RE.match(s) for s in segments)):
        errors.append(f"outputs_path {path!r} is not an SSM parameter path; {allowed}")
    elif segments[0].lower().startswith(("aws", "ssm")):
        errors.append(f"outputs_path {path!r} starts with a name SSM reserves (aws, ssm); {allowed}")
    elif len(segments) + 1 > SSM_MAX_LEVELS or len(path) + 1 + len(LONGEST_OUTPUT_KEY) > SSM_MAX_NAME:
        errors.append(f"outputs_path {path!r} is too deep or too long for SSM; {allowed}")


ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
PINNED_ENVIRONMENTS = ("staging", "production")


def check_account(v, errors):
    """aws_account_id pins the environment to one account (required for staging and production)."""
    env = v.get("stream_sales_env")
    account = str(v.get("aws_account_id") or "")
    if not account:
        if "aws_account_id" in v and env in PINNED_ENVIRONMENTS and v.get("operation") not in ("cost",):
            errors.append(f"aws_account_id is not set; {env} must name the 12-digit AWS account it lives in "
                          "(in its inventory, or -e aws_account_id=...): preflight then refuses credentials of "
                          "any other account.")
    elif not ACCOUNT_RE.match(account):
        errors.append(f"aws_account_id {account!r} is not an AWS account ID; allowed: 12 digits, e.g. 123456789012.")
    role = str(v.get("aws_assume_role_arn") or "")
    if role and not ROLE_ARN_RE.match(role):
        errors.append(f"aws_assume_role_arn {role!r} is not an IAM role ARN; allowed: empty (the credentials as they "
                      "are) or arn:aws:iam::<12 digits>:role/<name>.")
    elif role and account and ACCOUNT_RE.match(account) and role.split(":")[4] != account:
        errors.append(f"aws_assume_role_arn is a role of account {role.split(':')[4]}, but aws_account_id is {account}; "
                      "allowed: a role of the environment's own account.")


def check_lock(v, errors):
    ttl = v.get("lock_ttl_seconds")
    if ttl not in (None, "") and _whole(ttl) is not None and _whole(ttl) < 60:
        errors.append(f"lock_ttl_seconds is {ttl}; allowed: 60 or more (a lock must outlive a slow AWS call).")


def check_app_build(v, errors):
    """The OpenNext build is read and checked before any AWS call, not after the database is up."""
    if v.get("operation") not in ("deploy", "drift") or "app_lambda_build_dir" not in v:
        return
    from ansible_collections.stream_sales.platform.plugins.module_utils.opennext import OpenNextError, parse_build
    folder = str(v["app_lambda_build_dir"])
    prefix = str(v.get("stream_sales_prefix") or "app")
    try:
        build = parse_build(folder, prefix)
    except OpenNextError as exc:
        message = str(exc)
        errors.append(message if message.startswith("app_build_dir") else f"app_build_dir {folder!r}: {message}.")
        return
    except OSError as exc:
        errors.append(f"app_build_dir {folder!r} cannot be read: {exc}.")
        return
    long_names = [f["name"] for f in build.get("functions", {}).values() if len(f.get("name", "")) > 64]
    if long_names:
        errors.append(f"app_build_dir {folder!r} gives functions names over Lambda's 64 characters: "
                      f"{', '.join(long_names)}; allowed: a shorter stream_sales_prefix or shorter function keys.")


RULES = (
    check_environment, check_region, check_endpoint, check_prefix, check_account, check_network, check_aurora,
    check_alarm_email, check_deletion_protection, check_teardown, check_migrate, check_rotate,
    check_custom_domain, check_outputs_path, check_lock, check_app_build,
)


def preflight_errors(values):
    """Return the list of rule violations for a mapping of variable name -> value."""
    # Variables not defined for this play (None) are not checked.
    values = {k: v for k, v in values.items() if v is not None}
    errors = []
    if values.get("operation") not in OPERATIONS:
        errors.append(f"operation is {values.get('operation')!r}; allowed: {', '.join(OPERATIONS)}.")
    for rule in RULES:
        rule(values, errors)
    return errors
