"""The emulator's front door: the endpoint the product talks to, hostile on demand.

scripts/emulator.py starts moto's server with two listeners on loopback, both in moto's process
and on the same state:
  - the direct port (`aws_direct_url`): moto as it is, for tests that must read real state;
  - the front port (`aws_endpoint_url`): this module, in front of the same WSGI application.
It serves HTTP/1.1 keep-alive (moto's werkzeug server closes every connection and lingers 10 ms
after each request), streams bodies in both directions, and when faults are configured answers
like AWS on a busy day:
  - throttle: a share of requests answered with each protocol's real throttling error, nothing
    done (EC2 RequestLimitExceeded 503; query Throttling 400; JSON ThrottlingException 400;
    S3 SlowDown 503; Lambda TooManyRequestsException 429; CloudFront/Route 53 Throttling 400;
    CloudWatch's CBOR protocol Throttling 400);
  - lost: a share forwarded, done, and then answered 500, as if the answer were lost on the way
    (what a client sees after a timeout on AWS: the call took effect, the client never heard);
  - error: a share answered 500 without doing anything (a transient server error);
  - latency: every AWS call waits this long first.
Decisions are seeded and reproducible: the k-th call of an operation gets the same fate for the
same seed, whatever other operations run in between. Every injected fault is logged as a JSON
line (`faults.log` in the state folder) and counted (`faults.json`, and GET /_stream_sales/faults,
which also counts every call by service.Operation). /moto-api/ and /_stream_sales/ are never
faulted. The product knows nothing of this: it only sees AWS's errors.

Fault spec (flag `--faults`, env STREAM_SALES_FAULTS, or POST /_stream_sales/faults):
    throttle=0.2,lost=0.05,error=0.01,latency=50ms,match=ec2\\.Create.*
`match` is a regular expression on "service.Operation" that limits which calls may be faulted
(latency applies to all); `count` caps the number of faults (count=1: lose one answer only).
Shares accept 0.2 or 20%.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

CONTROL = "/_stream_sales/"
NEVER_FAULTED = ("/moto-api", CONTROL)
THROTTLE, LOST, ERROR = "throttle", "lost", "error"


# --- configuration -----------------------------------------------------------------------

def _share(text: str) -> float:
    text = text.strip()
    value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    if not 0 <= value <= 1:
        raise ValueError(f"a share must be between 0 and 1 (or 0% and 100%), got {text}")
    return value


def _seconds(text: str) -> float:
    m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s)?\s*", text)
    if not m:
        raise ValueError(f"latency must look like 50ms or 0.05s, got {text}")
    return float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)


@dataclass
class Faults:
    throttle: float = 0.0
    lost: float = 0.0
    error: float = 0.0
    latency: float = 0.0
    seed: int = 0
    match: str = ""
    count: int = 0  # at most this many faults in all (0: no limit), e.g. lose one answer only

    @classmethod
    def parse(cls, spec: str | None, seed: int | str | None = 0) -> Faults:
        faults = cls(seed=int(seed or 0))
        for item in filter(None, (spec or "").split(",")):
            key, ignored, value = item.partition("=")
            key = key.strip()
            if key in (THROTTLE, LOST, ERROR):
                setattr(faults, key, _share(value))
            elif key == "latency":
                faults.latency = _seconds(value)
            elif key == "match":
                re.compile(value)
                faults.match = value
            elif key == "seed":
                faults.seed = int(value)
            elif key == "count":
                faults.count = int(value)
            elif key not in ("", "off", "none"):
                raise ValueError(f"unknown fault {key!r}; known: throttle, lost, error, latency, match, count, seed")
        if faults.throttle + faults.lost + faults.error > 1:
            raise ValueError("throttle + lost + error must not exceed 1")
        return faults

    @property
    def active(self) -> bool:
        return bool(self.throttle or self.lost or self.error or self.latency)

    def spec(self) -> str:
        parts = [f"{k}={getattr(self, k)}" for k in (THROTTLE, LOST, ERROR) if getattr(self, k)]
        if self.latency:
            parts.append(f"latency={self.latency * 1000:g}ms")
        if self.match:
            parts.append(f"match={self.match}")
        if self.count:
            parts.append(f"count={self.count}")
        return ",".join(parts) or "off"


def decide(faults: Faults, service: str, operation: str, k: int) -> str | None:
    """The fate of the k-th call of service.operation under these faults (None: served)."""
    if not (faults.throttle or faults.lost or faults.error):
        return None
    if faults.match and not re.fullmatch(faults.match, f"{service}.{operation}"):
        return None
    digest = hashlib.blake2b(f"{faults.seed}|{service}|{operation}|{k}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2**64
    if u < faults.throttle:
        return THROTTLE
    if u < faults.throttle + faults.lost:
        return LOST
    if u < faults.throttle + faults.lost + faults.error:
        return ERROR
    return None


# --- what is being called ------------------------------------------------------------------

# SigV4 signing names that are not botocore service names.
SIGNING_ALIASES = {"monitoring": "cloudwatch", "tagging": "resourcegroupstaggingapi", "email": "ses",
                   "states": "stepfunctions", "elasticloadbalancing": "elbv2", "execute-api": "apigateway",
                   "elasticmapreduce": "emr", "es": "opensearch"}
_CREDENTIAL = re.compile(r"Credential=[^/\s,]+/\d{8}/([^/\s,]+)/([^/\s,]+)/aws4_request")


@dataclass
class Call:
    service: str = "unknown"
    operation: str = "unknown"
    protocol: str = "unknown"  # ec2, query, json, cbor, rest-xml, rest-json
    query_compatible: bool = False

    @property
    def name(self) -> str:
        return f"{self.service}.{self.operation}"


class Models:
    """botocore's service models, loaded once per service, for protocols and REST routes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict = {}
        self._routes: dict = {}
        self._session = None

    def model(self, signing_name: str):
        with self._lock:
            if signing_name not in self._models:
                self._models[signing_name] = self._load(signing_name)
            return self._models[signing_name]

    def _load(self, signing_name: str):
        import botocore.session
        from botocore.exceptions import UnknownServiceError

        if self._session is None:
            self._session = botocore.session.get_session()
        for name in (SIGNING_ALIASES.get(signing_name), signing_name):
            if not name:
                continue
            try:
                return self._session.get_service_model(name)
            except UnknownServiceError:
                continue
        return None

    def routes(self, signing_name: str):
        model = self.model(signing_name)
        if model is None:
            return []
        with self._lock:
            if signing_name not in self._routes:
                self._routes[signing_name] = _compile_routes(model)
            return self._routes[signing_name]


def _compile_routes(model) -> list:
    """(score, method, path regex, required query keys, required headers, operation), best first."""
    routes = []
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        uri = op.http.get("requestUri", "/")
        path, ignored, query = uri.partition("?")
        pattern, literal = "", 0
        for part in re.split(r"(\{[^}]+\})", path):
            if part.startswith("{"):
                pattern += ".+" if part.endswith("+}") else "[^/]+"
            else:
                pattern += re.escape(part)
                literal += len(part)
        required = {}
        for item in filter(None, query.split("&")):
            key, ignored, value = item.partition("=")
            if key != "x-id":  # a hint botocore does not send
                required[key] = value or None
        # Required inputs that travel in the query string or headers tell apart operations on one
        # path (PutObject, CopyObject: x-amz-copy-source, UploadPart: partNumber and uploadId).
        headers = set()
        shape = op.input_shape
        for member in (shape.required_members if shape is not None else []):
            where = shape.members[member].serialization
            if where.get("location") == "querystring":
                required.setdefault(where.get("name", member), None)
            elif where.get("location") == "header":
                headers.add("HTTP_" + where.get("name", member).upper().replace("-", "_"))
        # A path that ends in "/" also matches without it (botocore drops empty trailing keys).
        regex = re.compile(pattern.rstrip("/") + "/?$" if pattern not in ("/", "") else "/?$")
        score = literal + 10 * (len(required) + len(headers))
        routes.append((score, op.http.get("method", "POST"), regex, required, headers, op_name))
    routes.sort(key=lambda r: -r[0])
    return routes


MODELS = Models()


def identify(environ: dict) -> Call:
    """Service, operation and protocol of a request, from what the SDK put on the wire."""
    call = Call()
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _CREDENTIAL.search(auth)
    query = environ.get("QUERY_STRING", "")
    if not m and "X-Amz-Credential" in query:
        cred = parse_qs(query).get("X-Amz-Credential", [""])[0]
        m = _CREDENTIAL.search("Credential=" + cred)
    if m:
        call.service = m.group(2)
    path = environ.get("PATH_INFO", "/") or "/"
    model = MODELS.model(call.service) if m else None
    if model is not None:
        call.service = model.service_name  # cloudwatch, not its signing name "monitoring"
        call.query_compatible = "awsQueryCompatible" in model.metadata
    if environ.get("HTTP_SMITHY_PROTOCOL", "").startswith("rpc-v2-cbor"):
        call.protocol = "cbor"
        call.operation = path.rsplit("/operation/", 1)[-1]
        return call
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        call.protocol = "json"
        call.operation = target.rsplit(".", 1)[-1]
        return call
    action = parse_qs(query).get("Action")
    if not action and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        body = _read_body(environ)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    if action:
        call.protocol = "ec2" if call.service == "ec2" else "query"
        call.operation = action[0]
        return call
    if model is not None:
        call.protocol = model.metadata.get("protocol", "rest-json")
        method = environ.get("REQUEST_METHOD", "GET")
        keys = parse_qs(query, keep_blank_values=True)
        for _score, op_method, regex, required, headers, op_name in MODELS.routes(m.group(2)):
            if op_method != method or not regex.match(path):
                continue
            if all(k in keys and (v is None or v in keys[k]) for k, v in required.items()) and all(
                    h in environ for h in headers):
                call.operation = op_name
                break
    return call


def request_digest(environ: dict) -> str:
    """What makes two calls the same call: region (signing scope), operation, method, path, query
    and body. The JSON protocols name the operation in X-Amz-Target only: KMS's GetKeyPolicy and
    ListResourceTags of one key send the same body.

    S3 signs its payload's hash in a header: that stands for large bodies, which are not read.
    """
    m = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    payload = environ.get("HTTP_X_AMZ_CONTENT_SHA256", "")
    if not payload or payload.startswith("UNSIGNED") or payload.startswith("STREAMING"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        payload = hashlib.sha256(_read_body(environ)).hexdigest() if length <= 1 << 20 else f"{length} bytes"
    parts = (m.group(1) if m else "", environ.get("HTTP_X_AMZ_TARGET", ""), environ.get("REQUEST_METHOD", ""),
             environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""), payload)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _read_body(environ: dict) -> bytes:
    """Read a (small, form-encoded) body and put it back for moto to read."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


# --- AWS's answers -------------------------------------------------------------------------

def _cbor(obj: dict) -> bytes:
    """Just enough CBOR for an error body: a map of text strings."""
    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        if n < 256:
            return bytes([major << 5 | 24, n])
        return bytes([major << 5 | 25]) + n.to_bytes(2, "big")

    out = head(5, len(obj))
    for key, value in obj.items():
        for text in (key, value):
            data = str(text).encode()
            out += head(3, len(data)) + data
    return out


def _throttle_code(call: Call) -> tuple[int, str]:
    """Status and code of the throttling error this service documents for its protocol."""
    if call.protocol == "rest-json":
        model = MODELS.model(call.service)
        names = {s.name: s for s in model.error_shapes} if model is not None else {}
        for name in ("TooManyRequestsException", "ThrottlingException", "ThrottledException"):
            if name in names:
                return int((names[name].metadata.get("error") or {}).get("httpStatusCode", 429)), name
        return 429, "ThrottlingException"
    return {"ec2": (503, "RequestLimitExceeded"), "query": (400, "Throttling"),
            "json": (400, "ThrottlingException"), "cbor": (400, "ThrottlingException")}.get(
        call.protocol, (503, "SlowDown") if call.service == "s3" else (400, "Throttling"))


def error_response(call: Call, fault: str) -> tuple[int, str, list, bytes]:
    """(status, code, headers, body) of the injected answer, shaped as this protocol's errors."""
    rid = str(uuid.uuid4())
    if fault == THROTTLE:
        status, code = _throttle_code(call)
        message = "Please reduce your request rate." if code == "SlowDown" else (
            "Request limit exceeded." if code == "RequestLimitExceeded" else "Rate exceeded")
        query_code = "Throttling"
    else:
        status = 500
        code = {"ec2": "InternalError", "query": "InternalFailure", "json": "InternalFailure",
                "cbor": "InternalFailure", "rest-json": "ServiceException"}.get(
            call.protocol, "InternalError")
        message = "An internal error has occurred" if fault == LOST else "We encountered an internal error. Please try again."
        query_code = "InternalFailure"
    headers = [("x-amzn-RequestId", rid), ("x-amz-request-id", rid)]
    if call.protocol == "ec2":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
                f"<Message>{message}</Message></Error></Errors><RequestID>{rid}</RequestID></Response>")
        headers.append(("Content-Type", "text/xml;charset=UTF-8"))
    elif call.protocol in ("query", "rest-xml") and call.service != "s3":
        body = (f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
        headers.append(("Content-Type", "text/xml"))
    elif call.protocol == "rest-xml" or call.service == "s3":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>{rid}</RequestId><HostId>{rid}</HostId></Error>")
        headers.append(("Content-Type", "application/xml"))
    elif call.protocol == "cbor":
        headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
        if call.query_compatible:
            headers.append(("x-amzn-query-error", f"{query_code};{'Sender' if status < 500 else 'Receiver'}"))
        return status, code, headers, _cbor({"__type": code, "message": message})
    elif call.protocol == "rest-json":
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
        fields = {"Type": "User" if status < 500 else "Service", "message": message}
        if code == "TooManyRequestsException":
            fields["Reason"] = "CallerRateLimitExceeded"
        body = json.dumps(fields)
    else:  # json and anything unknown
        headers.append(("Content-Type", "application/x-amz-json-1.1"))
        if call.query_compatible:
            headers.append(("x-amzn-query-error", f"{query_code};{'Sender' if status < 500 else 'Receiver'}"))
        body = json.dumps({"__type": code, "message": message})
    return status, code, headers, body.encode()


# --- the WSGI middleware ---------------------------------------------------------------------

@dataclass
class Counters:
    requests: int = 0
    faults: dict = field(default_factory=dict)
    calls: dict = field(default_factory=dict)
    # Calls identical to an earlier one since the counters were reset (the same region, method,
    # path, query and body): reads a run could have kept. The benchmark reports them.
    repeats: dict = field(default_factory=dict)


class FaultFront:
    """WSGI middleware: identifies each AWS call, counts it, and injects the configured faults."""

    def __init__(self, app, state_dir: Path, faults: Faults | None = None, controls: dict | None = None):
        self.app = app
        self.state_dir = Path(state_dir)
        self.lock = threading.Lock()
        self.controls = controls or {}  # extra control endpoints: name -> callable(method, body) -> dict
        self.configure(faults or Faults())

    # configuration and counters
    def configure(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self.seq: dict[str, int] = {}
            self.seen: set = set()
            self.counters = Counters()
            self._write_counters()

    def report(self) -> dict:
        with self.lock:
            return {"faults": asdict(self.faults), "spec": self.faults.spec(), "counters": asdict(self.counters)}

    def _write_counters(self) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.state_dir / "faults.json.tmp"
            tmp.write_text(json.dumps({"spec": self.faults.spec(), "seed": self.faults.seed,
                                       **asdict(self.counters)}, sort_keys=True))
            tmp.replace(self.state_dir / "faults.json")
        except OSError:
            pass

    def _log(self, call: Call, fault: str, k: int, code: str, upstream: str | None) -> None:
        entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z",
                 "service": call.service, "operation": call.operation, "fault": fault, "code": code, "call": k}
        if upstream:
            entry["upstream_status"] = upstream
        with open(self.state_dir / "faults.log", "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")

    # the request path
    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL):
            return self._control(environ, start_response, path[len(CONTROL):])
        if path.startswith(NEVER_FAULTED):
            return self.app(environ, start_response)
        faults = self.faults
        call = identify(environ)
        digest = request_digest(environ)
        with self.lock:
            k = self.seq.get(call.name, 0)
            self.seq[call.name] = k + 1
            self.counters.requests += 1
            per_call = self.counters.calls.setdefault(call.name, {"requests": 0})
            per_call["requests"] += 1
            if digest in self.seen:
                self.counters.repeats[call.name] = self.counters.repeats.get(call.name, 0) + 1
            self.seen.add(digest)
        if faults.latency:
            time.sleep(faults.latency)
        fault = decide(faults, call.service, call.operation, k)
        reserved = False
        if fault is not None and faults.count:
            with self.lock:
                if sum(self.counters.faults.values()) >= faults.count:
                    fault = None
                else:  # counted now: concurrent calls must not exceed the count
                    self.counters.faults[fault] = self.counters.faults.get(fault, 0) + 1
                    reserved = True
        if fault is None:
            return self.app(environ, start_response)
        upstream = None
        if fault == LOST:
            upstream = self._forward_and_drop(environ)
        else:
            _drain(environ)
        status, code, headers, body = error_response(call, fault)
        with self.lock:
            if not reserved:
                self.counters.faults[fault] = self.counters.faults.get(fault, 0) + 1
            per_call[fault] = per_call.get(fault, 0) + 1
            self._log(call, fault, k, code, upstream)
            self._write_counters()
        if environ.get("REQUEST_METHOD") == "HEAD":
            body = b""
        start_response(f"{status} {_REASONS.get(status, 'Error')}", headers + [("Content-Length", str(len(body)))])
        return [body]

    def _forward_and_drop(self, environ) -> str:
        """Let moto do the work, then throw its answer away."""
        seen = {}

        def start(status, headers, exc_info=None):
            seen["status"] = status
            return lambda data: None

        result = self.app(environ, start)
        try:
            for _unused in result:
                pass
        finally:
            if hasattr(result, "close"):
                result.close()
        return seen.get("status", "")

    def _control(self, environ, start_response, name):
        method = environ.get("REQUEST_METHOD", "GET")
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) if method == "POST" else b""
        try:
            args = json.loads(body or b"{}")
            if name == "faults":
                if method == "POST":
                    self.configure(Faults.parse(args.get("spec"), args.get("seed", 0)))
                answer = self.report()
            elif name in self.controls:
                answer = self.controls[name](method, args)
            else:
                start_response("404 Not Found", [("Content-Type", "application/json")])
                return [json.dumps({"error": f"no control {name!r}; known: faults, {', '.join(self.controls)}"}).encode()]
            status = "200 OK"
        except (ValueError, TypeError) as exc:
            answer, status = {"error": str(exc)}, "400 Bad Request"
        data = json.dumps(answer, sort_keys=True).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


_REASONS = {400: "Bad Request", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


def _drain(environ) -> None:
    """Read what is left of the request body, so the connection can serve the next request."""
    stream = environ["wsgi.input"]
    while stream.read(65536):
        pass


# --- the keep-alive server ------------------------------------------------------------------

class _Body(io.RawIOBase):
    """The request body: at most Content-Length bytes of the connection, never beyond."""

    def __init__(self, stream, length: int):
        self.stream, self.remaining = stream, length

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.stream.read(size)
        self.remaining -= len(data)
        if not data:
            self.remaining = 0
        return data

    def readinto(self, buf) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def readline(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.stream.readline(size)
        self.remaining -= len(data)
        return data


def make_handler(base):
    """A request handler (subclass of moto's) that keeps connections alive between requests."""

    class KeepAliveHandler(base):
        protocol_version = "HTTP/1.1"
        timeout = 300  # an idle keep-alive connection is closed after this
        wbufsize = 65536  # headers and body leave in one segment; flushed after each response

        def setup(self) -> None:
            super().setup()
            # Without this, Nagle's algorithm and delayed ACKs add 40 ms to every kept-alive call.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def make_environ(self):
            environ = super().make_environ()
            if not environ.get("wsgi.input_terminated"):
                environ["wsgi.input"] = _Body(self.rfile, int(environ.get("CONTENT_LENGTH") or 0))
            return environ

        def run_wsgi(self) -> None:  # replaces werkzeug's, which closes every connection
            if self.headers.get("Expect", "").lower().strip() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.wfile.flush()
            self.environ = environ = self.make_environ()
            state = {"status": None, "headers": None, "sent": False, "chunked": False}
            head = environ["REQUEST_METHOD"] == "HEAD"

            def send_head():
                code_str, ignored, msg = state["status"].partition(" ")
                code = int(code_str)
                self.send_response(code, msg)
                keys = set()
                for key, value in state["headers"]:
                    if key.lower() == "connection":
                        continue
                    self.send_header(key, value)
                    keys.add(key.lower())
                if "content-length" not in keys and not head and code >= 200 and code not in (204, 304):
                    state["chunked"] = True
                    self.send_header("Transfer-Encoding", "chunked")
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                state["sent"] = True
                state["code"] = code

            def write(data: bytes) -> None:
                if not state["sent"]:
                    send_head()
                if data and not head:
                    if state["chunked"]:
                        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    else:
                        self.wfile.write(data)

            def start_response(status, headers, exc_info=None):
                if exc_info and state["sent"]:
                    raise exc_info[1].with_traceback(exc_info[2])
                state["status"], state["headers"] = status, headers
                return write

            size = 0
            try:
                result = self.server.app(environ, start_response)
                try:
                    for data in result:
                        size += len(data)
                        write(data)
                    if not state["sent"]:
                        write(b"")
                    if state["chunked"]:
                        self.wfile.write(b"0\r\n\r\n")
                finally:
                    if hasattr(result, "close"):
                        result.close()
                _drain(environ)
                self.wfile.flush()
            except (ConnectionError, TimeoutError, OSError):
                self.close_connection = True
                return
            except Exception:  # noqa: BLE001 - the app failed: answer 500 if we still can
                self.close_connection = True
                if not state["sent"]:
                    body = b"Internal Server Error"
                    self.send_response(500)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body)
                import traceback

                traceback.print_exc()
                return

    return KeepAliveHandler


def serve(host: str, port: int, app, state_dir: Path, faults: Faults, controls: dict | None = None):
    """Start the front in a daemon thread; returns the (FaultFront, server)."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    front = FaultFront(app, state_dir, faults, controls)
    server = make_server(host, port, front, threaded=True, request_handler=make_handler(MotoRequestHandler))
    threading.Thread(target=server.serve_forever, name="fault-front", daemon=True).start()
    return front, server


def from_environment() -> Faults:
    return Faults.parse(os.environ.get("STREAM_SALES_FAULTS", ""), os.environ.get("STREAM_SALES_FAULT_SEED", 0))
