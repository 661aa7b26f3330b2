#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the stream_sales.platform collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: prisma_migrate
short_description: Apply Prisma migrations to PostgreSQL (Aurora) without the Prisma CLI
version_added: 1.0.0
description:
  - A native implementation of C(prisma migrate deploy) and C(prisma migrate resolve) for PostgreSQL,
    bookkeeping-compatible with Prisma (same C(_prisma_migrations) table and rows, SHA-256 checksums,
    advisory lock 72707369, the same refusals P3005, P3009, P3019 and resolve errors P3017, P3008,
    P3011, P3012). A database migrated by this module can be handled by the Prisma CLI and the other way round.
  - The database credentials are read by the module itself from the Secrets Manager secret I(secret_arn),
    so the password never passes through Ansible variables, results or logs.
  - With I(transport=direct) the module connects with psycopg; each C(migration.sql) is sent as one
    simple-query batch, as Prisma does.
  - With I(transport=data_api) the module uses the RDS Data API, one statement per call. Scripts are
    split with PostgreSQL's parser (pglast) and PostgreSQL's multi-statement rules are replayed with
    Data API transactions, so the result is the same as over a direct connection. The advisory lock
    is held by a dedicated Data API transaction (C(pg_advisory_xact_lock)) for the whole run.
  - Why not upstream - nothing in amazon.aws, community.aws or community.postgresql applies Prisma
    migrations; M(community.postgresql.postgresql_script) runs SQL over a direct connection only,
    without Prisma's bookkeeping, lock or refusals, and has no RDS Data API transport.
author:
  - Stream Sales platform team (@stream-sales)
options:
  migrations_dir:
    description:
      - The Prisma migrations folder (C(prisma/migrations)) on the managed host; one subfolder per
        migration holding C(migration.sql), and optionally C(migration_lock.toml).
    type: path
    required: true
  secret_arn:
    description:
      - ARN (or name) of the database secret, JSON with C(username), C(password), C(host), C(port), C(dbname).
      - For I(transport=data_api) it is the C(secretArn) of the Data API calls; it is only read when
        I(database) is not given.
    type: str
    required: true
  transport:
    description:
      - C(direct) connects to PostgreSQL (the host must be reachable, e.g. through a tunnel with I(host)/I(port)).
      - C(data_api) goes through the RDS Data API of the cluster I(cluster_arn).
    type: str
    choices: [direct, data_api]
    default: direct
  cluster_arn:
    description:
      - ARN of the Aurora cluster. Required when I(transport=data_api).
    type: str
  database:
    description:
      - Database name. Defaults to the secret's C(dbname).
    type: str
  host:
    description:
      - Overrides the secret's C(host) (I(transport=direct)).
    type: str
  port:
    description:
      - Overrides the secret's C(port) (I(transport=direct)).
    type: int
  schema:
    description:
      - The schema holding the application tables and C(_prisma_migrations) (Prisma's C(?schema=)).
      - Only C(public) with I(transport=data_api), which has no session to set a C(search_path) on.
    type: str
    default: public
  sslmode:
    description:
      - libpq C(sslmode) for I(transport=direct). Aurora refuses unencrypted logins where
        C(rds.force_ssl=1) (the aurora role's parameter group).
    type: str
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
    default: require
  operation:
    description:
      - C(deploy) applies pending migrations (C(prisma migrate deploy)).
      - C(resolve_applied) records I(migration) as applied without running it (C(prisma migrate resolve --applied)).
        Already recorded as applied is reported as unchanged rather than as error P3008.
      - C(resolve_rolled_back) marks the failed I(migration) as rolled back (C(prisma migrate resolve --rolled-back)).
      - C(status) only reports.
    type: str
    choices: [deploy, resolve_applied, resolve_rolled_back, status]
    default: deploy
  migration:
    description:
      - Migration (folder) name for the C(resolve_*) operations.
    type: str
  lock_timeout:
    description:
      - Seconds to wait for the advisory lock before failing with P1002, as Prisma does after 10 s.
      - C(0) waits forever. Over the Data API keep it under the 45 s limit of one call.
    type: int
    default: 10
notes:
  - Check mode lists what would be applied and changes nothing; it still validates C(migration_lock.toml)
    and refuses on failed migrations (P3009) and non-empty schemas without history (P3005) as deploy would.
  - Diff mode shows the applied migration names before and after.
  - Every AWS call is retried with jittered backoff, including the Data API's C(DatabaseResumingException)
    of a paused Aurora Serverless v2 cluster.
requirements:
  - psycopg >= 3.1 (I(transport=direct))
  - pglast (I(transport=data_api))
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Apply the app's migrations over the Data API
  stream_sales.platform.prisma_migrate:
    migrations_dir: "{{ playbook_dir }}/../example-app/prisma/migrations"
    secret_arn: "{{ database_secret_arn }}"
    transport: data_api
    cluster_arn: "{{ cluster_arn }}"

- name: Apply them through an SSH tunnel on localhost:15432
  stream_sales.platform.prisma_migrate:
    migrations_dir: prisma/migrations
    secret_arn: stream-sales/dev/database/credentials
    host: 127.0.0.1
    port: 15432

- name: After fixing a failed migration by hand, mark it rolled back
  stream_sales.platform.prisma_migrate:
    migrations_dir: prisma/migrations
    secret_arn: stream-sales/dev/database/credentials
    operation: resolve_rolled_back
    migration: 20240215083000_order_numbers
"""

RETURN = r"""
applied:
  description: Migrations applied (or, for C(resolve_applied), recorded as applied) by this run.
  returned: always
  type: list
  elements: str
  sample: ["20240105090000_init"]
pending:
  description: Migrations still pending after the run; in check mode, those a deploy would apply.
  returned: always
  type: list
  elements: str
applied_migrations:
  description: All migrations recorded as applied after the run.
  returned: always
  type: list
  elements: str
failed_migrations:
  description:
    - Failed migrations recorded in the database (finished_at and rolled_back_at unset).
    - Not called C(failed), which Ansible reserves for the task's own status.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Migration name.
      type: str
    started_at:
      description: When it was started (UTC).
      type: str
server_version:
  description: The PostgreSQL server version.
  returned: when the database was reached
  type: str
  sample: "15.8"
code:
  description: Prisma's error code of a failure (P1002, P3005, P3009, P3018, P3019, ...).
  returned: failure
  type: str
"""

import json
import os

try:
    from botocore.exceptions import BotoCoreError
    from botocore.exceptions import ClientError
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.stream_sales.platform.plugins.module_utils.pg_transport import HAS_PGLAST
from ansible_collections.stream_sales.platform.plugins.module_utils.pg_transport import HAS_PSYCOPG
from ansible_collections.stream_sales.platform.plugins.module_utils.pg_transport import DataApiTransport
from ansible_collections.stream_sales.platform.plugins.module_utils.pg_transport import DirectTransport
from ansible_collections.stream_sales.platform.plugins.module_utils.prisma_migrate import DatabaseError
from ansible_collections.stream_sales.platform.plugins.module_utils.prisma_migrate import Migrator
from ansible_collections.stream_sales.platform.plugins.module_utils.prisma_migrate import PrismaError
from ansible_collections.stream_sales.platform.plugins.module_utils.prisma_migrate import load_migrations

# A paused Aurora Serverless v2 cluster answers DatabaseResumingException before running
# anything, so retrying it is safe.
RETRY = AWSRetry.jittered_backoff(retries=10, catch_extra_error_codes=["DatabaseResumingException"])


class Scrubber:
    """Keeps the database password out of every message we return."""

    def __init__(self, module):
        self.module = module
        self.secrets = []

    def add(self, value) -> None:
        if value:
            self.secrets.append(str(value))
            self.module.no_log_values.add(str(value))  # Ansible masks it in results too

    def __call__(self, text) -> str:
        text = str(text)
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text


def validate(module):
    """Everything that can be checked before any AWS or database call."""
    params = module.params
    if params["transport"] == "data_api" and params["schema"] != "public":
        module.fail_json(msg="schema: only 'public' is supported with transport=data_api (the Data API has"
                             " no session to set search_path on); use transport=direct for other schemas")
    if params["lock_timeout"] < 0:
        module.fail_json(msg="lock_timeout must be 0 (wait forever) or a positive number of seconds")
    if params["transport"] == "direct" and not HAS_PSYCOPG:
        module.fail_json(msg=missing_required_lib("psycopg (version 3)"))
    if params["transport"] == "data_api" and not HAS_PGLAST:
        module.fail_json(msg=missing_required_lib("pglast"))
    if not os.path.isdir(params["migrations_dir"]):
        module.fail_json(msg=f"migrations_dir: {params['migrations_dir']} does not exist or is not a directory")
    try:
        return load_migrations(params["migrations_dir"])
    except PrismaError as exc:
        module.fail_json(msg=exc.message, code=exc.code)
    except (OSError, UnicodeDecodeError) as exc:
        module.fail_json(msg=f"migrations_dir: cannot read the migrations: {exc}")


def read_secret(module, scrub) -> dict:
    client = module.client("secretsmanager", retry_decorator=RETRY)
    try:
        value = client.get_secret_value(SecretId=module.params["secret_arn"], aws_retry=True)["SecretString"]
    except (BotoCoreError, ClientError) as exc:
        module.fail_json_aws(exc, msg=f"secret_arn: cannot read secret {module.params['secret_arn']}")
    try:
        secret = json.loads(value)
    except ValueError:
        module.fail_json(msg=f"secret_arn: secret {module.params['secret_arn']} is not JSON")
    scrub.add(secret.get("password"))
    missing = [k for k in ("username", "password", "host", "port") if not secret.get(k)]
    if missing:
        module.fail_json(msg=f"secret_arn: secret {module.params['secret_arn']} lacks {', '.join(missing)}")
    return secret


def open_transport(module, scrub):
    params = module.params
    if params["transport"] == "data_api":
        database = params["database"] or read_secret(module, scrub).get("dbname")
        client = module.client("rds-data", retry_decorator=RETRY)
        return DataApiTransport(client, params["cluster_arn"], params["secret_arn"], database,
                                call_options={"aws_retry": True})
    secret = read_secret(module, scrub)
    return DirectTransport(
        host=params["host"] or secret["host"],
        port=params["port"] or int(secret["port"]),
        user=secret["username"],
        password=secret["password"],
        dbname=params["database"] or secret.get("dbname") or "postgres",
        sslmode=params["sslmode"],
        schema=params["schema"],
    )


def run(module, migrator):
    operation, check = module.params["operation"], module.check_mode
    if operation == "deploy":
        return migrator.deploy(check=check)
    if operation == "status":
        return migrator.status()
    if operation == "resolve_applied":
        try:
            return migrator.resolve_applied(module.params["migration"], check=check)
        except PrismaError as exc:
            if exc.code != "P3008":
                raise
            # Idempotence: the state asked for is already there.
            outcome = migrator.status()
            outcome.pending = []
            return outcome
    return migrator.resolve_rolled_back(module.params["migration"], check=check)


def main():
    argument_spec = dict(
        migrations_dir=dict(type="path", required=True),
        secret_arn=dict(type="str", required=True, no_log=False),
        transport=dict(type="str", choices=["direct", "data_api"], default="direct"),
        cluster_arn=dict(type="str"),
        database=dict(type="str"),
        host=dict(type="str"),
        port=dict(type="int"),
        schema=dict(type="str", default="public"),
        sslmode=dict(type="str", default="require",
                     choices=["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]),
        operation=dict(type="str", default="deploy",
                       choices=["deploy", "resolve_applied", "resolve_rolled_back", "status"]),
        migration=dict(type="str"),
        lock_timeout=dict(type="int", default=10),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[
            ("transport", "data_api", ["cluster_arn"]),
            ("operation", "resolve_applied", ["migration"]),
            ("operation", "resolve_rolled_back", ["migration"]),
        ],
    )
    migrations = validate(module)
    scrub = Scrubber(module)
    result = dict(changed=False, applied=[], pending=[], applied_migrations=[], failed_migrations=[])

    transport = None
    try:
        transport = open_transport(module, scrub)
        result["server_version"] = transport.server_version()
        migrator = Migrator(transport, migrations, schema=module.params["schema"],
                            lock_timeout=module.params["lock_timeout"])
        outcome = run(module, migrator)
    except PrismaError as exc:
        details = exc.details
        result.update(applied=details.get("applied", []), failed_migrations=details.get("failed", []),
                      pending=details.get("pending", []), changed=bool(details.get("applied")))
        module.fail_json(msg=scrub(exc.message), code=exc.code, **result)
    except DatabaseError as exc:
        module.fail_json(msg=scrub(f"database error {exc.sqlstate}: {exc.message}"), sqlstate=exc.sqlstate, **result)
    except (BotoCoreError, ClientError) as exc:
        module.fail_json_aws(exc, msg=scrub(f"{module.params['transport']} transport failed"))
    finally:
        if transport is not None:
            try:
                transport.close()
            except Exception:  # pylint: disable=broad-except
                pass  # closing is best effort; the session's lock goes with it

    result.update(changed=outcome.changed, applied=outcome.applied, pending=outcome.pending,
                  applied_migrations=outcome.after, failed_migrations=outcome.failed)
    if module._diff:
        result["diff"] = dict(before={"applied_migrations": outcome.before},
                              after={"applied_migrations": outcome.after})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
