# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the rotation modules (secretsmanager_rotation, postgresql_rotation).

Secrets Manager side: the staging labels of a secret's versions, reading one version's value
(registered as no_log at once), generating a value inside Secrets Manager.

Database side (alternating users): the secret's ``username`` alternates between the cluster's
master user (``dbadmin``) and its clone (``dbadmin_clone``). A NOLOGIN owner role
(``streams_owner``) owns the database and its objects; both login users are members of it and
their sessions act as it (``ALTER ROLE ... SET role``), so whatever either creates - Prisma
migrations included - is owned by the owner role, whoever is current. The master user makes
this setup itself (it has CREATEROLE; on PostgreSQL 16+ the creator of a role holds ADMIN OPTION
on it, which is what lets it grant the owner role and manage the clone's password). The
master's own password is the cluster's: it is set through the RDS API (``ModifyDBCluster
MasterUserPassword``), which needs no SQL privilege. Passwords sent with SQL reach PostgreSQL
only as SCRAM verifiers computed on the control node (libpq's PQencryptPasswordConn), so not
even the server's statement log sees them.
"""

from __future__ import annotations

import json
import time

try:
    import psycopg
    from psycopg import sql

    HAS_PSYCOPG = True
except ImportError:
    HAS_PSYCOPG = False

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
LABELS = (CURRENT, PENDING, PREVIOUS)
CLONE_SUFFIX = "_clone"
OWNER_SUFFIX = "_owner"
APPLICATION_NAME = "stream_sales.platform rotation"
# Keys of a JSON secret whose values are secret themselves (never shown).
SECRET_KEYS = ("password", "secret", "key", "token")


# ------------------------------------------------------------------------------------------
# Secrets Manager
# ------------------------------------------------------------------------------------------
def labels(secret):
    """{label: version id} for AWSCURRENT, AWSPENDING and AWSPREVIOUS of a DescribeSecret answer."""
    out = {}
    for version_id, stages in (secret.get("VersionIdsToStages") or {}).items():
        for stage in stages:
            if stage in LABELS:
                out[stage] = version_id
    return out


def hide(module, value):
    """Register a secret value, and the secret fields of a JSON one, as no_log."""
    if not value:
        return
    module.no_log_values.add(value)
    try:
        doc = json.loads(value)
    except ValueError:
        return
    if isinstance(doc, dict):
        for key, val in doc.items():
            if isinstance(val, str) and val and any(word in key.lower() for word in SECRET_KEYS):
                module.no_log_values.add(val)


def read_version(module, sm, secret_id, version_id):
    """The SecretString of one version, hidden from every output before it is returned."""
    value = sm.get_secret_value(aws_retry=True, SecretId=secret_id, VersionId=version_id).get("SecretString") or ""
    hide(module, value)
    return value


def as_json(module, secret_id, value, label):
    """A version's value as a JSON object; the error never quotes the value."""
    try:
        doc = json.loads(value)
        if not isinstance(doc, dict):
            raise ValueError
    except ValueError:
        module.fail_json(msg=f"The {label} version of secret {secret_id} does not hold a JSON object.")
    return doc


def generate(module, sm, length, exclude_punctuation=True):
    """A random value from Secrets Manager's GetRandomPassword (the creation's rules)."""
    value = sm.get_random_password(
        aws_retry=True, PasswordLength=length, ExcludePunctuation=exclude_punctuation,
        IncludeSpace=False, RequireEachIncludedType=True,
    )["RandomPassword"]
    module.no_log_values.add(value)
    return value


def other_user(users, current):
    """The user a rotation switches to, or None when the current one is neither of the pair."""
    if current == users[0]:
        return users[1]
    if current == users[1]:
        return users[0]
    return None


def clone_of(master):
    return master + CLONE_SUFFIX


def owner_of(dbname):
    """The default owner role of a database: <dbname>_owner (streams_owner)."""
    return dbname + OWNER_SUFFIX


# ------------------------------------------------------------------------------------------
# PostgreSQL: the owner role and the two login users
# ------------------------------------------------------------------------------------------
class LoginFailed(Exception):
    """A credential was refused (or the server was unreachable); the text names no password."""

    @property
    def bad_password(self):
        """The server refused the password itself (not a connection limit, not an unreachable host)."""
        return "password authentication failed" in str(self)


def connect(host, port, user, password, dbname, sslmode="require", timeout=10):
    """An autocommit psycopg connection; LoginFailed carries the server's message only."""
    try:
        return psycopg.connect(host=host, port=port, user=user, password=password, dbname=dbname,
                               sslmode=sslmode, connect_timeout=timeout, autocommit=True,
                               application_name=APPLICATION_NAME)
    except psycopg.Error as exc:
        # libpq's messages carry host, port, user and the reason, never the password.
        raise LoginFailed(str(exc).strip()) from None


def logs_in(host, port, user, password, dbname, sslmode="require", timeout=10):
    """True when this user reaches the database with this password."""
    if not password:
        return False
    try:
        connect(host, port, user, password, dbname, sslmode, timeout).close()
        return True
    except LoginFailed:
        return False


def until(check, timeout, interval=5):
    """Call check() until it returns true or timeout seconds pass; its last answer.

    The first call is immediate, so what is already true costs no wait."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer or time.monotonic() >= deadline:
            return answer
        time.sleep(min(interval, max(deadline - time.monotonic(), 0)))


def server_version_num(conn):
    return int(conn.execute("SELECT pg_catalog.current_setting('server_version_num')").fetchone()[0])


def role_exists(conn, role):
    return conn.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (role,)).fetchone() is not None


def _member(conn, member, role, v16):
    """member has role's privileges (INHERIT) and may SET ROLE to it."""
    if not (role_exists(conn, member) and role_exists(conn, role)):
        return False
    second = "SET" if v16 else "MEMBER"
    return bool(conn.execute(f"SELECT pg_catalog.pg_has_role(%s, %s, 'USAGE') AND pg_catalog.pg_has_role(%s, %s, '{second}')",
                             (member, role, member, role)).fetchone()[0])


def _acts_as(conn, member, role):
    """member's sessions start as role (ALTER ROLE member SET role TO role, in every database)."""
    return conn.execute(
        "SELECT 1 FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_roles u ON u.oid = s.setrole "
        "WHERE u.rolname = %s AND s.setdatabase = 0 AND %s = ANY (s.setconfig)", (member, f"role={role}")).fetchone() is not None


def _owns_here(conn, role):
    """role owns this database or an object in it (pg_shdepend records every non-pinned owner)."""
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database d JOIN pg_catalog.pg_roles r ON r.oid = d.datdba "
        "               WHERE d.datname = pg_catalog.current_database() AND r.rolname = %s) "
        "    OR EXISTS (SELECT 1 FROM pg_catalog.pg_shdepend s JOIN pg_catalog.pg_roles r ON r.oid = s.refobjid "
        "               JOIN pg_catalog.pg_database d ON d.oid = s.dbid "
        "               WHERE s.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass AND s.deptype = 'o' "
        "                 AND d.datname = pg_catalog.current_database() AND r.rolname = %s)",
        (role, role)).fetchone()[0]


def owner_setup_missing(conn, master, owner, clone):
    """What the owner setup lacks, as the actions that make it, in their order (empty: complete).

    Read-only: any login of the database may ask (the clone too)."""
    v16 = server_version_num(conn) >= 160000
    dbname = conn.info.dbname
    missing = []
    if not role_exists(conn, owner):
        missing.append(f"create role {owner} (NOLOGIN), the owner of {dbname} and its objects")
    if not _member(conn, master, owner, v16):
        missing.append(f"grant {owner} to {master}")
    if _owns_here(conn, master):
        missing.append(f"reassign what {master} owns in {dbname} (the database, tables, sequences, ...) to {owner}")
    if not _acts_as(conn, master, owner):
        missing.append(f"make the sessions of {master} act as {owner}")
    if not role_exists(conn, clone):
        missing.append(f"create login role {clone}")
    if not _member(conn, clone, owner, v16):
        missing.append(f"grant {owner} to {clone}")
    if not _acts_as(conn, clone, owner):
        missing.append(f"make the sessions of {clone} act as {owner}")
    return missing


def act_as(conn, role):
    """Make role the current user (role attributes such as CREATEROLE are checked on it).

    A session of the master user starts as the owner role (its role setting); `SET ROLE
    master` brings the master back (RESET ROLE would not: it returns to the role setting)."""
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))


def ensure_owner_setup(conn, master, owner, clone, check_mode):
    """The owner role, owning the database and its objects, with both login users in it and
    acting as it. conn is connected to the application database as the master user; the
    statements run as the master. One transaction: a failure leaves nothing
    behind. Returns the actions taken (in check mode, that would be taken)."""
    missing = owner_setup_missing(conn, master, owner, clone)
    if check_mode or not missing:
        return missing
    v16 = server_version_num(conn) >= 160000
    # PostgreSQL 16 records how a membership may be used; 15 has neither the option nor the syntax.
    grant_options = sql.SQL(" WITH INHERIT TRUE, SET TRUE" if v16 else "")
    o, m, c = sql.Identifier(owner), sql.Identifier(master), sql.Identifier(clone)
    act_as(conn, master)
    with conn.transaction():
        if not role_exists(conn, owner):
            # The master creates it, so on 16+ it holds ADMIN OPTION on it (and may grant it).
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(o))
        if not _member(conn, master, owner, v16):
            conn.execute(sql.SQL("GRANT {} TO {}{}").format(o, m, grant_options))
        if _owns_here(conn, master):
            conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(m, o))
        if not _acts_as(conn, master, owner):
            conn.execute(sql.SQL("ALTER ROLE {} SET role TO {}").format(m, sql.Literal(owner)))
        if not role_exists(conn, clone):
            # Created by the master: on 16+ the master holds ADMIN OPTION on it, so it may set its password.
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(c))
        if not _member(conn, clone, owner, v16):
            conn.execute(sql.SQL("GRANT {} TO {}{}").format(o, c, grant_options))
        if not _acts_as(conn, clone, owner):
            conn.execute(sql.SQL("ALTER ROLE {} SET role TO {}").format(c, sql.Literal(owner)))
    return missing


def set_password(module, conn, role, password):
    """ALTER ROLE ... PASSWORD with a SCRAM verifier computed here (None: PASSWORD NULL).

    The statement text therefore never holds the password; the verifier is hidden as well."""
    if password is None:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD NULL").format(sql.Identifier(role)))
        return
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), None).decode()
    module.no_log_values.add(verifier)
    conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier)))


# ------------------------------------------------------------------------------------------
# RDS: the master user's password belongs to the cluster
# ------------------------------------------------------------------------------------------
def cluster_status(rds, cluster_id):
    return rds.describe_db_clusters(aws_retry=True, DBClusterIdentifier=cluster_id)["DBClusters"][0].get("Status", "")


def set_master_password(module, rds, cluster_id, password, timeout):
    """ModifyDBCluster MasterUserPassword with ApplyImmediately: AWS-native, no SQL privilege
    needed, whichever user is current. Aurora applies it within seconds (status
    resetting-master-credentials meanwhile); callers that need the new password wait for it
    to log in. ModifyDBCluster needs an available cluster, so a busy one is waited for first."""
    status = until(lambda: cluster_status(rds, cluster_id) == "available" or None, timeout)
    if not status:
        module.fail_json(msg=f"Cluster {cluster_id} did not become available within {timeout} s "
                             f"(status {cluster_status(rds, cluster_id)}); its master password was not changed.")
    rds.modify_db_cluster(aws_retry=True, DBClusterIdentifier=cluster_id, MasterUserPassword=password,
                          ApplyImmediately=True)
