"""Lambda: functions run, versions keep their code, the code can be downloaded, mappings keep their alias.

moto 5.2.5 stores a function's code but runs it only in Docker (which the emulator has not), its
published versions share one code record, GetFunction's Code.Location names a host nobody serves,
and an event source mapping created on an alias is stored on the alias's version. Here Invoke
runs the stored code with the machine's Node.js as Lambda's nodejs runtime runs it
(scripts/lambda_runtime/: the bootstrap, and the AWS SDK for JavaScript v3 the runtime ships).
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from moto.awslambda import models as lambda_models
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.responses import LambdaResponse
from moto.awslambda.utils import get_backend, make_function_arn
from moto.moto_api._internal import mock_random as random

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_DIR = ROOT / "scripts" / "lambda_runtime"
STATE = Path(os.environ.get("STREAM_SALES_STATE_DIR", ROOT / ".state")).resolve()
# Lambda gives a function's init phase 10 s on top of its timeout; past both the process is killed.
INIT_SECONDS = 10
LOG_TAIL_BYTES = 4096
MAX_PAYLOAD = 6291556
CODE_PATH = "/moto-api/lambda/code"


class ResourceConflictException(LambdaClientError):
    code = 409

    def __init__(self, message: str):
        super().__init__("ResourceConflictException", message)


class InvalidRequestContentException(LambdaClientError):
    code = 400

    def __init__(self, message: str):
        super().__init__("InvalidRequestContentException", message)


def _own_endpoint() -> str:
    """The server's own address, from the arguments scripts/emulator.py starts it with."""
    host, port, argv = "127.0.0.1", "5000", sys.argv[1:]
    for i, arg in enumerate(argv[:-1]):
        if arg in ("-H", "--host"):
            host = argv[i + 1]
        elif arg in ("-p", "--port"):
            port = argv[i + 1]
    return f"http://{host}:{port}"


def _request_endpoint(response) -> str:
    """Where the caller reached the emulator: functions reach AWS the same way (a proxy in front included)."""
    host = response.headers.get("Host")
    return f"http://{host}" if host else _own_endpoint()


# --- Running one invocation -------------------------------------------------------------

@dataclass
class Outcome:
    payload: bytes
    function_error: bool
    log: str


def _split_name(name_or_arn: str, qualifier: str | None) -> tuple[str, str | None]:
    """(function name, qualifier) from a name, name:qualifier, or (partial) ARN."""
    name, inline = (name_or_arn.split(":function:", 1)[-1].split(":", 1) + [""])[:2]
    return name, inline or qualifier


def _invoked_arn(fn, name_or_arn: str, qualifier: str | None) -> str:
    """The ARN the caller invoked: unqualified, or with the version or alias it named (context.invokedFunctionArn)."""
    used = _split_name(name_or_arn, qualifier)[1]
    arn = make_function_arn(fn.region, fn.account_id, fn.function_name)
    return f"{arn}:{used}" if used else arn


def _task_root(fn) -> Path:
    """The function version's code, unpacked once per distinct zip (content-addressed)."""
    code = fn.code_bytes or b""
    root = STATE / "lambda" / "code" / hashlib.sha256(code).hexdigest()
    if root.is_dir():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=".unpack-"))
    with zipfile.ZipFile(io.BytesIO(code)) as zf:
        for info in zf.infolist():
            zf.extract(info, tmp)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(tmp / info.filename, mode | 0o400)
    try:
        tmp.rename(root)
    except OSError:  # another invocation unpacked it first
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _role_credentials(fn) -> tuple[str, str, str]:
    """Temporary credentials of the function's execution role, from the emulator's STS (as Lambda gives them)."""
    try:
        from moto.sts.models import sts_backends

        role = sts_backends[fn.account_id][fn.partition].assume_role(
            region_name=fn.region, role_session_name=fn.function_name[:64], role_arn=fn.role,
            policy=None, duration=3600, external_id=None)
        return role.access_key_id, role.secret_access_key, role.session_token
    except Exception:  # noqa: BLE001 - any STS trouble: the emulator accepts any key
        return "ASIAEMULATEDLAMBDA00", "emulated-lambda-secret", "emulated-lambda-session"


def _write_logs(fn, stream: str, log: str) -> None:
    """Into the function's log group, when it exists. (Lambda creates the group only if the execution role
    may; the emulator does not judge IAM here, so it writes only into a group that is already there.)"""
    try:
        logs = lambda_models.logs_backends[fn.account_id][fn.region]
        group = f"/aws/lambda/{fn.function_name}"
        if group not in logs.groups:
            return
        if stream not in logs.groups[group].streams:
            logs.create_log_stream(group, stream)
        now = int(time.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in log.splitlines() if line]
        if events:
            logs.put_log_events(group, stream, events)
    except Exception:  # noqa: BLE001 - logs never fail an invocation
        pass


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def run(fn, event: bytes, invoked_arn: str, endpoint: str, client_context: str = "") -> Outcome:
    """Run one invocation of version `fn` with the machine's Node.js, as Lambda's nodejs runtime does."""
    if not str(fn.run_time or "").startswith("nodejs"):
        raise LambdaClientError("ServiceException", f"The emulator runs Node.js functions only, not {fn.run_time}")
    node = shutil.which("node")
    if node is None:
        raise LambdaClientError("ServiceException", "The emulator needs Node.js (`node`) to run functions")
    request_id = str(random.uuid4())
    version = str(fn.version)
    stream = time.strftime("%Y/%m/%d/", time.gmtime()) + f"[{version}]" + random.uuid4().hex
    task_root = _task_root(fn)
    scratch = STATE / "lambda" / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=scratch, prefix="invoke-"))
    key, secret, token = _role_credentials(fn)
    env = {str(k): str(v) for k, v in (fn.environment_vars or {}).items()}
    env.update({
        "PATH": os.pathsep.join([os.path.dirname(node), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "en_US.UTF-8", "TZ": ":UTC", "HOME": str(tmp), "TMPDIR": str(tmp),
        "LAMBDA_TASK_ROOT": str(task_root), "LAMBDA_RUNTIME_DIR": str(RUNTIME_DIR),
        "NODE_PATH": str(RUNTIME_DIR / "node_modules"),
        "_HANDLER": fn.handler or "index.handler",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_REGION": fn.region, "AWS_DEFAULT_REGION": fn.region,
        "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token,
        # What differs from AWS: the SDK inside the function reaches the emulator (AWS SDK v3 honours it).
        "AWS_ENDPOINT_URL": endpoint,
    })
    result_file = tmp / "result.json"
    timeout = float(fn.timeout or 3)
    cmd = [node, "--import", (RUNTIME_DIR / "hooks.mjs").as_uri(), str(RUNTIME_DIR / "bootstrap.mjs"),
           str(result_file), request_id, str(int(timeout * 1000)), invoked_arn, client_context]
    started = time.monotonic()
    timed_out = False
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                cwd=task_root, env=env, start_new_session=True)
        try:
            out = proc.communicate(event, timeout=timeout + INIT_SECONDS)[0]
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            out = proc.communicate()[0]
        duration = (time.monotonic() - started) * 1000
        try:
            outcome = json.loads(result_file.read_text())
        except (OSError, ValueError):
            outcome = None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    function_error = True
    if timed_out or (outcome or {}).get("error", {}).get("errorType") == "Sandbox.Timedout":
        payload = _error("Sandbox.Timedout", f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds")
    elif outcome and "error" in outcome:
        payload = json.dumps(outcome["error"]).encode()
    elif outcome and "payload" in outcome:
        payload, function_error = outcome["payload"].encode(), False
    elif outcome and "raw" in outcome:
        payload, function_error = base64.b64decode(outcome["raw"]), False
    elif proc.returncode == 0:
        payload, function_error = b"null", False  # the event loop emptied without an answer
    else:
        payload = _error("Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: "
                                              f"exit status {proc.returncode}")
    if len(payload) > MAX_PAYLOAD:
        message = f"Response payload size exceeded maximum allowed payload size ({MAX_PAYLOAD} bytes)."
        payload, function_error = _error("Function.ResponseSizeTooLarge", message), True
    max_memory = math.ceil(int((outcome or {}).get("maxRssKb") or 0) / 1024)
    log = (f"START RequestId: {request_id} Version: {version}\n"
           + out.decode("utf-8", errors="replace")
           + f"END RequestId: {request_id}\n"
           + f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {math.ceil(duration)} ms\t"
           + f"Memory Size: {fn.memory_size} MB\tMax Memory Used: {max_memory} MB\t\n")
    _write_logs(fn, stream, log)
    return Outcome(payload=payload, function_error=function_error, log=log)


def _event(body) -> bytes:
    """The request payload, which Lambda requires to be JSON."""
    raw = body if isinstance(body, bytes) else (body or "").encode()
    if not raw.strip():
        return b"{}"
    try:
        json.loads(raw)
    except ValueError as exc:
        raise InvalidRequestContentException(f"Could not parse request body into json: {exc}") from None
    return raw


def _runnable(fn) -> None:
    # AWS refuses invocations while a function is still being created (another fix owns the states).
    state = getattr(fn, "state", "Active")
    if state == "Pending":
        raise ResourceConflictException("The operation cannot be performed at this time. "
                                        f"The function is currently in the following state: {state}")


def invoke_runs_the_code_with_node() -> None:
    """Invoke runs the function's code, as AWS does; moto runs it only in Docker.

    The version named by the qualifier ($LATEST, a version or an alias: each version its own code)
    runs in a fresh Node.js process (scripts/lambda_runtime/bootstrap.mjs) with its handler, its
    environment variables, Lambda's reserved variables (AWS_REGION, AWS_LAMBDA_FUNCTION_NAME/VERSION,
    the execution role's temporary credentials from the emulator's STS) and AWS_ENDPOINT_URL at the
    emulator; the event as payload; a context object; its timeout. Answers as Lambda answers:
    the result, or FunctionError Unhandled with the error payload; LogType Tail returns the last
    4 KB of the log in X-Amz-Log-Result (the log also goes to the function's log group);
    X-Amz-Executed-Version; Event runs asynchronously (202), DryRun runs nothing (204).
    Event source mappings (SQS) invoke the same way.
    """
    def response_invoke(self):
        function_name = unquote(self.path.rsplit("/", 2)[-2])
        qualifier = self.querystring.get("Qualifier", [None])[0]
        fn = self.backend.get_function(function_name, qualifier)
        kind = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        event = _event(self.raw_body)
        _runnable(fn)
        if kind == "DryRun":
            return 204, {"status": 204}, ""
        arn, endpoint = _invoked_arn(fn, function_name, qualifier), _request_endpoint(self)
        context = self.headers.get("X-Amz-Client-Context") or ""
        if context:
            try:
                context = base64.b64decode(context).decode()
            except ValueError:
                context = ""
        if kind == "Event":
            threading.Thread(target=run, args=(fn, event, arn, endpoint, context), daemon=True).start()
            return 202, {"status": 202}, ""
        outcome = run(fn, event, arn, endpoint, context)
        headers = {"status": 200, "Content-Type": "application/json", "X-Amz-Executed-Version": str(fn.version)}
        if outcome.function_error:
            headers["X-Amz-Function-Error"] = "Unhandled"
        if self.headers.get("X-Amz-Log-Type") == "Tail":
            headers["X-Amz-Log-Result"] = base64.b64encode(outcome.log.encode()[-LOG_TAIL_BYTES:]).decode()
        return 200, headers, outcome.payload

    def response_invoke_async(self):
        index = -3 if self.path.endswith("/") else -2
        function_name = unquote(self.path.rsplit("/", 3)[index])
        fn = self.backend.get_function(function_name, None)
        event = _event(self.raw_body)
        _runnable(fn)
        threading.Thread(target=run, args=(fn, event, _invoked_arn(fn, function_name, None), _request_endpoint(self)),
                         daemon=True).start()
        return 202, {"status": 202}, json.dumps({"Status": 202})

    def backend_invoke(self, function_name, qualifier, body, headers, response_headers):
        # Invocations from inside the emulator (SQS event source mappings): synchronous, as their poller is.
        fn = self.get_function(function_name, qualifier)
        _runnable(fn)
        outcome = run(fn, _event(body), _invoked_arn(fn, function_name, qualifier), _own_endpoint())
        if outcome.function_error:
            response_headers["x-amz-function-error"] = "Unhandled"
        response_headers["Content-Length"] = str(len(outcome.payload))
        return outcome.payload

    LambdaResponse.invoke = response_invoke
    LambdaResponse.invoke_async = response_invoke_async
    lambda_models.LambdaBackend.invoke = backend_invoke


def published_versions_keep_their_own_code() -> None:
    """A published version keeps the code it was published with, as on AWS.

    moto copies the function shallowly on PublishVersion, so every version shares $LATEST's code
    record (S3Key, ZipFile): an UpdateFunctionCode changed what older versions report. Each new
    version gets its own copy.
    """
    original = lambda_models.LambdaStorage.publish_version

    def publish_version(self, name_or_arn, description=""):
        fn = original(self, name_or_arn, description)
        latest = self._functions.get(getattr(fn, "function_name", None), {}).get("latest")
        if fn is not None and latest is not None and fn is not latest and fn.code is latest.code:
            fn.code = dict(latest.code)
        return fn

    lambda_models.LambdaStorage.publish_version = publish_version


def code_location_is_downloadable() -> None:
    """GetFunction's Code.Location is a URL that serves that version's own zip, as AWS's presigned URL does.

    moto names a bucket on amazonaws.com that nobody serves. The emulator serves each version's code
    at <endpoint>/moto-api/lambda/code/<account>/<region>/<function>/<version>.
    """
    from moto.moto_api._internal import urls as moto_api_urls

    original = LambdaResponse.get_function

    def get_function(self):
        out = json.loads(original(self))
        config = out["Configuration"]
        if config.get("PackageType", "Zip") == "Zip":
            version = "$LATEST" if config.get("Version") == "$LATEST" else str(config.get("Version"))
            location = (f"{_request_endpoint(self)}{CODE_PATH}/{self.current_account}/{self.region}/"
                        f"{quote(config['FunctionName'])}/{quote(version)}")
            out["Code"] = {"RepositoryType": "S3", "Location": location}
        return json.dumps(out)

    def serve_code(request, full_url, headers):
        parts = unquote(full_url.split(CODE_PATH + "/", 1)[1].split("?", 1)[0]).split("/")
        if len(parts) != 4:
            return 404, {}, "not found"
        account, region, name, version = parts
        try:
            fn = get_backend(account, region).get_function(name, version)
        except LambdaClientError:
            return 404, {"Content-Type": "application/xml"}, "<Error><Code>NoSuchKey</Code></Error>"
        return 200, {"Content-Type": "application/zip"}, fn.code_bytes or b""

    LambdaResponse.get_function = get_function
    moto_api_urls.url_paths["{0}" + CODE_PATH + "/(?P<rest>.+)$"] = serve_code


def _qualified_arn(backend, name_or_arn: str) -> str:
    """The function ARN a mapping is attached to: qualified exactly as the caller named it."""
    name, qualifier = _split_name(name_or_arn, None)
    arn = make_function_arn(backend.region_name, backend.account_id, name)
    return f"{arn}:{qualifier}" if qualifier else arn


def event_source_mappings_keep_the_alias() -> None:
    """An event source mapping created on an alias (FunctionName=function:alias) is reported on the alias.

    AWS keeps the alias ARN as the mapping's FunctionArn, so the mapping follows the alias when it moves;
    moto records the ARN of the version the alias pointed to at creation. Also on UpdateEventSourceMapping,
    and ListEventSourceMappings' FunctionName filter compares ARNs (a name, name:alias or ARN).
    GetFunction and GetFunctionConfiguration of an alias report the alias's ARN as FunctionArn (and the
    version in Version), as AWS does and as callers such as amazon.aws.lambda_event rely on to build
    the mapping's FunctionName; moto reports the version's ARN.
    """
    for method, name_at in (("get_function", -1), ("get_function_configuration", -2)):
        original_read = getattr(LambdaResponse, method)

        def read(self, _original=original_read, _at=name_at):
            out = _original(self)
            data = json.loads(out)
            config = data.get("Configuration", data)
            name, qualifier = _split_name(unquote(self.path.rstrip("/").split("/")[_at]),
                                          self._get_param("Qualifier", None))
            if qualifier and qualifier != "$LATEST" and not qualifier.isdigit():
                config["FunctionArn"] = _qualified_arn(self.backend, f"{name}:{qualifier}")
                return json.dumps(data)
            return out

        setattr(LambdaResponse, method, read)

    backend_cls = lambda_models.LambdaBackend
    create, update, listing = (backend_cls.create_event_source_mapping, backend_cls.update_event_source_mapping,
                               backend_cls.list_event_source_mappings)

    def rekey(self, esm, arn):
        if esm.function_arn == arn:
            return
        from moto.sqs.models import sqs_backends

        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            if queue.lambda_event_source_mappings.get(esm.function_arn) is esm:
                del queue.lambda_event_source_mappings[esm.function_arn]
                queue.lambda_event_source_mappings[arn] = esm
        esm.function_arn = arn

    def create_event_source_mapping(self, spec):
        esm = create(self, spec)
        rekey(self, esm, _qualified_arn(self, spec["FunctionName"]))
        return esm

    def update_event_source_mapping(self, uuid, spec):
        esm = update(self, uuid, spec)
        if esm is not None and spec.get("FunctionName"):
            rekey(self, esm, _qualified_arn(self, spec["FunctionName"]))
            esm.function_name = spec["FunctionName"]
        return esm

    def list_event_source_mappings(self, event_source_arn, function_name):
        found = listing(self, event_source_arn, None)
        if function_name:
            wanted = _qualified_arn(self, function_name)
            found = [esm for esm in found if esm.function_arn == wanted]
        return found

    backend_cls.create_event_source_mapping = create_event_source_mapping
    backend_cls.update_event_source_mapping = update_event_source_mapping
    backend_cls.list_event_source_mappings = list_event_source_mappings


def kms_key_and_dead_letter_queue_configured() -> None:
    """UpdateFunctionConfiguration changes KMSKeyArn, and both CreateFunction and
    UpdateFunctionConfiguration keep DeadLetterConfig, reported by GetFunction(Configuration) as AWS
    reports them (an empty KMSKeyArn or TargetArn removes the setting).

    moto 5.2.5 takes KMSKeyArn only at CreateFunction and never stores DeadLetterConfig, so a
    function's key could not change and its dead-letter queue was never reported.
    """
    fn_cls = lambda_models.LambdaFunction
    init = fn_cls.__init__
    update = fn_cls.update_configuration
    configuration = fn_cls.get_configuration

    def __init__(self, account_id, spec, *args, **kwargs):
        init(self, account_id, spec, *args, **kwargs)
        self.kms_key_arn = spec.get("KMSKeyArn") or None
        self.emulator_dead_letter_arn = (spec.get("DeadLetterConfig") or {}).get("TargetArn") or None

    def update_configuration(self, config_updates):
        if "KMSKeyArn" in config_updates:
            self.kms_key_arn = config_updates["KMSKeyArn"] or None
        if "DeadLetterConfig" in config_updates:
            self.emulator_dead_letter_arn = (config_updates["DeadLetterConfig"] or {}).get("TargetArn") or None
        return update(self, config_updates)

    def get_configuration(self, on_create=False):
        config = configuration(self, on_create)
        if not self.kms_key_arn:
            config.pop("KMSKeyArn", None)
        target = getattr(self, "emulator_dead_letter_arn", None)
        if target:
            config["DeadLetterConfig"] = {"TargetArn": target}
        return config

    fn_cls.__init__ = __init__
    fn_cls.update_configuration = update_configuration
    fn_cls.get_configuration = get_configuration


def alias_conflict_is_a_resource_conflict() -> None:
    """CreateAlias of an alias that exists fails with ResourceConflictException (409), as on AWS.

    moto 5.2.5 answers ConflictException, a code Lambda's API does not have, so a client that
    adopts the alias its own resent CreateAlias made (its first answer lost) did not recognise it.
    """
    original = lambda_models.LambdaStorage.put_alias

    def put_alias(self, name, function_name, *args, **kwargs):
        try:
            return original(self, name, function_name, *args, **kwargs)
        except lambda_models.ConflictException as exc:
            raise ResourceConflictException(exc.message) from exc

    lambda_models.LambdaStorage.put_alias = put_alias


def one_event_source_mapping_per_queue_and_function() -> None:
    """CreateEventSourceMapping of a queue already mapped to the same function (or alias) fails
    with ResourceConflictException, as on AWS.

    moto 5.2.5 means to refuse it but looks the mapping up under a literal key that never matches,
    so a create resent after a lost answer made a second mapping: a duplicate AWS never allows.
    Runs after event_source_mappings_keep_the_alias (it compares the ARN that fix records).
    """
    backend_cls = lambda_models.LambdaBackend
    create = backend_cls.create_event_source_mapping

    def create_event_source_mapping(self, spec):
        arn = _qualified_arn(self, spec.get("FunctionName", ""))
        for esm in self._event_source_mappings.values():
            if esm.event_source_arn == spec.get("EventSourceArn") and esm.function_arn == arn:
                raise ResourceConflictException(
                    f"An event source mapping with SQS arn (\" {esm.event_source_arn} \") and function (\" "
                    f"{spec.get('FunctionName')} \") already exists. Please update or delete the existing mapping "
                    f"with UUID {esm.uuid}")
        return create(self, spec)

    backend_cls.create_event_source_mapping = create_event_source_mapping


FIXES = (invoke_runs_the_code_with_node, published_versions_keep_their_own_code, code_location_is_downloadable,
         event_source_mappings_keep_the_alias, kms_key_and_dead_letter_queue_configured,
         alias_conflict_is_a_resource_conflict, one_event_source_mapping_per_queue_and_function)
