"""A scaled AWS clock: slow resources pass through their real states for their typical time.

moto makes every resource ready at once; AWS does not, and code that never met `creating`,
`pending`, `InProgress` or `Pending` has never been tested against AWS. With a clock factor set
(`scripts/emulator.py start --clock 1/60`, env STREAM_SALES_CLOCK, or POST /_stream_sales/clock
{"factor": "1/60"}), each state below lasts its typical AWS duration (clock_times.toml, the one
table, with sources) times the factor. Without a factor nothing changes: everything is instant,
as moto has it.

Only state and timing: these fixes wrap moto's functions (other fixes patch other aspects of the
same services) and change which state a describe reports, and refuse what AWS refuses while a
resource is busy:
  - RDS clusters and instances: creating -> available (an instance never before its cluster),
    modifying after a modify, deleting before they are gone (a cluster may be deleted once all its
    instances are deleting, as on AWS); modify refused while creating or deleting;
  - NAT gateways: pending -> available, deleting -> deleted;
  - CloudFront distributions: InProgress -> Deployed after each create and update; delete refused
    while InProgress (DistributionNotDisabled);
  - ACM: PENDING_VALIDATION -> ISSUED only `acm_dns_validation` after the certificate would first
    have been issued (moto's wait, or another fix's DNS check, decides when that is);
  - Lambda: State Pending -> Active after create, LastUpdateStatus InProgress -> Successful after
    each update; Invoke / UpdateFunctionCode / UpdateFunctionConfiguration / PublishVersion
    refused meanwhile (ResourceConflictException 409);
  - Lambda@Edge: DeleteFunction refused while a distribution associates a version of the
    function, and for `lambda_edge_replicas` after the last association went (replicas).
"""
from __future__ import annotations

import functools
import threading
import time
import tomllib
from pathlib import Path

TABLE_FILE = Path(__file__).with_name("clock_times.toml")
TABLE: dict = tomllib.loads(TABLE_FILE.read_text())

_state = {"factor": None}
_lock = threading.Lock()


# --- the clock ------------------------------------------------------------------------------

def parse_factor(value) -> float | None:
    """'1/60', '0.0167', 0.5 -> a factor; None, '', 'off', '0' -> no clock."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("", "off", "none", "0", "instant"):
        return None
    if "/" in text:
        num, ignored, den = text.partition("/")
        factor = float(num) / float(den)
    else:
        factor = float(text)
    if factor <= 0:
        raise ValueError(f"a clock factor must be positive, got {value}")
    return factor


def set_factor(value) -> float | None:
    from moto import settings

    factor = parse_factor(value)
    with _lock:
        was = _state["factor"]
        _state["factor"] = factor
        # moto issues a certificate 60 s after the request whatever happens; under the clock the
        # issuing delay is ours (acm_dns_validation), counted from when it would have issued.
        if factor is not None and was is None:
            _state["acm_wait"] = settings.ACM_VALIDATION_WAIT
            settings.ACM_VALIDATION_WAIT = 0
        elif factor is None and was is not None and "acm_wait" in _state:
            settings.ACM_VALIDATION_WAIT = _state.pop("acm_wait")
    return factor


def factor() -> float | None:
    return _state["factor"]


def seconds(key: str) -> float:
    """The scaled duration of a table entry (0 without a clock)."""
    f = _state["factor"]
    return TABLE[key]["seconds"] * f if f else 0.0


def control(method: str, args: dict) -> dict:
    """GET/POST /_stream_sales/clock (served by scripts/fault_front.py)."""
    if method == "POST":
        set_factor(args.get("factor"))
    f = factor()
    return {"factor": f, "scaled_seconds": {k: round(v["seconds"] * f, 3) for k, v in TABLE.items()} if f else {}}


# --- timed states on model objects -------------------------------------------------------------

def begin(obj, attr: str, *phases: tuple[str, float]) -> None:
    """obj.<attr> reads as each phase's state for its (already scaled) seconds, then as before."""
    if factor() is None:
        return
    now = time.time()
    timeline, at = [], now
    for state, duration in phases:
        at += duration
        timeline.append((state, at))
    # A fresh dict: copies of the object (moto copies Lambda versions) keep the timeline they had.
    obj.__dict__["_clock"] = {**obj.__dict__.get("_clock", {}), attr: timeline}


def begin_until(obj, attr: str, state: str, deadline: float) -> None:
    if factor() is None:
        return
    obj.__dict__["_clock"] = {**obj.__dict__.get("_clock", {}), attr: [(state, deadline)]}


def current(obj, attr: str) -> str | None:
    """The timed state obj.<attr> is in now, or None once its timeline is over (or no clock)."""
    timeline = obj.__dict__.get("_clock", {}).get(attr)
    if not timeline or factor() is None:
        return None
    now = time.time()
    for state, deadline in timeline:
        if now < deadline:
            return state
    return None


def deadline(obj, attr: str) -> float:
    timeline = obj.__dict__.get("_clock", {}).get(attr)
    return timeline[-1][1] if timeline and factor() is not None else 0.0


def timed_attribute(cls, attr: str) -> None:
    """Make cls.<attr> report the timed state while there is one, else what it reported before."""
    import inspect

    original = inspect.getattr_static(cls, attr, None)
    if isinstance(original, property):
        fget, fset = original.fget, original.fset
    else:
        def fget(self):
            return self.__dict__.get(attr)

        def fset(self, value):
            self.__dict__[attr] = value

    def getter(self):
        # moto's own getter runs either way: its lazy transitions happen as reads come (moto's
        # cluster says "creating" to the first read, then "available"), and the timed state
        # replaces its answer while it lasts. Else the first read after the timed state, when
        # nobody read during it, said "creating" once more.
        underlying = fget(self)
        state = current(self, attr)
        return state if state is not None else underlying

    def setter(self, value):
        fset(self, value)

    setattr(cls, attr, property(getter, setter))


def wrap(cls, name: str):
    """Decorator: replace cls.<name> by the decorated function, which receives the original."""
    def decorate(make):
        original = getattr(cls, name)
        wrapped = make(original)
        functools.update_wrapper(wrapped, original)
        setattr(cls, name, wrapped)
        return wrapped
    return decorate


# --- RDS -------------------------------------------------------------------------------------

def _purge_rds(backend) -> None:
    """Drop what finished deleting."""
    now = time.time()
    for store in (backend.databases, backend.clusters):
        for key, obj in list(store.items()):
            gone = obj.__dict__.get("_clock_gone_at")
            if gone is not None and (now >= gone or factor() is None):
                store.pop(key, None)


def _ghost(store, key, obj, state_key: str) -> None:
    """Keep a deleted RDS resource listed as `deleting` for its typical time."""
    duration = seconds(state_key)
    if not duration:
        return
    obj.__dict__["_clock_gone_at"] = time.time() + duration
    begin(obj, "status", ("deleting", duration))
    store[key] = obj


def rds_states_follow_the_clock() -> None:
    """RDS: clusters and instances are `creating`, `modifying`, `deleting` for their typical time."""
    from moto.rds import exceptions as rds_exc
    from moto.rds.models import DBCluster, DBInstance, RDSBackend

    timed_attribute(DBCluster, "status")
    timed_attribute(DBInstance, "status")

    @wrap(RDSBackend, "create_db_cluster")
    def timed_create_db_cluster(original):
        def create_db_cluster(self, kwargs):
            _purge_rds(self)
            ghost = self.clusters.get(kwargs["db_cluster_identifier"])
            if ghost is not None and "_clock_gone_at" in ghost.__dict__:
                raise rds_exc.RDSClientError("DBClusterAlreadyExistsFault", "DB Cluster already exists")
            cluster = original(self, kwargs)
            begin(cluster, "status", (TABLE["rds_cluster_create"]["state"], seconds("rds_cluster_create")))
            return cluster
        return create_db_cluster

    @wrap(RDSBackend, "create_db_instance")
    def timed_create_db_instance(original):
        def create_db_instance(self, db_kwargs):
            _purge_rds(self)  # an instance being deleted still holds its name (DBInstanceAlreadyExists)
            db = original(self, db_kwargs)
            if factor() is not None:
                ready = time.time() + seconds("rds_instance_create")
                cluster = self.clusters.get(getattr(db, "db_cluster_identifier", None) or "")
                if cluster is not None:
                    ready = max(ready, deadline(cluster, "status"))
                begin_until(db, "status", TABLE["rds_instance_create"]["state"], ready)
            return db
        return create_db_instance

    def refuse_busy(obj, kind: str, ident: str, error) -> None:
        state = current(obj, "status")
        if state in ("creating", "deleting"):
            raise error(f"{kind} {ident} is not in available state (it is {state}).")

    @wrap(RDSBackend, "modify_db_cluster")
    def timed_modify_db_cluster(original):
        def modify_db_cluster(self, kwargs):
            _purge_rds(self)
            ident = kwargs["db_cluster_identifier"]
            if ident in self.clusters:
                refuse_busy(self.clusters[ident], "DB cluster", ident, rds_exc.InvalidDBClusterStateFault)
            answer = original(self, kwargs)
            cluster = self.clusters.get(kwargs.get("new_db_cluster_identifier") or ident)
            for obj in {id(o): o for o in (cluster, answer) if o is not None}.values():
                begin(obj, "status", (TABLE["rds_cluster_modify"]["state"], seconds("rds_cluster_modify")))
            return answer
        return modify_db_cluster

    @wrap(RDSBackend, "modify_db_instance")
    def timed_modify_db_instance(original):
        def modify_db_instance(self, db_instance_identifier, db_kwargs):
            _purge_rds(self)
            if db_instance_identifier in self.databases:
                refuse_busy(self.databases[db_instance_identifier], "DB instance", db_instance_identifier,
                            rds_exc.InvalidDBInstanceStateFault)
            db = original(self, db_instance_identifier, db_kwargs)
            begin(db, "status", (TABLE["rds_instance_modify"]["state"], seconds("rds_instance_modify")))
            return db
        return modify_db_instance

    @wrap(RDSBackend, "delete_db_instance")
    def timed_delete_db_instance(original):
        def delete_db_instance(self, db_instance_identifier, *args, **kwargs):
            _purge_rds(self)
            existing = self.databases.get(db_instance_identifier)
            if existing is not None and "_clock_gone_at" in existing.__dict__:
                raise rds_exc.InvalidDBInstanceStateFault(f"Instance {db_instance_identifier} is already being deleted.")
            db = original(self, db_instance_identifier, *args, **kwargs)
            _ghost(self.databases, db_instance_identifier, db, "rds_instance_delete")
            return db
        return delete_db_instance

    @wrap(RDSBackend, "delete_db_cluster")
    def timed_delete_db_cluster(original):
        def delete_db_cluster(self, cluster_identifier, *args, **kwargs):
            _purge_rds(self)
            cluster = self.clusters.get(cluster_identifier)
            if cluster is not None:
                if "_clock_gone_at" in cluster.__dict__:
                    raise rds_exc.InvalidDBClusterStateFault(f"Cluster {cluster_identifier} is already being deleted.")
                # AWS deletes a cluster whose instances are all being deleted: they go with it.
                for key, db in list(self.databases.items()):
                    if getattr(db, "db_cluster_identifier", None) == cluster_identifier and "_clock_gone_at" in db.__dict__:
                        self.databases.pop(key, None)
            gone = original(self, cluster_identifier, *args, **kwargs)
            _ghost(self.clusters, cluster_identifier, gone, "rds_cluster_delete")
            return gone
        return delete_db_cluster

    for name in ("describe_db_clusters", "describe_db_instances"):
        @wrap(RDSBackend, name)
        def wrapped(original):
            def describe(self, *args, **kwargs):
                _purge_rds(self)
                return original(self, *args, **kwargs)
            return describe


# --- EC2 NAT gateways ------------------------------------------------------------------------

def nat_gateway_states_follow_the_clock() -> None:
    """EC2: a NAT gateway is `pending` before `available`, and `deleting` before `deleted`."""
    from moto.ec2.models.nat_gateways import NatGateway, NatGatewayBackend

    timed_attribute(NatGateway, "state")

    @wrap(NatGatewayBackend, "create_nat_gateway")
    def timed_create_nat_gateway(original):
        def create_nat_gateway(self, *args, **kwargs):
            nat = original(self, *args, **kwargs)
            # A resent create that another fix answered with the existing gateway keeps its timeline.
            if not nat.__dict__.get("_clock_created"):
                nat.__dict__["_clock_created"] = True
                begin(nat, "state", (TABLE["nat_gateway_create"]["state"], seconds("nat_gateway_create")))
            return nat
        return create_nat_gateway

    @wrap(NatGatewayBackend, "delete_nat_gateway")
    def timed_delete_nat_gateway(original):
        def delete_nat_gateway(self, nat_gateway_id):
            nat = self.nat_gateways.get(nat_gateway_id)
            busy = nat is not None and current(nat, "state") == "deleting"
            nat = original(self, nat_gateway_id)
            if nat is not None and not busy:
                begin(nat, "state", (TABLE["nat_gateway_delete"]["state"], seconds("nat_gateway_delete")))
            return nat
        return delete_nat_gateway


# --- CloudFront and Lambda@Edge ------------------------------------------------------------------

def _edge(backend) -> dict:
    return backend.__dict__.setdefault("_clock_edge", {"assoc": {}, "released": {}})


def _lambda_arns(node) -> set:
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "LambdaFunctionARN" and isinstance(value, str):
                found.add(value)
            else:
                found |= _lambda_arns(value)
    elif isinstance(node, list):
        for item in node:
            found |= _lambda_arns(item)
    return found


def _associate(backend, dist_id: str, arns: set) -> None:
    edge = _edge(backend)
    before = edge["assoc"].get(dist_id, set())
    if arns:
        edge["assoc"][dist_id] = set(arns)
    else:
        edge["assoc"].pop(dist_id, None)
    still = set().union(*edge["assoc"].values()) if edge["assoc"] else set()
    now = time.time()
    for arn in before - still:
        edge["released"][arn] = now
    for arn in arns:
        edge["released"].pop(arn, None)


def cloudfront_deploys_follow_the_clock() -> None:
    """CloudFront: a distribution is `InProgress` after each create and update, then `Deployed`."""
    from moto.cloudfront.exceptions import CloudFrontException
    from moto.cloudfront.models import CloudFrontBackend, Distribution

    timed_attribute(Distribution, "status")

    class DistributionNotDisabled(CloudFrontException):
        code = "DistributionNotDisabled"

    def deploying(dist) -> None:
        begin(dist, "status", (TABLE["cloudfront_deploy"]["state"], seconds("cloudfront_deploy")))

    @wrap(CloudFrontBackend, "create_distribution_with_tags")
    def timed_create_distribution_with_tags(original):
        def create_distribution_with_tags(self, distribution_config, tags):
            arns = _lambda_arns(distribution_config)  # before moto consumes the config
            answer = original(self, distribution_config, tags)
            deploying(answer[0])
            _associate(self, answer[0].distribution_id, arns)
            return answer
        return create_distribution_with_tags

    @wrap(CloudFrontBackend, "update_distribution")
    def timed_update_distribution(original):
        def update_distribution(self, dist_config, _id, if_match):
            arns = _lambda_arns(dist_config)
            answer = original(self, dist_config, _id, if_match)
            deploying(answer[0])
            _associate(self, _id, arns)
            return answer
        return update_distribution

    @wrap(CloudFrontBackend, "delete_distribution")
    def timed_delete_distribution(original):
        def delete_distribution(self, distribution_id, if_match):
            dist = self.distributions.get(distribution_id)
            if dist is not None and current(dist, "status") == TABLE["cloudfront_deploy"]["state"]:
                raise DistributionNotDisabled(
                    "DistributionNotDisabled",
                    "The distribution you are trying to delete has not been disabled.")
            answer = original(self, distribution_id, if_match)
            _associate(self, distribution_id, set())
            return answer
        return delete_distribution


# --- ACM ---------------------------------------------------------------------------------------

def acm_issues_after_the_validation_delay() -> None:
    """ACM: a certificate that would be issued now stays PENDING_VALIDATION for `acm_dns_validation`."""
    from moto.acm.models import CertBundle

    @wrap(CertBundle, "check")
    def timed_check(original):
        def check(self):
            before = self.status
            original(self)
            if factor() is None or before != "PENDING_VALIDATION" or self.status != "ISSUED":
                return
            ready = self.__dict__.setdefault("_clock_validated_at", time.time())
            if time.time() < ready + seconds("acm_dns_validation"):
                self.status = "PENDING_VALIDATION"
        return check


# --- Lambda --------------------------------------------------------------------------------------

def lambda_states_follow_the_clock() -> None:
    """Lambda: Pending -> Active after create, InProgress -> Successful after updates; busy calls refused."""
    from moto.awslambda.exceptions import InvalidParameterValueException, LambdaClientError
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.cloudfront.models import cloudfront_backends
    from moto.utilities.utils import get_partition

    timed_attribute(LambdaFunction, "state")

    class ResourceConflict(LambdaClientError):
        code = 409

        def __init__(self, message: str):
            super().__init__("ResourceConflictException", message)

    @wrap(LambdaFunction, "get_configuration")
    def timed_get_configuration(original):
        def get_configuration(self, *args, **kwargs):
            config = original(self, *args, **kwargs)
            if current(self, "state") == "Pending":
                config.update(State="Pending", StateReason="The function is being created.",
                              StateReasonCode="Creating", LastUpdateStatus="InProgress",
                              LastUpdateStatusReason="The function is being created.",
                              LastUpdateStatusReasonCode="Creating")
            elif current(self, "last_update"):
                config.update(LastUpdateStatus="InProgress", LastUpdateStatusReason="The function is being updated.",
                              LastUpdateStatusReasonCode="Updating")
            return config
        return get_configuration

    def latest(backend, name_or_arn):
        try:
            return backend.get_function(name_or_arn.split(":function:")[-1].split(":")[0]
                                        if ":function:" in name_or_arn else name_or_arn.split(":")[0])
        except Exception:  # noqa: BLE001 - moto answers "not found" itself
            return None

    def refuse_busy(fn) -> None:
        if fn is None:
            return
        if current(fn, "state") == "Pending":
            raise ResourceConflict("The operation cannot be performed at this time. "
                                   "The function is currently in the following state: Pending")
        if current(fn, "last_update"):
            raise ResourceConflict("The operation cannot be performed at this time. "
                                   f"An update is in progress for resource: {fn.function_arn}")

    def in_vpc(config) -> bool:
        return bool(((config or {}).get("VpcConfig") or {}).get("SubnetIds"))

    @wrap(LambdaBackend, "create_function")
    def timed_create_function(original):
        def create_function(self, spec):
            answer = original(self, spec)
            fn = latest(self, spec["FunctionName"])
            key = "lambda_create_vpc" if in_vpc(spec) else "lambda_create"
            for obj in {id(o): o for o in (fn, answer) if o is not None}.values():
                begin(obj, "state", (TABLE[key]["state"], seconds(key)))
            return answer
        return create_function

    def updating(name: str, vpc_key):
        @wrap(LambdaBackend, name)
        def wrapped(original):
            def update(self, function_name, qualifier, body):
                fn = latest(self, function_name)
                refuse_busy(fn)
                vpc_changed = "VpcConfig" in (body or {}) and fn is not None and (
                    sorted((body.get("VpcConfig") or {}).get("SubnetIds") or [])
                    != sorted((fn.vpc_config or {}).get("SubnetIds") or []))
                answer = original(self, function_name, qualifier, body)
                key = vpc_key if vpc_changed else "lambda_update"
                if fn is not None:
                    begin(fn, "last_update", ("InProgress", seconds(key)))
                return answer
            return update

    updating("update_function_code", "lambda_update")
    updating("update_function_configuration", "lambda_update_vpc")

    @wrap(LambdaBackend, "publish_version")
    def timed_publish_version(original):
        def publish_version(self, function_name, description=""):
            refuse_busy(latest(self, function_name))
            return original(self, function_name, description)
        return publish_version

    @wrap(LambdaBackend, "invoke")
    def timed_invoke(original):
        def invoke(self, function_name, qualifier, *args, **kwargs):
            fn = latest(self, function_name)
            if fn is not None and current(fn, "state") == "Pending":
                refuse_busy(fn)
            return original(self, function_name, qualifier, *args, **kwargs)
        return invoke

    @wrap(LambdaBackend, "delete_function")
    def timed_delete_function(original):
        def delete_function(self, function_name, qualifier=None):
            if factor() is not None:
                name, version = function_name, qualifier
                if ":function:" in function_name:
                    parts = function_name.split(":function:")[-1].split(":")
                    name, version = parts[0], (parts[1] if len(parts) > 1 else qualifier)
                elif ":" in function_name:
                    name, version = function_name.split(":", 1)
                edge = _edge(cloudfront_backends[self.account_id][get_partition(self.region_name)])
                held = set().union(*edge["assoc"].values()) if edge["assoc"] else set()
                now, keep = time.time(), seconds("lambda_edge_replicas")
                held |= {arn for arn, at in edge["released"].items() if now < at + keep}
                for arn in sorted(held):
                    fn_part = arn.split(":function:")[-1].split(":")
                    if fn_part[0] == name and (version in (None, "$LATEST") or fn_part[1:] == [version]):
                        raise InvalidParameterValueException(
                            f"Lambda was unable to delete {arn} because it is a replicated function. "
                            "Please see our documentation for Deleting Lambda@Edge Functions and Replicas.")
            return original(self, function_name, qualifier)
        return delete_function


def clock_from_environment() -> None:
    """Start with the clock of STREAM_SALES_CLOCK (scripts/emulator.py --clock), if any."""
    import os

    set_factor(os.environ.get("STREAM_SALES_CLOCK"))


FIXES = (rds_states_follow_the_clock, nat_gateway_states_follow_the_clock, cloudfront_deploys_follow_the_clock,
         acm_issues_after_the_validation_delay, lambda_states_follow_the_clock, clock_from_environment)
