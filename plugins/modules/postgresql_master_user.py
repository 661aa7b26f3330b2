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
    database with the secret's password, nothing is changed. The password reaches PostgreSQL
    only as a SCRAM verifier, so not even the server's statement log sees it.
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
    description:
      - The cluster's master user; the secret's C(username) when omitted.
      - With O(state=present), the secret names either this user or, after a rotation with
        alternating users (M(stream_sales.platform.postgresql_rotation)), its clone
        (O(username) + C(_clone)). For the clone, the master user and the database are ensured
        as well, the master's password is left alone (rotation owns it), the owner setup of the
        rotation is completed when it is missing (made as the master, as the rotation makes it) and
        the clone gets the secret's password only when it cannot log in with it.
      - With O(state=absent), the role to drop, with its clone and the owner role O(owner_role) (no secret is read then).
    type: str
  owner_role:
    description:
      - The NOLOGIN role that owns the database and its objects once a rotation ran
        (M(stream_sales.platform.postgresql_rotation)); C(<database>_owner) when omitted.
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
    username: dbadmin
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
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import act_as
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import clone_of
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import ensure_owner_setup
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import owner_of
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import set_password

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
            # The master's clone and the owner role (alternating-users rotation) go with it.
            for role in (clone_of(p["username"]), p["owner_role"] or owner_of(p["database"]), p["username"]):
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    actions.append(f"drop role {role}")
                    if not module.check_mode:
                        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    except psycopg.Error as e:
        module.fail_json(msg=f"admin_url: PostgreSQL at {host}:{port} refused: {str(e).strip()}", actions=actions)
    result = dict(changed=bool(actions), login={}, actions=actions)
    if module._diff:
        result["diff"] = dict(before={"actions": []}, after={"actions": actions})
    module.exit_json(**result)


def ensure_present(module, conn, master, user, password, dbname, attributes, host, port):
    """The master role and the database it owns (what Aurora makes), and the secret's login."""
    actions = []
    options = sql.SQL(" ").join(sql.SQL(a) for a in ["LOGIN"] + attributes)
    db = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (master,)).fetchone():
        actions.append(f"create role {master}" + ("" if user == master else " (no password: the secret names its clone)"))
        if not module.check_mode:
            conn.execute(sql.SQL("CREATE ROLE {} {}").format(sql.Identifier(master), options))
            if user == master:
                set_password(module, conn, master, password)
    elif user == master and not logs_in(host, port, user, password, "postgres" if db is None else dbname):
        actions.append(f"set the password of role {user} to the secret's")
        if not module.check_mode:
            conn.execute(sql.SQL("ALTER ROLE {} {}").format(sql.Identifier(master), options))
            set_password(module, conn, master, password)
    if not db:
        actions.append(f"create database {dbname} owned by {master}")
        if not module.check_mode:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(dbname), sql.Identifier(master)))
    return actions


def ensure_clone(module, admin_url, master, owner, clone, password, dbname, host, port):
    """After a rotation the secret names the clone (the master's password is rotation's): the
    rotation's owner setup, made as the master (SET ROLE in the administrative session, so on
    PostgreSQL 16 the master holds ADMIN OPTION on what it creates, as after a real rotation), and
    the clone's password when it does not log in with the secret's."""
    actions = []
    with psycopg.connect(admin_url, dbname=dbname, autocommit=True, connect_timeout=10) as conn:
        actions.extend(ensure_owner_setup(conn, master, owner, clone, module.check_mode))
        if not logs_in(host, port, clone, password, dbname):
            actions.append(f"set the password of role {clone} to the secret's")
            if not module.check_mode:
                act_as(conn, master)
                set_password(module, conn, clone, password)
    return actions


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            admin_url=dict(type="str", required=True),
            secret_id=dict(type="str"),
            database=dict(type="str"),
            username=dict(type="str"),
            owner_role=dict(type="str"),
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
    master = p["username"] or user
    if user not in (master, clone_of(master)):
        module.fail_json(msg=f"secret_id: secret {p['secret_id']} names user {user}, neither the master user "
                             f"{master} nor its clone {clone_of(master)}.")
    dbname = p["database"] or secret.get("dbname") or master
    login = dict(host=host, port=port, username=user, database=dbname)

    actions = []
    if not logs_in(host, port, user, password, dbname):
        try:
            with psycopg.connect(p["admin_url"], autocommit=True, connect_timeout=10) as conn:
                actions = ensure_present(module, conn, master, user, password, dbname, attributes, host, port)
            owner = p["owner_role"] or owner_of(dbname)
            if user != master and module.check_mode and actions:
                # Check mode, and the master or the database is not there yet: nothing to look at.
                actions += [f"make {owner} own {dbname}, with {master} and {user} in it (the rotation's owner setup)",
                            f"set the password of role {user} to the secret's"]
            elif user != master:
                actions += ensure_clone(module, p["admin_url"], master, owner, user, password, dbname, host, port)
        except psycopg.Error as e:
            # psycopg's messages carry no password: it is sent only as a SCRAM verifier (hidden too).
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
