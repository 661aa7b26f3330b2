#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: postgresql_master_user
short_description: A database's master login and the database itself, with the password of a secret
version_added: 0.1.0
description:
  - On a PostgreSQL server reached with the administrative URL O(admin_url), ensures the login
    role C(username) of the Secrets Manager secret O(secret_id) with that secret's C(password),
    and the database C(dbname) owned by it - what Aurora does for its master user. It lets a
    real PostgreSQL server stand in for an Aurora cluster's engine, as the embedded emulator does.
  - The password is read by the module itself from Secrets Manager; it never passes through
    Ansible variables, results, diff or errors.
  - Idempotent without knowing the stored password; when the role already logs in to its
    database with the secret's password, nothing is changed.
options:
  admin_url:
    description:
      - Administrative connection, e.g. C(postgresql://postgres@127.0.0.1:5432/postgres). Its host
        and port are the server's; the role must be able to create roles and databases.
    type: str
    required: true
  secret_id:
    description: ARN or name of the secret (JSON with C(username), C(password), optionally C(dbname)). Required with O(state=present).
    type: str
  database:
    description: Database to create; the secret's C(dbname) when omitted.
    type: str
  username:
    description: With O(state=absent), the role to drop (no secret is read then).
    type: str
  state:
    description:
      - C(absent) drops the database O(database) and the role O(username) (the engine of a deleted cluster goes with it).
    type: str
    choices: [present, absent]
    default: present
  role_attributes:
    description: Attributes of the login role besides C(LOGIN) (Aurora's master user may create roles and databases).
    type: list
    elements: str
    default: [CREATEDB, CREATEROLE]
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - stream_sales.platform.attributes
requirements:
  - psycopg >= 3.1
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: The emulator's PostgreSQL plays the cluster's engine
  stream_sales.platform.postgresql_master_user:
    admin_url: postgresql://postgres@127.0.0.1:54321/postgres
    secret_id: stream-sales/local/database/credentials
"""

RETURN = r"""
login:
  description: Where the master user now logs in (never its password).
  returned: always
  type: dict
  contains:
    host:
      description: Server host.
      type: str
    port:
      description: Server port.
      type: int
    username:
      description: The login role.
      type: str
    database:
      description: Its database.
      type: str
actions:
  description: What was (or in check mode would be) done, e.g. C(create role dbadmin).
  returned: always
  type: list
  elements: str
"""

import json
from urllib.parse import urlparse

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

try:
    import psycopg
    from psycopg import sql

    HAS_PSYCOPG = True
except ImportError:
    HAS_PSYCOPG = False

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client

ATTRIBUTES = {"CREATEDB", "CREATEROLE", "SUPERUSER", "REPLICATION", "BYPASSRLS", "INHERIT"}


def read_secret(module):
    try:
        raw = client(module, "secretsmanager").get_secret_value(aws_retry=True, SecretId=module.params["secret_id"])
        value = json.loads(raw["SecretString"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"secret_id: cannot read secret {module.params['secret_id']}")
    except (ValueError, KeyError, TypeError):
        module.fail_json(msg=f"secret_id: secret {module.params['secret_id']} is not a JSON document")
    if value.get("password"):
        module.no_log_values.add(value["password"])
    if not value.get("username") or not value.get("password"):
        module.fail_json(msg=f"secret_id: secret {module.params['secret_id']} lacks username or password")
    return value


def logs_in(host, port, user, password, dbname):
    """True when the role reaches its database with this password (nothing to change)."""
    try:
        with psycopg.connect(host=host, port=port, user=user, password=password, dbname=dbname,
                             connect_timeout=10, application_name="stream_sales.platform master user check"):
            return True
    except psycopg.OperationalError:
        return False


def drop(module, host, port):
    p = module.params
    actions = []
    try:
        with psycopg.connect(p["admin_url"], autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (p["database"],)).fetchone():
                actions.append(f"drop database {p['database']}")
                if not module.check_mode:
                    conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(p["database"])))
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (p["username"],)).fetchone():
                actions.append(f"drop role {p['username']}")
                if not module.check_mode:
                    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(p["username"])))
    except psycopg.Error as e:
        module.fail_json(msg=f"admin_url: PostgreSQL at {host}:{port} refused: {str(e).strip()}", actions=actions)
    result = dict(changed=bool(actions), login={}, actions=actions)
    if module._diff:
        result["diff"] = dict(before={"actions": []}, after={"actions": actions})
    module.exit_json(**result)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            admin_url=dict(type="str", required=True),
            secret_id=dict(type="str"),
            database=dict(type="str"),
            username=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            role_attributes=dict(type="list", elements="str", default=["CREATEDB", "CREATEROLE"]),
        ),
        required_if=[("state", "present", ["secret_id"]), ("state", "absent", ["username", "database"])],
        supports_check_mode=True,
    )
    if not HAS_PSYCOPG:
        module.fail_json(msg=missing_required_lib("psycopg (version 3)"))
    p = module.params
    attributes = [a.upper() for a in p["role_attributes"]]
    unknown = sorted(set(attributes) - ATTRIBUTES)
    if unknown:
        module.fail_json(msg=f"role_attributes: unknown {', '.join(unknown)}; allowed: {', '.join(sorted(ATTRIBUTES))}.")
    admin = urlparse(p["admin_url"])
    if admin.scheme not in ("postgresql", "postgres") or not admin.hostname:
        module.fail_json(msg="admin_url must look like postgresql://USER@HOST:PORT/DATABASE.")
    host, port = admin.hostname, admin.port or 5432
    if p["state"] == "absent":
        drop(module, host, port)
    secret = read_secret(module)
    user, password = secret["username"], secret["password"]
    dbname = p["database"] or secret.get("dbname") or user
    login = dict(host=host, port=port, username=user, database=dbname)

    actions = []
    if not logs_in(host, port, user, password, dbname):
        try:
            with psycopg.connect(p["admin_url"], autocommit=True, connect_timeout=10) as conn:
                role = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
                db = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
                options = sql.SQL(" ").join(sql.SQL(a) for a in ["LOGIN"] + attributes)
                if not role:
                    actions.append(f"create role {user}")
                    if not module.check_mode:
                        conn.execute(sql.SQL("CREATE ROLE {} {} PASSWORD {}").format(
                            sql.Identifier(user), options, sql.Literal(password)))
                elif not logs_in(host, port, user, password, "postgres" if db is None else dbname):
                    actions.append(f"set the password of role {user} to the secret's")
                    if not module.check_mode:
                        conn.execute(sql.SQL("ALTER ROLE {} {} PASSWORD {}").format(
                            sql.Identifier(user), options, sql.Literal(password)))
                if not db:
                    actions.append(f"create database {dbname} owned by {user}")
                    if not module.check_mode:
                        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                            sql.Identifier(dbname), sql.Identifier(user)))
        except psycopg.Error as e:
            # psycopg's messages carry no statement text, so no password either.
            module.fail_json(msg=f"admin_url: PostgreSQL at {host}:{port} refused: {str(e).strip()}", actions=actions)
        if not module.check_mode and not logs_in(host, port, user, password, dbname):
            module.fail_json(msg=f"Role {user} still cannot log in to {dbname} at {host}:{port} "
                                 "(check pg_hba.conf allows password logins from this host).", actions=actions)
    result = dict(changed=bool(actions), login=login, actions=actions)
    if module._diff:
        result["diff"] = dict(before={"actions": []}, after={"actions": actions})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
