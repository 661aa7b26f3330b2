# -*- coding: utf-8 -*-

# Copyright: Contributors to the stream_sales.platform collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Transports for the native Prisma migrator: how SQL reaches PostgreSQL.

DirectTransport   psycopg 3 on one session. A migration script goes out as ONE simple-query
                  message, so PostgreSQL itself applies its rules: a multi-statement script is
                  one implicit transaction, a lone ``CREATE INDEX CONCURRENTLY`` runs outside any
                  transaction, a script's own BEGIN/COMMIT is honoured.

DataApiTransport  the RDS Data API (a boto3 ``rds-data`` client), which runs one statement per
                  call and has no session between calls. Scripts are split by pglast (PostgreSQL's
                  own parser) and the simple-query rules above are replayed with Data API
                  transactions, so both transports leave the same database behind.

                  The advisory lock: a session lock would stay on whichever pooled connection ran
                  it, so the transport opens a dedicated Data API transaction (the Data API pins a
                  connection to it) and takes ``pg_advisory_xact_lock(72707369)`` there. The lock
                  lives exactly as long as that transaction: released by rolling it back at the
                  end, or by the Data API's idle-transaction timeout if the process dies (a
                  keepalive statement every minute stops that timeout from firing during a long
                  deploy). Two deploys therefore serialize as with Prisma's session lock. The lock
                  transaction takes no other lock and holds no snapshot while idle (READ
                  COMMITTED, and a snapshot-free last statement: see _SNAPSHOT_FREE_STATEMENT), so
                  ``CREATE INDEX CONCURRENTLY`` in another session does not wait for it.
"""

from __future__ import annotations

import threading
from datetime import datetime
from datetime import timezone

try:
    import psycopg
    from psycopg.pq import TransactionStatus

    HAS_PSYCOPG = True
except ImportError:
    HAS_PSYCOPG = False

try:
    import pglast
    from pglast import ast as pg_ast
    from pglast.enums import TransactionStmtKind
    from pglast.enums import VariableSetKind
    from pglast.stream import RawStream

    HAS_PGLAST = True
except ImportError:
    HAS_PGLAST = False

try:
    from botocore.exceptions import ClientError
except ImportError:
    ClientError = None  # AnsibleAWSModule reports the missing botocore

from ansible_collections.stream_sales.platform.plugins.module_utils.prisma_migrate import DatabaseError

APPLICATION_NAME = "stream_sales.platform prisma_migrate"


def unterminated_transaction_error() -> DatabaseError:
    """A script that BEGINs without COMMIT: we roll it back rather than leave it half-open."""
    return DatabaseError(
        "25000",
        "ERROR: the migration opened a transaction (BEGIN) and did not end it; it was rolled back",
    )


def format_pg_error(severity: str, primary: str, detail=None, hint=None) -> str:
    """One error text for both transports (the Data API's JDBC-style layout)."""
    text = f"{severity or 'ERROR'}: {primary}"
    if detail:
        text += f"\n  Detail: {detail}"
    if hint:
        text += f"\n  Hint: {hint}"
    return text


def _lock_timeout_setting(timeout: float) -> str:
    return f"{max(0, int(timeout * 1000))}ms"  # 0 = wait forever, as in PostgreSQL


# --------------------------------------------------------------------------------------
# direct
# --------------------------------------------------------------------------------------
class DirectTransport:
    """psycopg 3, autocommit: no transaction of ours around anything."""

    def __init__(self, host, port, user, password, dbname, sslmode="prefer", schema="public", connect_timeout=15):
        if not HAS_PSYCOPG:
            raise ImportError("psycopg (version 3) is required for transport=direct")
        self.label = f"{host}:{port}"
        try:
            self._conn = psycopg.connect(
                host=host, port=port, user=user, password=password, dbname=dbname, sslmode=sslmode,
                connect_timeout=connect_timeout, application_name=APPLICATION_NAME, autocommit=True,
            )
        except psycopg.Error as exc:
            raise DatabaseError(exc.sqlstate or "08001", str(exc).strip()) from None
        # Prisma's `?schema=` is the session's search_path; migration scripts rely on it.
        self.query("SELECT pg_catalog.set_config('search_path', pg_catalog.quote_ident(%(schema)s), false)",
                   {"schema": schema})

    @staticmethod
    def _error(exc) -> DatabaseError:
        diag = exc.diag
        if diag.message_primary is None:  # not from the server (connection lost, ...)
            return DatabaseError(exc.sqlstate or "08006", str(exc).strip())
        return DatabaseError(exc.sqlstate, format_pg_error(
            diag.severity_nonlocalized or diag.severity, diag.message_primary, diag.message_detail, diag.message_hint))

    def query(self, sql, params=None):
        try:
            with self._conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise self._error(exc) from None

    def server_version(self) -> str:
        return self.query("SELECT pg_catalog.current_setting('server_version')")[0][0]

    def acquire_lock(self, key: int, timeout: float) -> bool:
        self.query("SELECT pg_catalog.set_config('lock_timeout', %(t)s, false)", {"t": _lock_timeout_setting(timeout)})
        try:
            self.query(f"SELECT pg_advisory_lock({int(key)})")
            return True
        except DatabaseError as exc:
            if exc.sqlstate == "55P03":  # lock_not_available: lock_timeout expired
                return False
            raise
        finally:
            self.query("RESET lock_timeout")

    def release_lock(self, key: int) -> None:
        if not self._conn.closed:
            self.query(f"SELECT pg_advisory_unlock({int(key)})")

    def _rollback_open_transaction(self) -> None:
        if self._conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            self._conn.execute("ROLLBACK")

    def run_script(self, script: str) -> None:
        try:
            with self._conn.cursor() as cur:
                # No parameters and prepare=False: psycopg sends the text as one simple-query
                # message (PQsendQuery), which PostgreSQL runs with its multi-statement rules.
                cur.execute(script, prepare=False)
        except psycopg.Error as exc:
            # A failure inside the script's own BEGIN leaves the session aborted: roll back
            # before the caller writes the failure to _prisma_migrations.
            self._rollback_open_transaction()
            raise self._error(exc) from None
        if self._conn.info.transaction_status != TransactionStatus.IDLE:
            self._rollback_open_transaction()
            raise unterminated_transaction_error()

    def close(self) -> None:
        self._conn.close()


# --------------------------------------------------------------------------------------
# splitting (Data API)
# --------------------------------------------------------------------------------------
class Statement:
    """One statement of a script; ``control`` is set for transaction-control statements."""

    __slots__ = ("sql", "control", "keyword", "set_transaction", "chain")

    def __init__(self, sql, control=None, keyword=None, set_transaction=None, chain=False):
        self.sql = sql
        self.control = control  # None, "begin", "commit", "rollback", "savepoint"
        self.keyword = keyword  # the command's name, for PostgreSQL's error texts
        self.set_transaction = set_transaction  # "SET TRANSACTION ..." for BEGIN's options
        self.chain = chain

    def __repr__(self):
        return f"Statement({self.sql!r}, control={self.control!r})"


if HAS_PGLAST:
    # Transaction-control statements we replay: kind -> (control, keyword). The others
    # (PREPARE TRANSACTION, COMMIT PREPARED, ...) are sent like any statement.
    _CONTROL = {
        TransactionStmtKind.TRANS_STMT_BEGIN: ("begin", "BEGIN"),
        TransactionStmtKind.TRANS_STMT_START: ("begin", "START TRANSACTION"),
        TransactionStmtKind.TRANS_STMT_COMMIT: ("commit", "COMMIT"),
        TransactionStmtKind.TRANS_STMT_ROLLBACK: ("rollback", "ROLLBACK"),
        TransactionStmtKind.TRANS_STMT_SAVEPOINT: ("savepoint", "SAVEPOINT"),
        TransactionStmtKind.TRANS_STMT_RELEASE: ("savepoint", "RELEASE SAVEPOINT"),
        TransactionStmtKind.TRANS_STMT_ROLLBACK_TO: ("savepoint", "ROLLBACK TO SAVEPOINT"),
    }


def split_script(script: str) -> list:
    """The script's statements, by PostgreSQL's parser (pglast): comments, string literals,
    dollar quoting and semicolons inside them are the parser's business, not ours.

    A syntax error anywhere raises DatabaseError 42601 before anything runs, as PostgreSQL
    rejects a whole simple-query message that does not parse.
    """
    if not HAS_PGLAST:
        raise ImportError("pglast is required for transport=data_api")
    try:
        raw_statements = pglast.parse_sql(script)
    except pglast.parser.ParseError as exc:
        raise DatabaseError("42601", f"ERROR: {exc}") from None
    statements = []
    for raw in raw_statements:
        # stmt_location/stmt_len are character offsets; a length of 0 means "to the end".
        end = raw.stmt_location + raw.stmt_len if raw.stmt_len else len(script)
        sql = script[raw.stmt_location:end].strip()
        node = raw.stmt
        if isinstance(node, pg_ast.TransactionStmt) and node.kind in _CONTROL:
            control, keyword = _CONTROL[node.kind]
            set_transaction = None
            if control == "begin" and node.options:
                # BEGIN ISOLATION LEVEL ... : the Data API's BeginTransaction takes no options.
                set_transaction = RawStream()(pg_ast.VariableSetStmt(
                    kind=VariableSetKind.VAR_SET_MULTI, name="TRANSACTION", args=node.options))
            statements.append(Statement(sql, control, keyword, set_transaction, bool(node.chain)))
        else:
            statements.append(Statement(sql))
    return statements


# --------------------------------------------------------------------------------------
# Data API
# --------------------------------------------------------------------------------------
_SQL_ERROR_CODES = ("BadRequestException", "DatabaseErrorException", "StatementTimeoutException")
# The Data API runs statements with the extended protocol, whose unnamed portal keeps a
# SELECT's snapshot registered until the next statement. An idle lock transaction holding a
# snapshot would make every CREATE INDEX CONCURRENTLY wait for it (for ever), so the last
# statement it runs, and its keepalive, is a utility statement that needs no snapshot.
_SNAPSHOT_FREE_STATEMENT = "SHOW lock_timeout"


def _as_direct(message: str) -> str:
    """The Data API's error text in format_pg_error's layout: the JDBC driver adds Position and
    Where lines, whose position counts in the one statement sent, not in the migration's script."""
    lines = message.split("\n")
    return "\n".join([lines[0]] + [line for line in lines[1:] if line.startswith(("  Detail: ", "  Hint: "))])


def _field(value) -> dict:
    if value is None:
        return {"value": {"isNull": True}}
    if isinstance(value, bool):
        return {"value": {"booleanValue": value}}
    if isinstance(value, int):
        return {"value": {"longValue": value}}
    if isinstance(value, float):
        return {"value": {"doubleValue": value}}
    if isinstance(value, datetime):
        # The Data API takes timestamps as text plus a type hint; its sessions run in UTC.
        utc = value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
        return {"value": {"stringValue": utc.strftime("%Y-%m-%d %H:%M:%S.%f")}, "typeHint": "TIMESTAMP"}
    return {"value": {"stringValue": str(value)}}


def _value(field: dict):
    if field.get("isNull"):
        return None
    for key in ("stringValue", "longValue", "booleanValue", "doubleValue", "blobValue", "arrayValue"):
        if key in field:
            return field[key]
    return None


class DataApiTransport:
    """The RDS Data API through a boto3 ``rds-data`` client (retrying or not: ``call_options``
    are passed to every call, e.g. ``{"aws_retry": True}`` for AnsibleAWSModule's clients)."""

    def __init__(self, client, resource_arn, secret_arn, database, call_options=None, keepalive_interval=60):
        if ClientError is None:
            raise ImportError("botocore is required for transport=data_api")
        self.label = resource_arn
        self._client = client
        self._target = {"resourceArn": resource_arn, "secretArn": secret_arn}
        self._database = database
        self._call_options = dict(call_options or {})
        self._keepalive_interval = keepalive_interval
        self._lock_tx = None
        self._lock_stop = None
        self._lock_thread = None

    # ---- calls ---------------------------------------------------------------------
    def _call(self, operation: str, **kwargs) -> dict:
        try:
            return getattr(self._client, operation)(**self._target, **kwargs, **self._call_options)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") not in _SQL_ERROR_CODES:
                raise
            # AWS appends PostgreSQL's SQLSTATE: "ERROR: ...; SQLState: 42P01"
            message, sep, sqlstate = error.get("Message", "").rpartition("; SQLState: ")
            if not sep:
                message, sqlstate = error.get("Message", ""), ""
            raise DatabaseError(sqlstate.strip(), _as_direct(message)) from None

    def _execute(self, sql: str, params=None, tx=None) -> list:
        kwargs = {"sql": sql, "database": self._database}
        if params:
            kwargs["parameters"] = [dict(name=name, **_field(value)) for name, value in params.items()]
        if tx:
            kwargs["transactionId"] = tx
        response = self._call("execute_statement", **kwargs)
        return [tuple(_value(f) for f in record) for record in response.get("records") or []]

    def _begin(self) -> str:
        return self._call("begin_transaction", database=self._database)["transactionId"]

    def _commit(self, tx: str) -> None:
        self._call("commit_transaction", transactionId=tx)

    def _rollback(self, tx: str) -> None:
        try:
            self._call("rollback_transaction", transactionId=tx)
        except (DatabaseError, ClientError):
            pass  # already gone (timed out, or aborted by the failure we are reporting)

    # ---- transport interface -----------------------------------------------------------
    def query(self, sql, params=None):
        if params:
            # The engine writes psycopg placeholders; the Data API wants :name.
            sql = sql % {name: f":{name}" for name in params}
        return self._execute(sql, params)

    def server_version(self) -> str:
        return self._execute("SELECT pg_catalog.current_setting('server_version')")[0][0]

    def acquire_lock(self, key: int, timeout: float) -> bool:
        tx = self._begin()
        try:
            self._execute("SELECT pg_catalog.set_config('lock_timeout', :t, true)",
                          {"t": _lock_timeout_setting(timeout)}, tx)
            self._execute(f"SELECT pg_advisory_xact_lock({int(key)})", tx=tx)
            self._execute(_SNAPSHOT_FREE_STATEMENT, tx=tx)
        except BaseException as exc:
            self._rollback(tx)
            if isinstance(exc, DatabaseError) and exc.sqlstate == "55P03":
                return False
            raise
        self._lock_tx = tx
        self._lock_stop = threading.Event()
        self._lock_thread = threading.Thread(target=self._keepalive, args=(tx, self._lock_stop), daemon=True)
        self._lock_thread.start()
        return True

    def _keepalive(self, tx: str, stop: threading.Event) -> None:
        while not stop.wait(self._keepalive_interval):
            try:
                self._execute(_SNAPSHOT_FREE_STATEMENT, tx=tx)
            except Exception:  # pylint: disable=broad-except
                return  # the lock is lost with its transaction; nothing to do from this thread

    def release_lock(self, key: int) -> None:
        if self._lock_tx is None:
            return
        self._lock_stop.set()
        self._lock_thread.join()
        tx, self._lock_tx = self._lock_tx, None
        self._rollback(tx)

    def run_script(self, script: str) -> None:
        """Replay PostgreSQL's simple-query rules with one statement per call.

        - One statement: it runs on its own, outside any transaction (so CREATE INDEX
          CONCURRENTLY works).
        - Several: they form one implicit transaction, here a Data API transaction, committed
          at the end or rolled back on the first error. Statements that refuse to run in a
          transaction block fail there exactly as they would in PostgreSQL's implicit block.
        - BEGIN turns the implicit transaction (and what ran in it so far) into an explicit
          one; COMMIT/ROLLBACK end whichever is open; statements after COMMIT start a new
          implicit transaction. SAVEPOINT & co. are only valid inside an explicit block.
        """
        statements = split_script(script)
        runner = _ScriptRun(self, implicit_block=len(statements) > 1)
        try:
            for statement in statements:
                runner.run(statement)
            runner.finish()
        except BaseException:
            runner.abort()
            raise

    def close(self) -> None:
        self.release_lock(0)


class _ScriptRun:
    """The transaction state of one script on the Data API (PostgreSQL's TBLOCK_* states)."""

    def __init__(self, transport: DataApiTransport, implicit_block: bool):
        self.transport = transport
        self.implicit_block = implicit_block
        self.tx = None  # the Data API transaction that plays the part of PostgreSQL's block
        self.explicit = False

    def _end(self, commit: bool) -> None:
        tx, self.tx, self.explicit = self.tx, None, False
        if commit:
            self.transport._commit(tx)
        else:
            self.transport._rollback(tx)

    def run(self, statement: Statement) -> None:
        control = statement.control
        if control == "begin":
            if self.explicit:
                return  # PostgreSQL: WARNING there is already a transaction in progress
            if self.tx is None:
                self.tx = self.transport._begin()
            self.explicit = True
            if statement.set_transaction:
                self.transport._execute(statement.set_transaction, tx=self.tx)
        elif control in ("commit", "rollback"):
            if statement.chain and not self.explicit:
                raise DatabaseError("25P01", f"ERROR: {statement.keyword} AND CHAIN can only be used in transaction blocks")
            if self.tx is not None:
                self._end(commit=control == "commit")
            if statement.chain:
                self.tx, self.explicit = self.transport._begin(), True
        elif control == "savepoint":
            if not self.explicit:
                raise DatabaseError("25P01", f"ERROR: {statement.keyword} can only be used in transaction blocks")
            self.transport._execute(statement.sql, tx=self.tx)
        else:
            if self.tx is None and self.implicit_block:
                self.tx = self.transport._begin()
            self.transport._execute(statement.sql, tx=self.tx)

    def finish(self) -> None:
        if self.explicit:
            raise unterminated_transaction_error()
        if self.tx is not None:
            self._end(commit=True)

    def abort(self) -> None:
        if self.tx is not None:
            self._end(commit=False)
