"""A local stand-in for the RDS Data API's HTTP interface, executing against real PostgreSQL.

moto's ``rds-data`` only returns canned answers, so tests of the Data API transport talk
to this instead: a loopback HTTP server speaking the REST-JSON protocol of the boto3
``rds-data`` client (POST /Execute, /BeginTransaction, /CommitTransaction,
/RollbackTransaction; shapes from botocore's rds-data 2018-08-01 model). Point a client at
it with ``endpoint_url=standin.endpoint_url``.

What it reproduces of the real service, because the transport depends on it:
- one statement per ExecuteStatement, sent with the extended protocol as the Data API's
  JDBC layer does (several statements fail: "cannot insert multiple commands into a
  prepared statement"); ``:name`` parameters with typeHint; string parameters are varchar;
- no session affinity outside a transaction: calls borrow pooled connections that are
  reset (DISCARD ALL) between calls; a transaction holds its own connection;
- sessions in UTC; SQL errors as BadRequestException "ERROR: ...; SQLState: XXXXX";
  unknown transaction ids as TransactionNotFoundException.
Not reproduced: authentication/signing, timeouts (45 s per call, 3 min idle transaction),
result size limits, formatRecordsAs=JSON, array parameters.
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

from pglast import parser as pg_parser
from psycopg import pq
from psycopg.conninfo import make_conninfo

# Parameter type OIDs, as the Data API binds them.
_HINT_OIDS = {"TIMESTAMP": 1114, "DATE": 1082, "TIME": 1083, "DECIMAL": 1700, "UUID": 2950, "JSON": 114}
_VARCHAR, _BOOL, _INT8, _FLOAT8, _BYTEA = 1043, 16, 20, 701, 17
_LONG_OIDS = {20, 21, 23, 26}
_DOUBLE_OIDS = {700, 701}


class ApiError(Exception):
    def __init__(self, error_type: str, message: str, status: int = 400):
        super().__init__(message)
        self.error_type, self.message, self.status = error_type, message, status


def _sql_error(result) -> ApiError:
    def f(code):
        value = result.error_field(code)
        return value.decode("utf-8", "replace") if value else None

    D = pq.DiagnosticField
    message = f"{f(D.SEVERITY_NONLOCALIZED) or 'ERROR'}: {f(D.MESSAGE_PRIMARY) or result.error_message.decode()}"
    if f(D.MESSAGE_DETAIL):
        message += f"\n  Detail: {f(D.MESSAGE_DETAIL)}"
    if f(D.MESSAGE_HINT):
        message += f"\n  Hint: {f(D.MESSAGE_HINT)}"
    return ApiError("BadRequestException", f"{message}; SQLState: {f(D.SQLSTATE) or ''}")


def _bind(sql: str, parameters: list) -> tuple:
    """``:name`` placeholders -> ``$n``, found by PostgreSQL's scanner (so '::' casts,
    strings and comments are left alone)."""
    values = {}
    for param in parameters:
        name, field, hint = param.get("name"), param.get("value", {}), param.get("typeHint")
        if field.get("isNull"):
            values[name] = (None, 0)
        elif "booleanValue" in field:
            values[name] = (b"t" if field["booleanValue"] else b"f", _BOOL)
        elif "longValue" in field:
            values[name] = (str(field["longValue"]).encode(), _INT8)
        elif "doubleValue" in field:
            values[name] = (repr(field["doubleValue"]).encode(), _FLOAT8)
        elif "stringValue" in field:
            values[name] = (field["stringValue"].encode(), _HINT_OIDS.get(hint, _VARCHAR))
        elif "blobValue" in field:
            values[name] = (b"\\x" + base64.b64decode(field["blobValue"]).hex().encode(), _BYTEA)
        else:
            raise ApiError("BadRequestException", f"Unsupported parameter value for {name}")
    order, out, pos = [], [], 0
    tokens = pg_parser.scan(sql)
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


def _records(result) -> list:
    rows = []
    for row in range(result.ntuples):
        fields = []
        for col in range(result.nfields):
            raw, oid = result.get_value(row, col), result.ftype(col)
            if raw is None:
                fields.append({"isNull": True})
            elif oid == _BOOL:
                fields.append({"booleanValue": raw == b"t"})
            elif oid in _LONG_OIDS:
                fields.append({"longValue": int(raw)})
            elif oid in _DOUBLE_OIDS:
                fields.append({"doubleValue": float(raw)})
            elif oid == _BYTEA:
                fields.append({"blobValue": base64.b64encode(bytes.fromhex(raw[2:].decode())).decode()})
            else:
                fields.append({"stringValue": raw.decode()})
        rows.append(fields)
    return rows


class _Transaction:
    def __init__(self, conn):
        self.conn = conn
        self.lock = threading.Lock()  # a libpq connection serves one call at a time


class DataApiStandIn:
    """``credentials``: a dict or a callable mapping a secretArn to a dict with
    username, password, host, port and (optionally) dbname."""

    def __init__(self, credentials):
        self._credentials = credentials
        self._pool = {}
        self._transactions = {}
        self._mutex = threading.Lock()
        self._server = None
        self.endpoint_url = None

    # ---- lifecycle -------------------------------------------------------------------
    def start(self) -> str:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                standin._handle(self)

            def log_message(self, *args):  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.endpoint_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.endpoint_url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        with self._mutex:
            conns = [t.conn for t in self._transactions.values()]
            conns += [c for idle in self._pool.values() for c in idle]
            self._transactions.clear()
            self._pool.clear()
        for conn in conns:
            conn.finish()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- connections -----------------------------------------------------------------
    def _key(self, body: dict) -> tuple:
        if "resourceArn" not in body or "secretArn" not in body:
            raise ApiError("BadRequestException", "resourceArn and secretArn are required")
        return body["resourceArn"], body["secretArn"], body.get("database")

    def _connect(self, key: tuple):
        secret_arn, database = key[1], key[2]
        try:
            creds = self._credentials(secret_arn) if callable(self._credentials) else self._credentials[secret_arn]
        except KeyError:
            raise ApiError("BadRequestException", f"Secrets Manager can't find the specified secret: {secret_arn}")
        conn = pq.PGconn.connect(make_conninfo(
            host=creds["host"], port=str(creds["port"]), user=creds["username"], password=creds["password"],
            dbname=database or creds.get("dbname") or "postgres", options="-c TimeZone=UTC",
            application_name="data-api-standin").encode())
        if conn.status != pq.ConnStatus.OK:
            message = conn.error_message.decode("utf-8", "replace").strip()
            conn.finish()
            raise ApiError("BadRequestException", message)
        return conn

    def _borrow(self, key):
        with self._mutex:
            idle = self._pool.setdefault(key, [])
            if idle:
                return idle.pop()
        return self._connect(key)

    def _give_back(self, key, conn) -> None:
        # No session affinity: nothing of this call's session survives into the next one.
        if conn.transaction_status == pq.TransactionStatus.IDLE and \
                conn.exec_(b"DISCARD ALL").status == pq.ExecStatus.COMMAND_OK:
            with self._mutex:
                self._pool.setdefault(key, []).append(conn)
        else:
            conn.finish()

    def _transaction(self, tx_id) -> _Transaction:
        with self._mutex:
            tx = self._transactions.get(tx_id)
        if tx is None:
            raise ApiError("TransactionNotFoundException", f"Transaction {tx_id} is not found", 404)
        return tx

    # ---- operations ------------------------------------------------------------------
    def _handle(self, request) -> None:
        routes = {
            "/Execute": self._execute,
            "/BeginTransaction": self._begin,
            "/CommitTransaction": self._commit,
            "/RollbackTransaction": self._rollback,
        }
        try:
            body = json.loads(request.rfile.read(int(request.headers.get("Content-Length") or 0)) or b"{}")
            route = routes.get(request.path.split("?", 1)[0])
            if route is None:
                raise ApiError("UnknownOperationException", f"unsupported path {request.path}", 404)
            status, payload, error_type = 200, route(body), None
        except ApiError as exc:
            status, payload, error_type = exc.status, {"message": exc.message}, exc.error_type
        data = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.send_header("x-amzn-RequestId", secrets.token_hex(16))
        if error_type:
            request.send_header("x-amzn-ErrorType", error_type)
        request.end_headers()
        try:
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout); nothing to tell it any more

    @staticmethod
    def _run(conn, body: dict) -> dict:
        sql = body.get("sql")
        if not sql:
            raise ApiError("BadRequestException", "sql is required")
        if body.get("parameters"):
            text, values, oids = _bind(sql, body["parameters"])
        else:
            text, values, oids = sql, [], []
        result = conn.exec_params(text.encode(), values, oids)  # extended protocol: one statement
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise _sql_error(result)
        response = {"numberOfRecordsUpdated": 0, "generatedFields": []}
        if result.status == pq.ExecStatus.TUPLES_OK:
            response["records"] = _records(result)
            if body.get("includeResultMetadata"):
                response["columnMetadata"] = [
                    {"name": result.fname(i).decode(), "label": result.fname(i).decode(), "type": result.ftype(i)}
                    for i in range(result.nfields)
                ]
        else:
            response["numberOfRecordsUpdated"] = result.command_tuples or 0
        return response

    def _execute(self, body: dict) -> dict:
        if body.get("transactionId"):
            tx = self._transaction(body["transactionId"])
            with tx.lock:
                return self._run(tx.conn, body)
        key = self._key(body)
        conn = self._borrow(key)
        try:
            return self._run(conn, body)
        finally:
            self._give_back(key, conn)

    def _begin(self, body: dict) -> dict:
        conn = self._connect(self._key(body))
        conn.exec_(b"BEGIN")
        tx_id = base64.b64encode(secrets.token_bytes(48)).decode()
        with self._mutex:
            self._transactions[tx_id] = _Transaction(conn)
        return {"transactionId": tx_id}

    def _end(self, body: dict, command: bytes) -> str:
        tx_id = body.get("transactionId")
        tx = self._transaction(tx_id)
        with self._mutex:
            self._transactions.pop(tx_id, None)
        with tx.lock:
            result = tx.conn.exec_(command)
            tx.conn.finish()
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise _sql_error(result)
        return result.command_status.decode()

    def _commit(self, body: dict) -> dict:
        if self._end(body, b"COMMIT") != "COMMIT":
            # PostgreSQL turns COMMIT of an aborted transaction into ROLLBACK; say so.
            raise ApiError("BadRequestException",
                           "ERROR: current transaction is aborted, transaction rolled back; SQLState: 25P02")
        return {"transactionStatus": "Transaction Committed"}

    def _rollback(self, body: dict) -> dict:
        self._end(body, b"ROLLBACK")
        return {"transactionStatus": "Rollback Complete"}
