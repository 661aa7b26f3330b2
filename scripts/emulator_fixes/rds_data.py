"""RDS Data API (rds-data): statements executed on the cluster's PostgreSQL server."""
from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time

from moto.core.exceptions import JsonRESTError
from moto.rdsdata import responses as rdsdata_responses
from moto.rdsdata import urls as rdsdata_urls

# Data API limits (docs: "Troubleshooting Amazon RDS Data API").
TRANSACTION_IDLE_SECONDS = 180
RESPONSE_LIMIT = 1024 * 1024
TROUBLESHOOTING = "https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.html#data-api.troubleshooting"

# Parameter type OIDs, as the Data API binds them (a string is a varchar unless hinted).
_HINT_OIDS = {"TIMESTAMP": 1114, "DATE": 1082, "TIME": 1083, "DECIMAL": 1700, "UUID": 2950, "JSON": 114}
_BOOL, _BYTEA, _INT8, _INT2, _INT4, _OID, _FLOAT4, _FLOAT8, _NUMERIC, _VARCHAR = 16, 17, 20, 21, 23, 26, 700, 701, 1700, 1043
_LONG_OIDS = {_INT8, _INT2, _INT4, _OID}
_DOUBLE_OIDS = {_FLOAT4, _FLOAT8}
# Element OIDs of the array types the Data API returns as arrayValue.
_ARRAY_ELEMENT = {1000: _BOOL, 1005: _INT2, 1007: _INT4, 1016: _INT8, 1021: _FLOAT4, 1022: _FLOAT8, 1231: _NUMERIC,
                  1009: 25, 1015: _VARCHAR, 1014: 1042, 2951: 2950, 1115: 1114, 1185: 1184, 1182: 1082}
# java.sql.Types of the columns' types (columnMetadata.type), as PostgreSQL's JDBC driver reports them.
_JDBC_TYPES = {_BOOL: -7, _BYTEA: -2, _INT8: -5, _INT2: 5, _INT4: 4, _OID: -5, _FLOAT4: 7, _FLOAT8: 8, _NUMERIC: 2,
               25: 12, _VARCHAR: 12, 1042: 1, 1082: 91, 1083: 92, 1114: 93, 1184: 93, 2950: 1111, 114: 1111, 3802: 1111}


class DataApiError(JsonRESTError):
    def __init__(self, error_type: str, message: str, status: int = 400):
        super().__init__(error_type, message)
        self.code = status


def _database_error(message: str, sqlstate: str) -> DataApiError:
    return DataApiError("DatabaseErrorException", f"{message}; SQLState: {sqlstate}")


def _sql_error(result) -> DataApiError:
    """PostgreSQL's error as the Data API words it (the JDBC driver's layout, then the SQLSTATE)."""
    from psycopg import pq

    def field(code):
        value = result.error_field(code)
        return value.decode("utf-8", "replace") if value else None

    d = pq.DiagnosticField
    text = f"{field(d.SEVERITY_NONLOCALIZED) or 'ERROR'}: {field(d.MESSAGE_PRIMARY) or result.error_message.decode().strip()}"
    for label, code in (("Detail", d.MESSAGE_DETAIL), ("Hint", d.MESSAGE_HINT), ("Position", d.STATEMENT_POSITION),
                        ("Where", d.CONTEXT)):
        if field(code):
            text += f"\n  {label}: {field(code)}"
    return _database_error(text, field(d.SQLSTATE) or "")


def _login_error(message: str) -> DataApiError:
    """A refused login, as the Data API reports it (libpq's prefix "connection to server ... failed:" dropped)."""
    reason = re.sub(r"^connection to server .*? failed: ", "", message.strip(), flags=re.S)
    reason = re.sub(r"^(FATAL|ERROR):\s+", r"\1: ", reason)
    if "password authentication failed" in reason:
        return _database_error(reason, "28P01")
    found = re.search(r'database "([^"]*)" does not exist', reason)
    if found:
        return _database_error(f'ERROR: database "{found.group(1)}" does not exist', "3D000")
    if "no pg_hba.conf entry" in reason or "rejects connection" in reason:
        return _database_error(reason, "28000")
    if "too many connections" in reason:
        return _database_error(reason, "53300")
    return DataApiError("DatabaseUnavailableException", "The database is unavailable.", 504)


def _bind(sql: str, parameters: list) -> tuple:
    """``:name`` placeholders -> ``$n``, found by PostgreSQL's scanner (pglast), so ``::`` casts,
    strings and comments are left alone. Returns (sql, values, type oids)."""
    from pglast import parser as pg_parser

    values = {}
    for param in parameters:
        name, field, hint = param.get("name"), param.get("value") or {}, param.get("typeHint")
        if field.get("isNull"):
            values[name] = (None, 0)
        elif "booleanValue" in field:
            values[name] = (b"t" if field["booleanValue"] else b"f", _BOOL)
        elif "longValue" in field:
            values[name] = (str(field["longValue"]).encode(), _INT8)
        elif "doubleValue" in field:
            values[name] = (repr(float(field["doubleValue"])).encode(), _FLOAT8)
        elif "stringValue" in field:
            values[name] = (field["stringValue"].encode(), _HINT_OIDS.get(hint, _VARCHAR))
        elif "blobValue" in field:
            values[name] = (b"\\x" + base64.b64decode(field["blobValue"]).hex().encode(), _BYTEA)
        elif "arrayValue" in field:
            raise DataApiError("BadRequestException", "Array parameters are not supported.")
        else:
            raise DataApiError("BadRequestException", f"Parameter {name} has no value.")
    order, out, pos = [], [], 0
    try:
        tokens = pg_parser.scan(sql)
    except Exception:  # noqa: BLE001 - PostgreSQL will report the syntax error itself
        tokens = []
    for here, nxt in zip(tokens, tokens[1:]):
        if here.name == "ASCII_58" and nxt.start == here.end + 1:  # ':' glued to a name
            name = sql[nxt.start:nxt.end + 1]
            if name in values:
                if name not in order:
                    order.append(name)
                out.append(sql[pos:here.start] + f"${order.index(name) + 1}")
                pos = nxt.end + 1
    out.append(sql[pos:])
    return "".join(out), [values[n][0] for n in order], [values[n][1] for n in order]


def _parse_array(text: str):
    """PostgreSQL's text form of an array ('{1,NULL,"a b"}', nested) -> nested lists of str/None."""
    pos = 0

    def parse():
        nonlocal pos
        assert text[pos] == "{"
        pos += 1
        items = []
        while text[pos] != "}":
            if text[pos] == "{":
                items.append(parse())
            elif text[pos] == '"':
                pos += 1
                chars = []
                while text[pos] != '"':
                    if text[pos] == "\\":
                        pos += 1
                    chars.append(text[pos])
                    pos += 1
                pos += 1
                items.append("".join(chars))
            else:
                end = pos
                while text[end] not in ",}":
                    end += 1
                word = text[pos:end]
                items.append(None if word == "NULL" else word)
                pos = end
            if text[pos] == ",":
                pos += 1
        pos += 1
        return items

    return parse() if text.startswith("{") else []


def _array_field(items, element_oid: int) -> dict:
    if items and isinstance(items[0], list):
        return {"arrayValues": [_array_field(i, element_oid) for i in items]}
    if element_oid == _BOOL:
        return {"booleanValues": [None if i is None else i == "t" for i in items]}
    if element_oid in _LONG_OIDS:
        return {"longValues": [None if i is None else int(i) for i in items]}
    if element_oid in _DOUBLE_OIDS:
        return {"doubleValues": [None if i is None else float(i) for i in items]}
    return {"stringValues": items}


def _field(raw: bytes | None, oid: int, options: dict) -> dict:
    if raw is None:
        return {"isNull": True}
    text = raw.decode()
    if oid == _BOOL:
        return {"booleanValue": raw == b"t"}
    if oid in _LONG_OIDS:
        return {"stringValue": text} if options.get("longReturnType") == "STRING" else {"longValue": int(text)}
    if oid in _DOUBLE_OIDS:
        return {"doubleValue": float(text)}
    if oid == _NUMERIC and options.get("decimalReturnType") == "DOUBLE_OR_LONG":
        return {"longValue": int(text)} if "." not in text else {"doubleValue": float(text)}
    if oid == _BYTEA:
        return {"blobValue": base64.b64encode(bytes.fromhex(text[2:])).decode()}
    if oid in _ARRAY_ELEMENT:
        return {"arrayValue": _array_field(_parse_array(text), _ARRAY_ELEMENT[oid])}
    return {"stringValue": text}


def _json_value(field: dict):
    """A field's value in formatRecordsAs=JSON."""
    if field.get("isNull"):
        return None
    for key in ("booleanValue", "longValue", "doubleValue", "stringValue", "blobValue"):
        if key in field:
            return field[key]
    array = field.get("arrayValue") or {}

    def plain(a):
        if "arrayValues" in a:
            return [plain(x) for x in a["arrayValues"]]
        return next(iter(a.values()), [])

    return plain(array)


class _Connection:
    """One libpq session; a lock lets one call use it at a time."""

    def __init__(self, pgconn, key):
        self.pg = pgconn
        self.key = key
        self.lock = threading.Lock()
        self.used = time.monotonic()
        self.type_names: dict = {}


class DataApi:
    """The Data API's state in moto's server: idle connections per (server, user, password,
    database) - no session affinity between calls - and open transactions."""

    def __init__(self):
        self.mutex = threading.Lock()
        self.idle: dict = {}
        self.transactions: dict = {}

    # ---- authorisation: the cluster and the secret ------------------------------------------
    @staticmethod
    def target(account: str, region: str, body: dict) -> tuple:
        """(server port, username, password, database) for a request, checked as AWS checks it."""
        from moto.rds.models import rds_backends
        from moto.secretsmanager.exceptions import SecretsManagerClientError
        from moto.secretsmanager.models import secretsmanager_backends

        from emulator_fixes.rds import ENGINES

        arn, secret_arn = body.get("resourceArn") or "", body.get("secretArn") or ""
        if not arn or not secret_arn:
            raise DataApiError("BadRequestException", "resourceArn and secretArn are required.")
        if body.get("schema"):
            raise DataApiError("BadRequestException", "The schema parameter isn't supported.")
        backend = rds_backends[account][region]
        cluster = next((c for c in backend.clusters.values() if c.db_cluster_arn == arn), None)
        if cluster is None or not cluster.http_endpoint_enabled:
            name = cluster.db_cluster_identifier if cluster is not None else arn
            raise DataApiError("HttpEndpointNotEnabledException",
                               f"HttpEndpoint is not enabled for cluster {name}. Please refer to {TROUBLESHOOTING}")
        engine = ENGINES.get(cluster.db_cluster_resource_id)
        if engine is None:
            raise DataApiError("DatabaseUnavailableException", "The database is unavailable.", 504)
        try:
            value = secretsmanager_backends[account][region].get_secret_value(secret_arn, None, None)
        except SecretsManagerClientError:
            raise DataApiError("SecretsErrorException", "Secrets Manager can't find the specified secret.") from None
        try:
            doc = json.loads(value.get("SecretString") or "")
            username, password = doc["username"], doc["password"]
        except (ValueError, KeyError, TypeError):
            raise DataApiError("InvalidSecretException",
                               "The secret must be a JSON object with username and password.") from None
        # Like a JDBC connection without a database: the database named as the user.
        return engine.port, username, password, body.get("database") or username

    # ---- connections ---------------------------------------------------------------------------
    @staticmethod
    def connect(key: tuple) -> _Connection:
        from psycopg import pq
        from psycopg.conninfo import make_conninfo

        port, user, password, dbname = key
        pgconn = pq.PGconn.connect(make_conninfo(
            host="127.0.0.1", port=str(port), user=user, password=password, dbname=dbname, sslmode="require",
            connect_timeout="10", application_name="rds-data-api").encode())
        if pgconn.status != pq.ConnStatus.OK:
            message = pgconn.error_message.decode("utf-8", "replace")
            pgconn.finish()
            raise _login_error(message)
        return _Connection(pgconn, key)

    def borrow(self, key: tuple) -> _Connection:
        from psycopg import pq

        while True:
            with self.mutex:
                idle = self.idle.get(key) or []
                conn = idle.pop() if idle else None
            if conn is None:
                return self.connect(key)
            if conn.pg.status == pq.ConnStatus.OK:
                return conn
            conn.pg.finish()

    def give_back(self, conn: _Connection) -> None:
        from psycopg import pq

        # No session affinity: nothing of this call's session survives into the next one.
        if conn.pg.transaction_status == pq.TransactionStatus.IDLE and \
                conn.pg.exec_(b"DISCARD ALL").status == pq.ExecStatus.COMMAND_OK:
            conn.used = time.monotonic()
            with self.mutex:
                self.idle.setdefault(conn.key, []).append(conn)
        else:
            conn.pg.finish()

    # ---- transactions ----------------------------------------------------------------------------
    def expire(self) -> None:
        """Transactions idle for three minutes are rolled back and forgotten (as AWS does)."""
        now = time.monotonic()
        with self.mutex:
            old = [tx for tx, c in self.transactions.items() if now - c.used > TRANSACTION_IDLE_SECONDS and not c.lock.locked()]
            gone = [self.transactions.pop(tx) for tx in old]
        for conn in gone:
            conn.pg.finish()

    def transaction(self, tx_id: str, key: tuple) -> _Connection:
        self.expire()
        with self.mutex:
            conn = self.transactions.get(tx_id)
        if conn is None or conn.key[0] != key[0]:
            raise DataApiError("TransactionNotFoundException", f"Transaction {tx_id} is not found", 404)
        return conn

    # ---- statements --------------------------------------------------------------------------
    def run(self, conn: _Connection, body: dict, parameters: list) -> dict:
        from psycopg import pq

        sql = body.get("sql") or ""
        if not sql.strip():
            raise DataApiError("BadRequestException", "SQL statement is empty.")
        text, values, oids = _bind(sql, parameters) if parameters else (sql, [], [])
        # The extended protocol, as the Data API's driver speaks it: one statement per call
        # ("cannot insert multiple commands into a prepared statement" otherwise).
        result = conn.pg.exec_params(text.encode(), values, oids)
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise _sql_error(result)
        answer = {"numberOfRecordsUpdated": 0, "generatedFields": []}
        if result.status != pq.ExecStatus.TUPLES_OK:
            answer["numberOfRecordsUpdated"] = result.command_tuples or 0
            return answer
        options = body.get("resultSetOptions") or {}
        records = [[_field(result.get_value(r, c), result.ftype(c), options) for c in range(result.nfields)]
                   for r in range(result.ntuples)]
        names = [result.fname(c).decode() for c in range(result.nfields)]
        if body.get("formatRecordsAs") == "JSON":
            answer["formattedRecords"] = json.dumps([{n: _json_value(f) for n, f in zip(names, row)} for row in records])
        else:
            answer["records"] = records
            if body.get("includeResultMetadata"):
                answer["columnMetadata"] = self.metadata(conn, result, names)
        if len(json.dumps(answer)) > RESPONSE_LIMIT:
            raise DataApiError("BadRequestException", "Database returned more than the allowed response size limit")
        return answer

    @staticmethod
    def metadata(conn: _Connection, result, names: list) -> list:
        from psycopg import pq

        missing = {result.ftype(c) for c in range(result.nfields)} - set(conn.type_names)
        if missing:
            lookup = conn.pg.exec_params(b"SELECT oid::int8, typname FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])",
                                         [("{" + ",".join(str(o) for o in missing) + "}").encode()], [0])
            if lookup.status == pq.ExecStatus.TUPLES_OK:
                for r in range(lookup.ntuples):
                    conn.type_names[int(lookup.get_value(r, 0))] = lookup.get_value(r, 1).decode()
        out = []
        for c, name in enumerate(names):
            oid, mod = result.ftype(c), result.fmod(c)
            array = oid in _ARRAY_ELEMENT
            precision, scale = 0, 0
            if oid == _NUMERIC and mod >= 4:
                precision, scale = ((mod - 4) >> 16) & 0xFFFF, (mod - 4) & 0xFFFF
            elif oid in (_VARCHAR, 1042) and mod >= 4:
                precision = mod - 4
            elif oid in (25,):
                precision = 2147483647
            elif oid in _LONG_OIDS:
                precision = {_INT2: 5, _INT4: 10}.get(oid, 19)
            out.append({
                "name": name, "label": name, "type": 2003 if array else _JDBC_TYPES.get(oid, 1111),
                "typeName": conn.type_names.get(oid, ""), "schemaName": "", "tableName": "",
                "isAutoIncrement": False, "isSigned": oid in _LONG_OIDS | _DOUBLE_OIDS | {_NUMERIC},
                "isCurrency": False, "isCaseSensitive": oid in (25, _VARCHAR, 1042), "nullable": 2,
                "precision": precision, "scale": scale,
                "arrayBaseColumnType": _JDBC_TYPES.get(_ARRAY_ELEMENT[oid], 1111) if array else 0,
            })
        return out

    def with_connection(self, key: tuple, tx_id: str | None, work):
        """Run work(conn) on the transaction's session, or on a pooled one outside transactions."""
        if tx_id:
            conn = self.transaction(tx_id, key)
            if not conn.lock.acquire(blocking=False):
                raise DataApiError("DatabaseErrorException", "Transaction is still running a query")
            try:
                return work(conn)
            finally:
                conn.used = time.monotonic()
                conn.lock.release()
        from psycopg import pq

        for attempt in (1, 2):
            conn = self.borrow(key)
            try:
                return work(conn)
            except DataApiError:
                # A pooled session the server ended meanwhile (a terminated backend, a restart):
                # the call gets a fresh one, as the Data API's pool would give it.
                if attempt == 2 or conn.pg.status == pq.ConnStatus.OK:
                    raise
            finally:
                self.give_back(conn)
        raise AssertionError("unreachable")

    def execute(self, key: tuple, body: dict) -> dict:
        return self.with_connection(key, body.get("transactionId"),
                                    lambda conn: self.run(conn, body, body.get("parameters") or []))

    def batch(self, key: tuple, body: dict) -> dict:
        from psycopg import pq

        sets = body.get("parameterSets")
        sets = [[]] if sets is None else sets

        def work(conn):
            own = not body.get("transactionId")
            if own:  # a batch outside a transaction is one transaction of its own
                conn.pg.exec_(b"BEGIN")
            try:
                for parameters in sets:
                    self.run(conn, dict(body, includeResultMetadata=False), parameters)
            except BaseException:
                if own:
                    conn.pg.exec_(b"ROLLBACK")
                raise
            if own:
                result = conn.pg.exec_(b"COMMIT")
                if result.status == pq.ExecStatus.FATAL_ERROR:
                    raise _sql_error(result)
            return {"updateResults": [{"generatedFields": []} for ignored in sets]}

        return self.with_connection(key, body.get("transactionId"), work)

    def begin(self, key: tuple) -> dict:
        self.expire()
        conn = self.connect(key)
        conn.pg.exec_(b"BEGIN")
        tx_id = base64.b64encode(secrets.token_bytes(96)).decode()
        with self.mutex:
            self.transactions[tx_id] = conn
        return {"transactionId": tx_id}

    def end(self, key: tuple, tx_id: str, commit: bool) -> dict:
        from psycopg import pq

        conn = self.transaction(tx_id, key)
        if not conn.lock.acquire(blocking=False):
            raise DataApiError("DatabaseErrorException", "Transaction is still running a query")
        try:
            with self.mutex:
                self.transactions.pop(tx_id, None)
            result = conn.pg.exec_(b"COMMIT" if commit else b"ROLLBACK")
            conn.pg.finish()
        finally:
            conn.lock.release()
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise _sql_error(result)
        if commit and result.command_status != b"COMMIT":
            # PostgreSQL ends an aborted transaction's COMMIT as ROLLBACK; the Data API says so.
            raise _database_error("ERROR: current transaction is aborted, transaction rolled back", "25P02")
        return {"transactionStatus": "Transaction Committed" if commit else "Rollback Complete"}


DATA_API = DataApi()


def data_api_runs_on_postgresql() -> None:
    """ExecuteStatement, BatchExecuteStatement, BeginTransaction, CommitTransaction and
    RollbackTransaction run on the cluster's PostgreSQL server (scripts/emulator_fixes/rds.py).

    moto 5.2.5 answers ExecuteStatement from a queue of canned results and has no other
    operation. AWS, as modelled here: the cluster (resourceArn) must exist with the Data API on
    (HttpEndpointNotEnabledException otherwise); the Data API reads the secret (secretArn, its
    AWSCURRENT version) and logs in with its username and password, to `database` or else the
    database named as the user; a refused login or an SQL error is a DatabaseErrorException
    "<PostgreSQL's message>; SQLState: <code>" (the Serverless v2 / provisioned Data API).
    Statements go out with the extended protocol, one per call; `:name` parameters with typeHint
    (strings bind as varchar); typed fields back (longValue, doubleValue, booleanValue,
    blobValue, arrayValue, stringValue for the rest), includeResultMetadata, formatRecordsAs
    JSON, resultSetOptions. Calls outside a transaction share no session (pooled sessions are
    reset with DISCARD ALL); a transaction keeps its own session, refuses a second concurrent
    call ("Transaction is still running a query") and is rolled back after three idle minutes
    (TransactionNotFoundException afterwards). Not modelled: the 45 s call timeout
    (continueAfterTimeout), IAM authorisation of the caller, the 64 KB row limit.
    """
    cls = rdsdata_responses.RDSDataServiceResponse

    def operation(handler):
        def method(self):
            body = json.loads(self.body or "{}")
            key = DataApi.target(self.current_account, self.region, body)
            return 200, {"Content-Type": "application/json"}, json.dumps(handler(key, body))

        return method

    cls.execute_statement = operation(DATA_API.execute)
    cls.batch_execute_statement = operation(DATA_API.batch)
    cls.begin_transaction = operation(lambda key, body: DATA_API.begin(key))
    cls.commit_transaction = operation(lambda key, body: DATA_API.end(key, body.get("transactionId") or "", True))
    cls.rollback_transaction = operation(lambda key, body: DATA_API.end(key, body.get("transactionId") or "", False))
    dispatch = rdsdata_urls.response.dispatch
    for path in ("BatchExecute", "BeginTransaction", "CommitTransaction", "RollbackTransaction"):
        rdsdata_urls.url_paths["{0}/" + path + "$"] = dispatch


FIXES = (data_api_runs_on_postgresql,)
