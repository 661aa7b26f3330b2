#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: postgresql_rotation
short_description: The database steps of a rotation with alternating users - set, test, retire
version_added: 0.1.0
description:
  - Runs the database side of Secrets Manager's rotation protocol for the PostgreSQL
    credentials in the secret O(secret_id) (JSON C(username), C(password), C(host), C(port),
    C(dbname)), with the alternating-users strategy - the C(AWSCURRENT) credential keeps
    working at every moment. Works on PostgreSQL 15 and 16 (Aurora PostgreSQL 16).
  - The users are the cluster's master user O(master_username) and its clone
    (O(master_username) + C(_clone)). A NOLOGIN owner role O(owner_role) owns the database and
    its objects; both users are members of it and their sessions act as it
    (C(ALTER ROLE ... SET role)), so whatever either creates is owned by the owner role.
  - The owner setup is made by the master user, connected with its credential, whenever it is
    missing (the first rotation) - C(CREATE ROLE) the owner, C(GRANT) it to the master,
    C(REASSIGN OWNED BY) the master C(TO) the owner (the database, its tables, sequences, ...),
    C(CREATE ROLE) the clone, C(GRANT) the owner to it, and make both act as the owner. The
    master creates both roles, so on PostgreSQL 16 it holds C(ADMIN OPTION) on them. One
    transaction - a failure leaves nothing behind.
  - O(step=set) gives the user named by C(AWSPENDING) its password. The clone's is set with SQL,
    connected as the master (C(AWSCURRENT)). The master's is the cluster's - set with the RDS API
    (C(ModifyDBCluster MasterUserPassword), C(ApplyImmediately)) on O(cluster_identifier), which
    needs no SQL privilege. When that password already logs in, nothing changes (a rerun after
    an interruption).
  - O(step=test) connects with the C(AWSPENDING) credential - for the master, retrying for up to
    O(master_password_timeout) seconds while the cluster applies the new password - and checks
    that it acts as O(owner_role) and may create tables (a temporary table, rolled back). It
    changes nothing; a failure fails the module, so the caller can roll back.
  - O(step=retire) runs after the finish - the C(AWSPREVIOUS) credential, when it names the
    other user, is made to fail. The clone's password is removed with SQL (C(PASSWORD NULL)), as the
    master; the master gets a new random password through the RDS API that is stored nowhere
    and never shown. The next rotation gives that user a new password.
  - Passwords are read by the module from Secrets Manager; in SQL they reach PostgreSQL only as
    SCRAM verifiers. They never appear in results, diff, errors or the server's statement log.
  - Why not upstream - M(community.postgresql.postgresql_user) sets a password given as a module
    parameter (so through Ansible variables) and knows no rotation; AWS runs the alternating-users
    steps only inside a rotation Lambda function, which this collection does not ship.
options:
  secret_id:
    description: ARN or name of the database secret.
    type: str
    required: true
  step:
    description: The rotation step to run.
    type: str
    required: true
    choices: [set, test, retire]
  master_username:
    description: The cluster's master user; its clone is this name + C(_clone).
    type: str
    default: dbadmin
  owner_role:
    description: The NOLOGIN role that owns the database and its objects; C(<dbname>_owner) (C(streams_owner)) when omitted.
    type: str
  cluster_identifier:
    description:
      - The Aurora cluster whose master password is set through the RDS API. Needed when a step
        changes the master user's password (setting C(AWSPENDING) for it, retiring it).
    type: str
  master_password_timeout:
    description: Seconds to wait for the cluster to apply a new master password (and, on retire, to reject the old one).
    type: int
    default: 300
  host:
    description: Connect here instead of the secret's C(host) (e.g. an SSH tunnel's local end).
    type: str
  port:
    description: Connect to this port instead of the secret's C(port).
    type: int
  database:
    description: Database to connect to; the secret's C(dbname) when omitted.
    type: str
  sslmode:
    description: libpq C(sslmode) (Aurora forces TLS).
    type: str
    default: require
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
  connect_timeout:
    description: Seconds to wait for each connection.
    type: int
    default: 10
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
- name: Set AWSPENDING's password (SQL for the clone, the RDS API for the master)
  stream_sales.platform.postgresql_rotation:
    secret_id: stream-sales/dev/database/credentials
    step: set
    cluster_identifier: stream-sales-dev-cluster

- name: Connect with AWSPENDING through a tunnel
  stream_sales.platform.postgresql_rotation:
    secret_id: stream-sales/dev/database/credentials
    step: test
    host: 127.0.0.1
    port: 15432
"""

RETURN = r"""
login:
  description: Where the step connected (never a password).
  returned: always
  type: dict
  contains:
    host:
      description: Server host.
      type: str
    port:
      description: Server port.
      type: int
    database:
      description: Database.
      type: str
users:
  description: The C(username) of the C(AWSCURRENT), C(AWSPENDING) and C(AWSPREVIOUS) versions (empty when absent).
  returned: always
  type: dict
  sample: {current: dbadmin, pending: dbadmin_clone, previous: ""}
owner_role:
  description: The role that owns the database and its objects.
  returned: always
  type: str
  sample: streams_owner
actions:
  description: What was (or in check mode would be) done, e.g. C(set the password of dbadmin_clone to AWSPENDING's).
  returned: always
  type: list
  elements: str
"""

import secrets
import string
import time

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

try:
    import psycopg
except ImportError:
    pass  # reported through HAS_PSYCOPG

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import CURRENT
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import HAS_PSYCOPG
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import PENDING
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import PREVIOUS
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import LoginFailed
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import act_as
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import as_json
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import clone_of
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import connect
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import ensure_owner_setup
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import labels
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import logs_in
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import owner_of
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import owner_setup_missing
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import read_version
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import set_master_password
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import set_password
from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import until

NAMES = {CURRENT: "current", PENDING: "pending", PREVIOUS: "previous"}
RETIRED_PASSWORD_LENGTH = 32


class DatabaseRotation:
    def __init__(self, module, sm):
        self.module = module
        p = self.p = module.params
        secret = sm.describe_secret(aws_retry=True, SecretId=p["secret_id"])
        self.name = secret["Name"]
        self.labels = labels(secret)
        if CURRENT not in self.labels:
            module.fail_json(msg=f"Secret {self.name} has no AWSCURRENT version.")
        self.docs = {label: as_json(module, self.name, read_version(module, sm, secret["ARN"], version), label)
                     for label, version in self.labels.items()}
        for label, doc in self.docs.items():
            if not doc.get("username") or not doc.get("password"):
                module.fail_json(msg=f"The {label} version of secret {self.name} lacks username or password.")
        current = self.docs[CURRENT]
        self.host = p["host"] or current.get("host") or ""
        self.port = p["port"] or int(current.get("port") or 5432)
        self.dbname = p["database"] or current.get("dbname") or "postgres"
        if not self.host:
            module.fail_json(msg=f"Secret {self.name} names no host (deploy fills it in once the cluster exists); "
                                 "or give host and port.")
        self.sslmode = p["sslmode"]
        self.master = p["master_username"]
        self.clone = clone_of(self.master)
        self.owner = p["owner_role"] or owner_of(self.dbname)
        self.actions = []
        self.changed = False
        self._rds = None

    # ---- helpers -----------------------------------------------------------------------------
    def user(self, label):
        return self.docs[label]["username"] if label in self.docs else ""

    def login(self):
        return dict(host=self.host, port=self.port, database=self.dbname)

    def works(self, label):
        doc = self.docs[label]
        return logs_in(self.host, self.port, doc["username"], doc["password"], self.dbname, self.sslmode,
                       self.p["connect_timeout"])

    def connect_as(self, label, wait=0):
        """A connection with a version's credential. With wait, a refused password is tried again
        for that many seconds (the cluster applying a new master password); other failures
        (unreachable, connection limit) are not waited for."""
        doc = self.docs[label]
        deadline = time.monotonic() + wait
        while True:
            try:
                return connect(self.host, self.port, doc["username"], doc["password"], self.dbname, self.sslmode,
                               self.p["connect_timeout"])
            except LoginFailed as exc:
                if not exc.bad_password or time.monotonic() >= deadline:
                    waited = f" (tried for {wait} s while the cluster applied it)" if wait and exc.bad_password else ""
                    self.module.fail_json(
                        msg=f"The {label} credential (user {doc['username']}) cannot log in to {self.dbname} at "
                            f"{self.host}:{self.port}{waited}: {exc}", actions=self.actions, login=self.login())
            time.sleep(5)

    def master_wait(self, label):
        """How long a login with this version may wait: its user's password may be in the cluster's hands."""
        return self.p["master_password_timeout"] if self.user(label) == self.master else 0

    def check_pair(self, label):
        if self.user(label) not in (self.master, self.clone):
            self.module.fail_json(
                msg=f"The {label} version of secret {self.name} names user {self.user(label)!r}; the rotation "
                    f"alternates between {self.master} and {self.clone}.")

    def rds(self):
        if not self.p["cluster_identifier"]:
            self.module.fail_json(msg=f"cluster_identifier is required to change the password of the master user "
                                      f"{self.master} (ModifyDBCluster).", actions=self.actions)
        if self._rds is None:
            self._rds = client(self.module, "rds")
        return self._rds

    def set_master_password(self, password):
        set_master_password(self.module, self.rds(), self.p["cluster_identifier"], password,
                            self.p["master_password_timeout"])

    # ---- steps -------------------------------------------------------------------------------
    def set(self):
        if PENDING not in self.labels:
            if self.module.check_mode:
                # The create step would make AWSPENDING for the other user; from the master that is
                # the clone, made after the owner setup when it is missing (the first rotation).
                self.check_pair(CURRENT)
                if self.user(CURRENT) == self.master:
                    with self.connect_as(CURRENT) as conn:
                        self.actions.extend(owner_setup_missing(conn, self.master, self.owner, self.clone))
                self.actions.append("set the password of the user the new AWSPENDING version names")
                self.changed = True
            else:
                self.actions.append("no AWSPENDING version: nothing to set")
            return
        if self.labels[PENDING] == self.labels[CURRENT]:
            self.actions.append("AWSPENDING is already AWSCURRENT: nothing to set")
            return
        self.check_pair(CURRENT)
        self.check_pair(PENDING)
        pending = self.user(PENDING)
        if pending == self.user(CURRENT):
            self.module.fail_json(
                msg=f"AWSPENDING of secret {self.name} names the current user {pending}: setting its password "
                    "would break AWSCURRENT until the finish. Cancel that version (rotation alternates users).")
        actions = self.set_master() if pending == self.master else self.set_clone()
        # Whether the new password works is the test step's question (its failure rolls back).
        self.actions.extend(actions)
        self.changed = bool(actions)
        if not actions:
            self.actions.append(f"AWSPENDING's password already works for {pending}")

    def set_clone(self):
        """AWSCURRENT is the master: it completes the owner setup and sets the clone's password."""
        with self.connect_as(CURRENT) as conn:
            actions = ensure_owner_setup(conn, self.master, self.owner, self.clone, self.module.check_mode)
            if not self.works(PENDING):
                actions.append(f"set the password of {self.clone} to AWSPENDING's (SQL, as {self.master})")
                if not self.module.check_mode:
                    act_as(conn, self.master)
                    set_password(self.module, conn, self.clone, self.docs[PENDING]["password"])
        return actions

    def set_master(self):
        """AWSCURRENT is the clone: the master's password goes through the RDS API. Should the owner
        setup be incomplete (made by hand, or by an older version), the master completes it once
        its new password logs in."""
        with self.connect_as(CURRENT) as conn:
            missing = owner_setup_missing(conn, self.master, self.owner, self.clone)
        actions = []
        if not self.works(PENDING):
            actions.append(f"set the password of {self.master} to AWSPENDING's (RDS ModifyDBCluster MasterUserPassword, "
                           f"cluster {self.p['cluster_identifier'] or '?'})")
            if not self.module.check_mode:
                self.set_master_password(self.docs[PENDING]["password"])
        if missing and not self.module.check_mode:
            with self.connect_as(PENDING, wait=self.master_wait(PENDING)) as conn:
                missing = ensure_owner_setup(conn, self.master, self.owner, self.clone, False)
        return actions + missing

    def test(self):
        if PENDING not in self.labels:
            self.actions.append("no AWSPENDING version: nothing to test")
            if not self.module.check_mode:
                self.module.fail_json(msg=f"Secret {self.name} has no AWSPENDING version to test.", actions=self.actions)
            return
        with self.connect_as(PENDING, wait=self.master_wait(PENDING)) as conn:
            session_user, current_user, may_create = conn.execute(
                "SELECT session_user, current_user, "
                "pg_catalog.has_database_privilege(current_user, pg_catalog.current_database(), 'CREATE')").fetchone()
            if current_user != self.owner:
                self.module.fail_json(
                    msg=f"AWSPENDING's user {session_user} acts as {current_user}, not as the owner role {self.owner}.",
                    actions=self.actions, login=self.login())
            if not may_create:
                self.module.fail_json(msg=f"AWSPENDING's user {session_user} may not create in {self.dbname}.",
                                      actions=self.actions, login=self.login())
            try:
                with conn.transaction(force_rollback=True):
                    conn.execute("CREATE TABLE stream_sales_rotation_test (id integer)")
                    owner = conn.execute("SELECT tableowner FROM pg_catalog.pg_tables "
                                         "WHERE tablename = 'stream_sales_rotation_test'").fetchone()[0]
            except psycopg.Error as exc:
                self.module.fail_json(msg=f"AWSPENDING's user {session_user} cannot create a table: {str(exc).strip()}",
                                      actions=self.actions, login=self.login())
            if owner != self.owner:
                self.module.fail_json(msg=f"A table AWSPENDING's user {session_user} creates is owned by {owner}, "
                                          f"not by {self.owner}.", actions=self.actions, login=self.login())
        self.actions.append(f"AWSPENDING logs in as {session_user}, acts as {current_user} and creates tables owned by it")

    def retire(self):
        if PENDING in self.labels and self.labels[PENDING] != self.labels[CURRENT]:
            self.actions.append("a rotation is still pending: nothing to retire before its finish")
            return
        if PREVIOUS not in self.labels:
            self.actions.append("no AWSPREVIOUS version: nothing to retire")
            return
        previous = self.user(PREVIOUS)
        if previous == self.user(CURRENT):
            self.actions.append(f"AWSPREVIOUS names the current user {previous}: nothing to retire")
            return
        self.check_pair(PREVIOUS)
        if not self.works(PREVIOUS):
            self.actions.append(f"the AWSPREVIOUS credential of {previous} is already rejected")
            return
        self.changed = True
        wait = 0
        if previous == self.master:
            self.actions.append(f"give {self.master} a random password that is stored nowhere (RDS ModifyDBCluster "
                                f"MasterUserPassword): AWSPREVIOUS is rejected from now on")
            if self.module.check_mode:
                return
            alphabet = string.ascii_letters + string.digits
            unknown = "".join(secrets.choice(alphabet) for dummy in range(RETIRED_PASSWORD_LENGTH))
            self.module.no_log_values.add(unknown)
            self.set_master_password(unknown)
            wait = self.p["master_password_timeout"]
        else:
            self.actions.append(f"remove the password of {previous} (SQL, as {self.master}): AWSPREVIOUS is rejected "
                                "from now on")
            if self.module.check_mode:
                return
            with self.connect_as(CURRENT) as conn:
                act_as(conn, self.master)
                set_password(self.module, conn, previous, None)
        if not until(lambda: not self.works(PREVIOUS), wait):
            self.module.fail_json(msg=f"The AWSPREVIOUS credential of {previous} still logs in"
                                      + (f" after {wait} s." if wait else "."), actions=self.actions)


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            secret_id=dict(type="str", required=True),
            step=dict(type="str", required=True, choices=["set", "test", "retire"]),
            master_username=dict(type="str", default="dbadmin"),
            owner_role=dict(type="str"),
            cluster_identifier=dict(type="str"),
            master_password_timeout=dict(type="int", default=300, no_log=False),
            host=dict(type="str"),
            port=dict(type="int"),
            database=dict(type="str"),
            sslmode=dict(type="str", default="require",
                         choices=["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]),
            connect_timeout=dict(type="int", default=10),
        ),
        supports_check_mode=True,
    )
    if not HAS_PSYCOPG:
        module.fail_json(msg=missing_required_lib("psycopg (version 3)"))
    p = module.params
    try:
        rotation = DatabaseRotation(module, client(module, "secretsmanager"))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Cannot read the versions of secret {p['secret_id']}")
    try:
        getattr(rotation, p["step"])()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"The {p['step']} step could not change the master password of cluster "
                                    f"{p['cluster_identifier']}")
    except psycopg.Error as exc:
        # psycopg's messages carry no statement text, so no password or verifier either.
        module.fail_json(msg=f"PostgreSQL at {rotation.host}:{rotation.port} refused the {p['step']} step: "
                             f"{str(exc).strip()}", actions=rotation.actions, login=rotation.login())
    users = {NAMES[label]: rotation.user(label) for label in NAMES}
    result = dict(changed=rotation.changed, login=rotation.login(), users=users, owner_role=rotation.owner,
                  actions=rotation.actions)
    if module._diff:
        result["diff"] = dict(before={"actions": []}, after={"actions": rotation.actions if rotation.changed else []})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
