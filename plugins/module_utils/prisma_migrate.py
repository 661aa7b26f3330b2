# -*- coding: utf-8 -*-

# Copyright: Contributors to the stream_sales.platform collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A native ``prisma migrate deploy`` / ``prisma migrate resolve`` for PostgreSQL.

The bookkeeping is Prisma's own (table ``_prisma_migrations``, its rows, SHA-256
checksums, advisory lock 72707369, the refusal codes), so a database migrated here can be
handled by the Prisma CLI later and the other way round. How SQL reaches the server is a
transport's job (see ``pg_transport``); this module only needs the small interface below.

Transport interface (duck-typed):

    label                       where the database is, for messages (host:port or an ARN)
    server_version() -> str
    acquire_lock(key, timeout) -> bool   False when ``timeout`` seconds passed first
    release_lock(key) -> None
    query(sql, params) -> list[tuple]    bookkeeping SQL, ``%(name)s`` placeholders
    run_script(script) -> None           one migration.sql with PostgreSQL's simple-query
                                         semantics; raises DatabaseError on failure
    close() -> None
"""

from __future__ import annotations

import hashlib
import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timezone

try:
    import tomllib
except ImportError:  # Python < 3.11: the lock file is then read by _lock_file_provider
    tomllib = None

LOCK_KEY = 72707369
HISTORY_TABLE = "_prisma_migrations"
SCRIPT_NAME = "migration.sql"
LOCK_FILE = "migration_lock.toml"
PROVIDER = "postgresql"
# Tables PostGIS creates in the target schema; Prisma does not count them as user data.
POSTGIS_TABLES = ("spatial_ref_sys", "geometry_columns", "geography_columns", "raster_columns", "raster_overviews")

RESOLVE_HINT = "Read more about how to resolve migration issues in a production database: https://pris.ly/d/migrate-resolve"


class PrismaError(Exception):
    """A refusal or failure with Prisma's error code (P3005, P3009, P3018, ...)."""

    def __init__(self, code: str, message: str, **details):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details


class DatabaseError(Exception):
    """An error PostgreSQL reported, as a transport hands it over."""

    def __init__(self, sqlstate: str, message: str):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message


@dataclass(frozen=True)
class Migration:
    name: str
    script: str
    checksum: str


@dataclass(frozen=True)
class HistoryRow:
    id: str
    name: str
    started_at: str
    finished: bool
    rolled_back: bool

    @property
    def failed(self) -> bool:
        return not self.finished and not self.rolled_back


@dataclass
class Outcome:
    """What an operation did (or, in check mode, would do)."""

    changed: bool = False
    applied: list = field(default_factory=list)  # migrations applied by this run
    pending: list = field(default_factory=list)  # still pending afterwards (check mode: would be applied)
    failed: list = field(default_factory=list)  # [{"name", "started_at"}] failed rows in the database
    before: list = field(default_factory=list)  # names recorded as applied before the run
    after: list = field(default_factory=list)  # ... and after it


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lock_file_provider(text: str):
    if tomllib is not None:
        try:
            return tomllib.loads(text).get("provider")
        except tomllib.TOMLDecodeError as exc:
            raise PrismaError("P3019", f"{LOCK_FILE} is not valid TOML: {exc}") from None
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == "provider":
            return value.split("#", 1)[0].strip().strip('"')
    return None


def load_migrations(migrations_dir: str) -> list:
    """Check migration_lock.toml and read every ``<dir>/<name>/migration.sql``, sorted by name.

    Raises FileNotFoundError for a missing folder and PrismaError P3019 for a lock file
    that names another provider.
    """
    if not os.path.isdir(migrations_dir):
        raise FileNotFoundError(f"migrations folder {migrations_dir} does not exist")
    lock_path = os.path.join(migrations_dir, LOCK_FILE)
    if os.path.isfile(lock_path):
        with open(lock_path, encoding="utf-8") as handle:
            provider = _lock_file_provider(handle.read())
        if provider != PROVIDER:
            raise PrismaError(
                "P3019",
                f"The datasource provider `{PROVIDER}` specified in your schema does not match the one specified"
                f" in the migration_lock.toml, `{provider}`. Please remove your current migration directory and"
                " start a new migration history with prisma migrate dev."
                " Read more: https://pris.ly/d/migrate-provider-switch",
            )
    migrations = []
    for name in sorted(os.listdir(migrations_dir)):
        path = os.path.join(migrations_dir, name, SCRIPT_NAME)
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                raw = handle.read()
            # The checksum is over the bytes as stored: no line-ending normalisation.
            migrations.append(Migration(name, raw.decode("utf-8"), hashlib.sha256(raw).hexdigest()))
    return migrations


def p3018_text(name: str, error: DatabaseError) -> str:
    return (
        "A migration failed to apply. New migrations cannot be applied before the error is recovered from. "
        f"{RESOLVE_HINT}\n\nMigration name: {name}\n\nDatabase error code: {error.sqlstate}\n\n"
        f"Database error:\n{error.message}\n"
    )


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Migrator:
    """deploy / resolve_applied / resolve_rolled_back / status over one transport."""

    def __init__(self, transport, migrations, schema: str = "public", lock_timeout: float = 10, clock=_utcnow):
        self.transport = transport
        self.migrations = list(migrations)
        self.schema = schema
        self.lock_timeout = lock_timeout
        self.clock = clock
        self.table = f"{quote_ident(schema)}.{HISTORY_TABLE}"

    # ---- reading -------------------------------------------------------------------
    def _table_exists(self) -> bool:
        return bool(self.transport.query(
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %(schema)s AND c.relname = %(table)s",
            {"schema": self.schema, "table": HISTORY_TABLE},
        ))

    def _user_tables(self) -> list:
        """Ordinary tables in the schema that make it 'not empty' for Prisma."""
        rows = self.transport.query(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %(schema)s AND c.relkind = 'r' ORDER BY c.relname",
            {"schema": self.schema},
        )
        return [r[0] for r in rows if r[0] not in POSTGIS_TABLES]

    def _rows(self) -> list:
        # Timestamps come back as text so that every transport hands over the same values.
        rows = self.transport.query(
            "SELECT id, migration_name,"
            " to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || ' UTC',"
            " finished_at IS NOT NULL, rolled_back_at IS NOT NULL"
            f" FROM {self.table} ORDER BY started_at"
        )
        return [HistoryRow(*row) for row in rows]

    def _history(self, create: bool, baseline_check: bool) -> list:
        """The history rows; creates the table when absent (P3005 first when asked)."""
        if self._table_exists():
            return self._rows()
        if baseline_check:
            tables = self._user_tables()
            if tables:
                raise PrismaError(
                    "P3005",
                    f"The database schema is not empty. Read more about how to baseline an existing production"
                    f" database: https://pris.ly/d/migrate-baseline (schema {self.schema!r} has tables: "
                    + ", ".join(tables) + ")",
                    tables=tables,
                )
        if create:
            self.transport.query(
                f"CREATE TABLE {self.table} (\n"
                "    id                      VARCHAR(36) PRIMARY KEY NOT NULL,\n"
                "    checksum                VARCHAR(64) NOT NULL,\n"
                "    finished_at             TIMESTAMPTZ,\n"
                "    migration_name          VARCHAR(255) NOT NULL,\n"
                "    logs                    TEXT,\n"
                "    rolled_back_at          TIMESTAMPTZ,\n"
                "    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
                "    applied_steps_count     INTEGER NOT NULL DEFAULT 0\n"
                ")"
            )
        return []

    @staticmethod
    def _applied_names(rows) -> list:
        names = []
        for row in rows:
            if row.finished and not row.rolled_back and row.name not in names:
                names.append(row.name)
        return names

    @staticmethod
    def _failed(rows) -> list:
        return [{"name": r.name, "started_at": r.started_at} for r in rows if r.failed]

    def _pending(self, rows) -> list:
        recorded = {r.name for r in rows if not r.rolled_back}
        return [m for m in self.migrations if m.name not in recorded]

    def _local(self, name: str) -> Migration:
        for migration in self.migrations:
            if migration.name == name:
                return migration
        raise PrismaError(
            "P3017",
            f"The migration {name} could not be found. Please make sure that the migration exists, and that you"
            ' included the whole name of the directory. (example: "20201207184859_initial_migration")',
        )

    # ---- locking -------------------------------------------------------------------
    @contextmanager
    def _locked(self, enabled: bool = True):
        """Prisma's advisory lock; check mode writes nothing, so it does not queue for it."""
        if not enabled:
            yield
            return
        if not self.transport.acquire_lock(LOCK_KEY, self.lock_timeout):
            where = self.transport.label
            raise PrismaError(
                "P1002",
                f"The database server at `{where}` was reached but timed out. Please try again. Please make sure"
                f" your database server is running at `{where}`. Context: Timed out trying to acquire a postgres"
                f" advisory lock (SELECT pg_advisory_lock({LOCK_KEY})). Timeout: {int(self.lock_timeout * 1000)}ms."
                " See https://pris.ly/d/migrate-advisory-locking for details.",
            )
        try:
            yield
        finally:
            self.transport.release_lock(LOCK_KEY)

    # ---- operations ----------------------------------------------------------------
    def status(self) -> Outcome:
        rows = self._rows() if self._table_exists() else []
        applied = self._applied_names(rows)
        return Outcome(pending=[m.name for m in self._pending(rows)], failed=self._failed(rows),
                       before=applied, after=applied)

    def deploy(self, check: bool = False) -> Outcome:
        with self._locked(not check):
            rows = self._history(create=not check, baseline_check=True)
            failed = self._failed(rows)
            if failed:
                raise PrismaError(
                    "P3009",
                    "migrate found failed migrations in the target database, new migrations will not be applied. "
                    + RESOLVE_HINT + "\n"
                    + "\n".join(f"The `{f['name']}` migration started at {f['started_at']} failed" for f in failed),
                    failed=failed,
                )
            before = self._applied_names(rows)
            pending = self._pending(rows)
            outcome = Outcome(changed=bool(pending), before=before, after=before + [m.name for m in pending])
            if check:
                outcome.pending = [m.name for m in pending]
                return outcome
            for migration in pending:
                self._apply(migration, outcome)
            return outcome

    def _apply(self, migration: Migration, outcome: Outcome) -> None:
        row_id = str(uuid.uuid4())
        self.transport.query(
            f"INSERT INTO {self.table} (id, checksum, migration_name, started_at)"
            " VALUES (%(id)s, %(checksum)s, %(name)s, %(now)s)",
            {"id": row_id, "checksum": migration.checksum, "name": migration.name, "now": self.clock()},
        )
        try:
            self.transport.run_script(migration.script)
        except DatabaseError as exc:
            logs = p3018_text(migration.name, exc)
            self.transport.query(f"UPDATE {self.table} SET logs = %(logs)s WHERE id = %(id)s",
                                 {"logs": logs, "id": row_id})
            rows = self._rows()
            raise PrismaError("P3018", logs, applied=list(outcome.applied), failed=self._failed(rows),
                              pending=[m.name for m in self._pending(rows)]) from None
        self.transport.query(
            f"UPDATE {self.table} SET applied_steps_count = applied_steps_count + 1 WHERE id = %(id)s",
            {"id": row_id},
        )
        self.transport.query(f"UPDATE {self.table} SET finished_at = %(now)s WHERE id = %(id)s",
                             {"now": self.clock(), "id": row_id})
        outcome.applied.append(migration.name)

    def resolve_applied(self, name: str, check: bool = False) -> Outcome:
        migration = self._local(name)
        with self._locked(not check):
            rows = self._history(create=not check, baseline_check=False)
            if any(r.name == name and r.finished for r in rows):
                raise PrismaError("P3008", f"The migration `{name}` is already recorded as applied in the database.")
            before = self._applied_names(rows)
            outcome = Outcome(changed=True, applied=[name], before=before, after=before + [name],
                              failed=[f for f in self._failed(rows) if f["name"] != name])
            if check:
                return outcome
            now = self.clock()
            self.transport.query(
                f"UPDATE {self.table} SET rolled_back_at = %(now)s"
                " WHERE migration_name = %(name)s AND finished_at IS NULL AND rolled_back_at IS NULL",
                {"now": now, "name": name},
            )
            self.transport.query(
                f"INSERT INTO {self.table}"
                " (id, checksum, migration_name, logs, started_at, finished_at, applied_steps_count)"
                " VALUES (%(id)s, %(checksum)s, %(name)s, '', %(now)s, %(now)s, 0)",
                {"id": str(uuid.uuid4()), "checksum": migration.checksum, "name": name, "now": now},
            )
            return outcome

    def resolve_rolled_back(self, name: str, check: bool = False) -> Outcome:
        with self._locked(not check):
            rows = self._rows() if self._table_exists() else []
            mine = [r for r in rows if r.name == name]
            if not mine:
                raise PrismaError(
                    "P3011",
                    f"Migration `{name}` cannot be rolled back because it was never applied to the database."
                    ' Hint: did you pass in the whole migration name? (example: "20201207184859_initial_migration")',
                )
            if all(r.finished for r in mine):
                raise PrismaError("P3012",
                                  f"Migration `{name}` cannot be rolled back because it is not in a failed state.")
            applied = self._applied_names(rows)
            failed_ids = [r.id for r in mine if r.failed]
            outcome = Outcome(changed=bool(failed_ids), before=applied, after=applied,
                              failed=[f for f in self._failed(rows) if f["name"] != name])
            if failed_ids and not check:
                self.transport.query(
                    f"UPDATE {self.table} SET rolled_back_at = %(now)s"
                    " WHERE migration_name = %(name)s AND finished_at IS NULL AND rolled_back_at IS NULL",
                    {"now": self.clock(), "name": name},
                )
            return outcome
