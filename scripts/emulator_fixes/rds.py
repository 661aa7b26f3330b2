"""RDS: Aurora PostgreSQL clusters run on real PostgreSQL; what moto misreports, reported as AWS does.

Each Aurora PostgreSQL cluster gets a PostgreSQL server of its own (scripts/postgres_server.py),
started by moto's server when the cluster is created and stopped when it is deleted. Its data
folder is `$STREAM_SALES_STATE_DIR/rds/clusters/<DbClusterResourceId>`, copied from a template
made once per major version by initdb.

Why a server per cluster rather than a database per cluster on the shared server: an Aurora
cluster is an engine of its own - its roles, its databases, its port. Every environment asks
for the same master user (`dbadmin`) and the same database (`streams`), so on one shared server
two clusters would share one role and one database: the password set by the last
CreateDBCluster/ModifyDBCluster would lock the other environment out, and one environment's
migrations would land in the other's database. Renaming roles or databases per cluster would
show through in `current_user`, `pg_roles` and `current_database()`, which the product reads.
Separate servers keep clusters isolated exactly as on AWS. The cost, measured here: about 0.2 s
and a few MB of memory per cluster (a template copy and a server start; initdb, about 0.7 s,
runs once per major version), and one port per cluster.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import string
import sys
import threading
from pathlib import Path

from moto.core.responses import ActionResult
from moto.rds import models as rds_models
from moto.rds import responses as rds_responses
from moto.rds.exceptions import DBClusterNotFoundError
from moto.rds.exceptions import RDSClientError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import postgres_server  # noqa: E402  scripts/postgres_server.py

STATE = Path(os.environ.get("STREAM_SALES_STATE_DIR") or Path(__file__).resolve().parents[2] / ".state").resolve()
RDS_DIR = STATE / "rds"
CLUSTERS = RDS_DIR / "clusters"
SNAPSHOTS = RDS_DIR / "snapshots"
TEMPLATES = RDS_DIR / "templates"
ENDPOINT_HOST = "127.0.0.1"
# Roles an Aurora master user is given through rds_superuser (the subset PostgreSQL has).
RDS_SUPERUSER_GRANTS = ("pg_monitor", "pg_signal_backend", "pg_read_all_settings", "pg_read_all_stats",
                        "pg_stat_scan_tables")


class Engine:
    """The PostgreSQL server playing one Aurora cluster's engine."""

    def __init__(self, resource_id: str, major: str):
        self.resource_id = resource_id
        self.bin = postgres_server.bindir(major)
        self.data = CLUSTERS / resource_id
        self.log = CLUSTERS / f"{resource_id}.log"
        self.port = 0
        self.proc = None

    def start(self) -> None:
        self.port = postgres_server.free_port()
        self.proc = postgres_server.start(
            self.data, self.port, self.bin, self.log,
            (),  # the template's postgresql.conf holds the cluster servers' settings
            new_session=False,  # in moto's process group: stopping the emulator stops it too
        )
        postgres_server.wait_ready(self.bin, self.port, self.proc, self.log)

    def admin(self, dbname: str = "postgres"):
        """A superuser session (the account's own access to the engine, Aurora's rdsadmin)."""
        import psycopg

        return psycopg.connect(host=ENDPOINT_HOST, port=self.port, user=postgres_server.ADMIN, dbname=dbname,
                               sslmode="disable", autocommit=True, connect_timeout=10, application_name="emulator rds")

    def stop(self) -> None:
        postgres_server.stop(self.data)
        if self.proc is not None:
            self.proc.wait(timeout=15)

    def remove(self, keep_as: Path | None = None) -> None:
        self.stop()
        if keep_as is not None:
            keep_as.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(keep_as, ignore_errors=True)
            shutil.move(str(self.data), str(keep_as))
        else:
            shutil.rmtree(self.data, ignore_errors=True)
        self.log.unlink(missing_ok=True)


ENGINES: dict[str, Engine] = {}
_template_lock = threading.Lock()
_restoring = threading.local()


def _major(engine_version: str | None) -> str:
    return (engine_version or "16").split(".", 1)[0]


def _template(major: str) -> tuple[Path, Path]:
    """A stopped, initdb'd data folder for this major version (made once), and its binaries."""
    bin_dir = postgres_server.bindir(major)
    folder = TEMPLATES / postgres_server.major_of(bin_dir)
    with _template_lock:
        if not (folder / "PG_VERSION").exists():
            postgres_server.open_for_traversal(STATE)
            shutil.rmtree(folder, ignore_errors=True)
            postgres_server.initdb(folder, bin_dir, STATE)
            with open(folder / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write("shared_buffers = 16MB\nmax_connections = 100\nTimeZone = 'UTC'\nlog_timezone = 'UTC'\n")
    return folder, bin_dir


def _snapshot_folder(backend, snapshot_id: str) -> Path:
    return SNAPSHOTS / backend.account_id / backend.region_name / snapshot_id


def _is_postgres(cluster) -> bool:
    return cluster.engine == "aurora-postgresql"


def _managed_password(cluster) -> str | None:
    """The password of the secret RDS manages for the cluster (ManageMasterUserPassword)."""
    secret = getattr(getattr(cluster, "master_user_secret", None), "secret", None)
    if secret is None:
        return None
    version = secret.versions.get(secret.default_version_id) or {}
    return json.loads(version.get("secret_string") or "{}").get("password")


def _master_password(cluster) -> str | None:
    return _managed_password(cluster) or cluster.__dict__.get("_master_user_password")


def _set_password(conn, role: str, password: str) -> None:
    """ALTER ROLE with a SCRAM verifier computed here: the server (and its log) never sees the password."""
    from psycopg import sql

    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
    conn.execute(sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier)))


def _force_ssl(backend, cluster) -> bool:
    group = backend.db_cluster_parameter_groups.get(cluster.parameter_group) if cluster.parameter_group else None
    value = ((group.parameters.get("rds.force_ssl") or {}) if group is not None else {}).get("ParameterValue")
    return str(value) == "1"


def _apply_parameters(backend, cluster) -> None:
    """rds.force_ssl of the cluster's parameter group: non-TLS logins refused as Aurora refuses them."""
    engine = ENGINES.get(cluster.db_cluster_resource_id)
    if engine is None:
        return
    hba = postgres_server.hba(force_ssl=_force_ssl(backend, cluster))
    path = engine.data / "pg_hba.conf"
    if path.read_text() != hba:
        path.write_text(hba)
        with engine.admin() as conn:
            conn.execute("SELECT pg_reload_conf()")


def _create_engine(backend, cluster) -> None:
    """The cluster's server, with its master user (password as asked) and database."""
    major = _major(cluster.engine_version)
    engine = Engine(cluster.db_cluster_resource_id, major)
    snapshot = getattr(_restoring, "snapshot", None)
    source = _snapshot_folder(backend, snapshot) if snapshot else None
    restored = source is not None and (source / "PG_VERSION").exists()
    if restored:
        postgres_server.copy_data(source, engine.data)
    else:
        template, engine.bin = _template(major)
        postgres_server.copy_data(template, engine.data)
    engine.start()
    ENGINES[engine.resource_id] = engine
    from psycopg import sql

    master, password = cluster.master_username, _master_password(cluster)
    with engine.admin() as conn:
        if not restored:
            conn.execute("CREATE ROLE rds_superuser NOLOGIN")
            conn.execute(sql.SQL("GRANT {} TO rds_superuser").format(
                sql.SQL(", ").join(sql.Identifier(r) for r in RDS_SUPERUSER_GRANTS)))
            # Aurora's master user: not a superuser; may create databases and roles.
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB CREATEROLE IN ROLE rds_superuser").format(
                sql.Identifier(master)))
            if cluster.database_name:
                # FILE_COPY (PostgreSQL 15+): a plain copy of template1, quicker than WAL-logging it.
                strategy = " STRATEGY = FILE_COPY" if conn.info.server_version >= 150000 else ""
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}" + strategy).format(
                    sql.Identifier(cluster.database_name), sql.Identifier(master)))
        if password:
            _set_password(conn, master, password)
    cluster.port = engine.port
    _apply_parameters(backend, cluster)


def clusters_run_on_postgresql() -> None:
    """CreateDBCluster makes the engine: moto 5.2.5 keeps an Aurora cluster as metadata only.

    AWS starts an engine: the master user logs in with the MasterUserPassword sent (or the
    password of the secret RDS manages with ManageMasterUserPassword), the DatabaseName exists,
    owned by the master user, and Endpoint/ReaderEndpoint/Port name where it listens. Here each
    aurora-postgresql cluster gets its own PostgreSQL server (see the module's docstring for why
    one per cluster), of the cluster's major version when its binaries are present
    (STREAM_SALES_PG<major>_BIN or /usr/lib/postgresql/<major>/bin; else the emulator's).
    Endpoint, ReaderEndpoint and the members' Endpoint.Address are 127.0.0.1, Port its port.
    The master user is not a superuser (CREATEDB, CREATEROLE, member of rds_superuser), as on
    Aurora; the server's `postgres` role stands in for rdsadmin (trusted on loopback).
    rds.force_ssl=1 in the cluster parameter group refuses non-TLS logins, as Aurora does.
    ModifyDBCluster MasterUserPassword (and a rotated managed secret) sets the password;
    DeleteDBCluster stops the server and drops its data, or keeps it as the final snapshot's
    (FinalDBSnapshotIdentifier), which RestoreDBClusterFromSnapshot restores with its data.
    A reset of moto stops the servers of the clusters it forgets. Not modelled: stopping and
    starting clusters, failover between instances (all members share the one server).
    """
    backend_cls = rds_models.RDSBackend
    create, modify, delete, reset = (backend_cls.create_db_cluster, backend_cls.modify_db_cluster,
                                     backend_cls.delete_db_cluster, backend_cls.reset)
    restore = backend_cls.restore_db_cluster_from_snapshot
    modify_group = backend_cls.modify_db_cluster_parameter_group

    def create_db_cluster(self, kwargs):
        cluster = create(self, kwargs)
        if _is_postgres(cluster):
            try:
                _create_engine(self, cluster)
            except Exception as exc:  # noqa: BLE001 - a cluster without its engine must not stay
                self.clusters.pop(cluster.db_cluster_identifier, None)
                engine = ENGINES.pop(cluster.db_cluster_resource_id, None)
                if engine is not None:
                    engine.remove()
                raise RDSClientError("InternalFailure", f"emulator: the cluster's PostgreSQL server failed: {exc}") from exc
        return cluster

    def modify_db_cluster(self, kwargs):
        cluster = self.clusters.get(kwargs.get("db_cluster_identifier") or "")
        engine = ENGINES.get(cluster.db_cluster_resource_id) if cluster is not None else None
        result = modify(self, kwargs)  # (moto renames in place, and rewrites kwargs)
        if engine is None:
            return result
        cluster.port = result.port = engine.port  # the server's, whatever Port was asked
        password = None
        if kwargs.get("master_user_password"):
            password = kwargs["master_user_password"]
        elif kwargs.get("manage_master_user_password") or kwargs.get("rotate_master_user_password"):
            password = _managed_password(cluster)
        if password:
            with engine.admin() as conn:
                _set_password(conn, cluster.master_username, password)
        _apply_parameters(self, cluster)
        return result

    def delete_db_cluster(self, cluster_identifier, snapshot_name=None):
        cluster = delete(self, cluster_identifier, snapshot_name)
        engine = ENGINES.pop(cluster.db_cluster_resource_id, None)
        if engine is not None:
            engine.remove(keep_as=_snapshot_folder(self, snapshot_name) if snapshot_name else None)
        return cluster

    def restore_db_cluster_from_snapshot(self, from_snapshot_id, overrides):
        _restoring.snapshot = from_snapshot_id
        try:
            return restore(self, from_snapshot_id, overrides)
        finally:
            _restoring.snapshot = None

    def modify_db_cluster_parameter_group(self, *args, **kwargs):
        group = modify_group(self, *args, **kwargs)
        for cluster in list(self.clusters.values()):
            if cluster.parameter_group == group.name:
                _apply_parameters(self, cluster)
        return group

    def reset_backend(self):
        for cluster in list(getattr(self, "clusters", {}).values()):
            engine = ENGINES.pop(cluster.db_cluster_resource_id, None)
            if engine is not None:
                engine.remove()
        if getattr(self, "account_id", None):
            shutil.rmtree(SNAPSHOTS / self.account_id / self.region_name, ignore_errors=True)
        reset(self)

    backend_cls.create_db_cluster = create_db_cluster
    backend_cls.modify_db_cluster = modify_db_cluster
    backend_cls.delete_db_cluster = delete_db_cluster
    backend_cls.restore_db_cluster_from_snapshot = restore_db_cluster_from_snapshot
    backend_cls.modify_db_cluster_parameter_group = modify_db_cluster_parameter_group
    backend_cls.reset = reset_backend

    cluster_cls = rds_models.DBCluster
    endpoint, reader_endpoint = cluster_cls.endpoint, cluster_cls.reader_endpoint
    cluster_cls.endpoint = property(
        lambda self: ENDPOINT_HOST if self.db_cluster_resource_id in ENGINES else endpoint.fget(self))
    cluster_cls.reader_endpoint = property(
        lambda self: ENDPOINT_HOST if self.db_cluster_resource_id in ENGINES else reader_endpoint.fget(self))

    member_cls = rds_models.DBInstanceClustered

    def member_endpoint(self):
        engine = ENGINES.get(self.cluster.db_cluster_resource_id)
        if engine is None:
            return {"Address": self.address, "Port": self.port}
        return {"Address": ENDPOINT_HOST, "Port": engine.port}

    member_cls.endpoint = property(member_endpoint)

    # RDS's own secret for ManageMasterUserPassword names the master user (moto: "admin") and
    # holds a generated password (moto: a constant).
    def secret_string(self):
        alphabet = string.ascii_letters + string.digits
        return json.dumps({"username": getattr(self.resource, "master_username", None) or "admin",
                           "password": "".join(secrets.choice(alphabet) for ignored in range(32))})

    rds_models.MasterUserSecret._generate_secret_string = secret_string


def data_api_switch_reported() -> None:
    """HttpEndpointEnabled reported for Serverless v2 / provisioned clusters, and the
    EnableHttpEndpoint / DisableHttpEndpoint operations.

    moto 5.2.5 keeps the Data API switch only for Serverless v1 (engine mode serverless) of a
    few old versions and reports false for every other cluster; it has no EnableHttpEndpoint
    or DisableHttpEndpoint. AWS: CreateDBCluster EnableHttpEndpoint turns the Data API on for
    Aurora PostgreSQL/MySQL Serverless v2 and provisioned clusters, and the two operations
    switch it later (answering ResourceArn and HttpEndpointEnabled).
    """
    cluster_cls = rds_models.DBCluster
    setter = cluster_cls.enable_http_endpoint.fset

    def set_http_endpoint(self, value):
        if getattr(self, "engine_mode", "provisioned") != "serverless" and \
                self.engine in ("aurora-postgresql", "aurora-mysql"):
            self._enable_http_endpoint = bool(value)
        else:
            setter(self, value)

    cluster_cls.enable_http_endpoint = cluster_cls.enable_http_endpoint.setter(set_http_endpoint)

    def switch(response, enabled: bool) -> ActionResult:
        arn = response.params.get("ResourceArn") or ""
        cluster = next((c for c in response.backend.clusters.values() if c.db_cluster_arn == arn), None)
        if cluster is None:
            raise DBClusterNotFoundError(arn.rsplit(":", 1)[-1])
        cluster._enable_http_endpoint = enabled
        return ActionResult({"ResourceArn": arn, "HttpEndpointEnabled": enabled})

    rds_responses.RDSResponse.enable_http_endpoint = lambda self: switch(self, True)
    rds_responses.RDSResponse.disable_http_endpoint = lambda self: switch(self, False)


def performance_insights_reported() -> None:
    """PerformanceInsightsEnabled (with its retention period and KMS key) reported on instances.

    moto 5.2.5 accepts EnablePerformanceInsights on CreateDBInstance/ModifyDBInstance but never
    stores or reports it. AWS reports PerformanceInsightsEnabled, and when on,
    PerformanceInsightsRetentionPeriod (7 days unless asked) and PerformanceInsightsKMSKeyId
    (the account's aws/rds key unless asked).
    """
    instance_cls = rds_models.DBInstance
    init = instance_cls.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.enable_performance_insights = bool(kwargs.get("enable_performance_insights"))
        self.performance_insights_retention_period = kwargs.get("performance_insights_retention_period")
        self.performance_insights_kms_key_id = kwargs.get("performance_insights_kms_key_id")

    def enabled(self):
        return bool(self.__dict__.get("enable_performance_insights"))

    def retention(self):
        if not enabled(self):
            return None
        return self.__dict__.get("performance_insights_retention_period") or 7

    def kms_key(self):
        if not enabled(self):
            return None
        return self.__dict__.get("performance_insights_kms_key_id") or \
            f"arn:aws:kms:{self.region}:{self.account_id}:alias/aws/rds"

    def keep(name):
        return lambda self, value: self.__dict__.__setitem__(name, value)

    instance_cls.__init__ = __init__
    instance_cls.performance_insights_enabled = property(enabled)
    instance_cls.performance_insights_retention_period = property(
        retention, keep("performance_insights_retention_period"))
    instance_cls.performance_insights_kms_key_id = property(kms_key, keep("performance_insights_kms_key_id"))


def automated_cluster_snapshots_deleted_with_the_cluster() -> None:
    """A deleted cluster's automated snapshots go with it.

    moto 5.2.5 keeps them (and names them by the minute, so a cluster recreated within the same
    minute fails with DBClusterSnapshotAlreadyExists). AWS deletes a cluster's automated
    snapshots with the cluster; manual and final snapshots stay.
    """
    backend_cls = rds_models.RDSBackend
    delete = backend_cls.delete_db_cluster

    def delete_db_cluster(self, cluster_identifier, snapshot_name=None):
        cluster = delete(self, cluster_identifier, snapshot_name)
        for snapshot_id, snapshot in list(self.cluster_snapshots.items()):
            if snapshot.snapshot_type == "automated" and \
                    snapshot.cluster.db_cluster_resource_id == cluster.db_cluster_resource_id:
                del self.cluster_snapshots[snapshot_id]
        return cluster

    backend_cls.delete_db_cluster = delete_db_cluster


def cluster_members_report_their_subnet_group() -> None:
    """An Aurora cluster's instances report DBSubnetGroup (the cluster's).

    moto 5.2.5 reports DBSubnetGroup on an instance only when CreateDBInstance named one, which
    an Aurora member does not (it inherits the cluster's): amazon.aws.rds_instance then fails
    on its second run with KeyError 'DBSubnetGroup'. AWS reports the cluster's subnet group on
    every member.
    """
    member_cls = rds_models.DBInstanceClustered

    def get(self):
        own = self.__dict__.get("_own_db_subnet_group")
        if own is not None:
            return own
        name = getattr(getattr(self, "cluster", None), "db_subnet_group_name", None)
        return self.backend.subnet_groups.get(name) if name else None

    def put(self, value):
        self.__dict__["_own_db_subnet_group"] = value

    member_cls.db_subnet_group = property(get, put)


# A few of the parameters AWS lists for an aurora-postgresql family (DescribeDBClusterParameters
# lists about 400): name -> (engine default, ApplyType, DataType, AllowedValues, Description).
AURORA_POSTGRESQL_PARAMETERS = {
    "rds.force_ssl": ("0", "dynamic", "boolean", "0,1", "Force SSL connections."),
    "log_min_duration_statement": (None, "dynamic", "integer", "-1-2147483647",
                                   "(ms) Sets the minimum execution time above which statements will be logged."),
    "log_statement": (None, "dynamic", "string", "none,ddl,mod,all", "Sets the type of statements logged."),
    "idle_in_transaction_session_timeout": (None, "dynamic", "integer", "0-2147483647",
                                            "(ms) Sets the maximum allowed idle time between queries, when in a transaction."),
    "statement_timeout": (None, "dynamic", "integer", "0-2147483647", "(ms) Sets the maximum allowed duration of any statement."),
    "timezone": ("UTC", "dynamic", "string", None, "Sets the time zone for displaying and interpreting time stamps."),
    "ssl_min_protocol_version": ("TLSv1.2", "dynamic", "string", "TLSv1,TLSv1.1,TLSv1.2,TLSv1.3",
                                 "Sets the minimum SSL/TLS protocol version to use."),
    "password_encryption": ("scram-sha-256", "dynamic", "string", "md5,scram-sha-256",
                            "Chooses the algorithm for encrypting passwords."),
    "shared_preload_libraries": ("pg_stat_statements", "static", "list",
                                 "auto_explain,orafce,pgaudit,pglogical,pg_bigm,pg_cron,pg_hint_plan,pg_prewarm,pg_similarity,"
                                 "pg_stat_statements,pg_tle,pg_partman_bgw,plprofiler,plrust,pg_transport,pg_ad_mapping",
                                 "Lists shared libraries to preload into server."),
    "max_connections": (None, "static", "integer", "6-262143", "Sets the maximum number of concurrent connections."),
}


def cluster_parameters_listed_by_family() -> None:
    """DescribeDBClusterParameters lists the family's parameters, as AWS does.

    moto 5.2.5 lists only the parameters a ModifyDBClusterParameterGroup set, so a fresh group
    has none and amazon.aws.rds_cluster_param_group refuses to set one ("Could not find parameter
    with name"). AWS lists every parameter of the family with its engine default, ApplyType,
    DataType, AllowedValues and IsModifiable (Source engine-default, or user once set), and
    reports ApplyMethod pending-reboot whatever ModifyDBClusterParameterGroup was sent (a
    dynamic parameter is applied at once all the same). Here: a subset of the aurora-postgresql
    families' parameters (AURORA_POSTGRESQL_PARAMETERS), rds.force_ssl among them.
    """
    backend_cls = rds_models.RDSBackend
    describe = backend_cls.describe_db_cluster_parameters

    def describe_db_cluster_parameters(self, db_cluster_parameter_group_name):
        listed = describe(self, db_cluster_parameter_group_name)
        group = self.db_cluster_parameter_groups[db_cluster_parameter_group_name]
        if not group.db_parameter_group_family.startswith("aurora-postgresql"):
            return listed
        out = []
        for name, (value, apply_type, data_type, allowed, text) in AURORA_POSTGRESQL_PARAMETERS.items():
            entry = {"ParameterName": name, "Description": text, "Source": "engine-default", "ApplyType": apply_type,
                     "DataType": data_type, "IsModifiable": True, "ApplyMethod": "pending-reboot",
                     "SupportedEngineModes": ["provisioned"]}
            if value is not None:
                entry["ParameterValue"] = value
            if allowed is not None:
                entry["AllowedValues"] = allowed
            set_by_user = group.parameters.get(name) if name in group.parameters else None
            if set_by_user:
                entry.update({k: v for k, v in set_by_user.items() if k != "ApplyMethod"}, Source="user")
            out.append(entry)
        known = set(AURORA_POSTGRESQL_PARAMETERS)
        out += [dict(p, ApplyMethod="pending-reboot") for p in listed if p["ParameterName"] not in known]
        return out

    backend_cls.describe_db_cluster_parameters = describe_db_cluster_parameters


def iam_database_authentication_follows_the_cluster() -> None:
    """ModifyDBCluster EnableIAMDatabaseAuthentication switches the cluster's IAM database
    authentication, and an Aurora cluster's instances report the cluster's setting.

    moto 5.2.5 keeps the switch only from CreateDBCluster (ModifyDBCluster stores it where nothing
    reads it), and reports IAMDatabaseAuthenticationEnabled false on every member, which cannot set
    it itself. AWS manages it on the cluster and reports it on each member.
    """
    cluster_cls = rds_models.DBCluster

    def put(self, value):
        self.iam_auth = bool(value)

    cluster_cls.enable_iam_database_authentication = property(lambda self: bool(self.iam_auth), put)

    member_cls = rds_models.DBInstanceClustered
    member_cls.iam_database_authentication_enabled = property(
        lambda self: bool(getattr(getattr(self, "cluster", None), "iam_auth", False)))


def enhanced_monitoring_reported() -> None:
    """An instance with enhanced monitoring (MonitoringInterval > 0) reports
    EnhancedMonitoringResourceArn, the CloudWatch Logs stream its metrics go to, as AWS does.

    moto 5.2.5 stores MonitoringInterval and MonitoringRoleArn but never reports the stream.
    """
    def arn(self):
        if not getattr(self, "monitoring_interval", 0):
            return None
        return (f"arn:aws:logs:{self.region}:{self.account_id}:log-group:RDSOSMetrics:"
                f"log-stream:{self.dbi_resource_id}")

    rds_models.DBInstance.enhanced_monitoring_resource_arn = property(arn)


# The certificate authorities RDS offers (DescribeCertificates, 2026); new instances get the first.
RDS_CERTIFICATES = [
    ("rds-ca-rsa2048-g1", "2021-05-25T23:34:57Z", "2061-05-25T23:34:57Z"),
    ("rds-ca-rsa4096-g1", "2021-05-25T23:38:11Z", "2121-05-25T23:38:11Z"),
    ("rds-ca-ecc384-g1", "2021-05-25T23:41:10Z", "2121-05-25T23:41:10Z"),
]


def certificate_authorities_described() -> None:
    """DescribeCertificates lists RDS's certificate authorities (rds-ca-rsa2048-g1 and the others,
    valid for decades), new instances use AWS's default rds-ca-rsa2048-g1 and report its
    CertificateDetails.

    moto 5.2.5 has no DescribeCertificates (a 500) and gives instances `rds-ca-default`, a name AWS
    never used, with no certificate behind it.
    """
    import datetime

    def when(text):
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)

    def describe_certificates(self):
        wanted = self.params.get("CertificateIdentifier")
        certs = [{"CertificateIdentifier": name, "CertificateType": "CA", "Thumbprint": name.replace("-", ""),
                  "ValidFrom": when(start), "ValidTill": when(end), "CustomerOverride": False,
                  "CertificateArn": f"arn:aws:rds:{self.region}::cert:{name}"}
                 for name, start, end in RDS_CERTIFICATES if not wanted or wanted == name]
        if wanted and not certs:
            raise RDSClientError("CertificateNotFound", f"Certificate {wanted} not found.")
        default = {"CertificateIdentifier": RDS_CERTIFICATES[0][0]} if not wanted else {}
        return ActionResult({"Certificates": certs, **({"DefaultCertificateForNewLaunches": default[
            "CertificateIdentifier"]} if default else {})})

    rds_responses.RDSResponse.describe_certificates = describe_certificates
    instance_cls = rds_models.DBInstance
    init = instance_cls.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if self.ca_certificate_identifier in (None, "rds-ca-default"):
            self.ca_certificate_identifier = RDS_CERTIFICATES[0][0]

    def details(self):
        for name, _start, end in RDS_CERTIFICATES:
            if name == self.ca_certificate_identifier:
                return {"CAIdentifier": name, "ValidTill": when(end)}
        return None

    instance_cls.__init__ = __init__
    instance_cls.certificate_details = property(details)


# Engine versions RDS lists for Aurora PostgreSQL (DescribeDBEngineVersions, 2026): major -> minors.
AURORA_POSTGRESQL_VERSIONS = {
    "13": ["13.18", "13.20", "13.21"], "14": ["14.15", "14.17", "14.18"], "15": ["15.10", "15.12", "15.13"],
    "16": ["16.4", "16.6", "16.8", "16.9"], "17": ["17.4", "17.5", "17.6"],
}


def engine_versions_described() -> None:
    """DescribeDBEngineVersions lists the Aurora PostgreSQL versions RDS offers
    (AURORA_POSTGRESQL_VERSIONS), with their parameter group family, filtered by Engine,
    EngineVersion and DBParameterGroupFamily as AWS filters them.

    moto 5.2.5 has no DescribeDBEngineVersions (a 500), so no client can tell a supported version
    from a retired one.
    """
    def describe_db_engine_versions(self):
        engine = self.params.get("Engine")
        version = self.params.get("EngineVersion")
        family = self.params.get("DBParameterGroupFamily")
        out = []
        if engine in (None, "aurora-postgresql"):
            for major, minors in AURORA_POSTGRESQL_VERSIONS.items():
                for minor in minors:
                    entry = {"Engine": "aurora-postgresql", "EngineVersion": minor,
                             "DBParameterGroupFamily": f"aurora-postgresql{major}",
                             "DBEngineDescription": "Aurora (PostgreSQL)",
                             "DBEngineVersionDescription": f"Aurora PostgreSQL (Compatible with PostgreSQL {minor})",
                             "Status": "available", "SupportsLogExportsToCloudwatchLogs": True,
                             "ExportableLogTypes": ["instance", "postgresql"], "SupportedEngineModes": ["provisioned"],
                             "SupportsReadReplica": True, "SupportsGlobalDatabases": True,
                             "SupportsBabelfish": True, "SupportsLimitlessDatabase": False}
                    if (not version or version == minor) and (not family or family == entry["DBParameterGroupFamily"]):
                        out.append(entry)
        return ActionResult({"DBEngineVersions": out})

    rds_responses.RDSResponse.describe_db_engine_versions = describe_db_engine_versions


def subnet_groups_kept_when_modified() -> None:
    """ModifyDBSubnetGroup changes the group and keeps it.

    moto 5.2.5 pops the group from its table to modify it and never puts it back: the answer
    shows the new subnets, then the group is gone (DescribeDBSubnetGroups and DeleteDBSubnetGroup
    answer DBSubnetGroupNotFoundFault). AWS keeps it, with the new subnets and description.
    """
    backend_cls = rds_models.RDSBackend
    modify = backend_cls.modify_db_subnet_group

    def modify_db_subnet_group(self, subnet_name, description, subnets):
        if subnet_name not in self.subnet_groups:
            raise rds_models.DBSubnetGroupNotFoundError(subnet_name)
        group = modify(self, subnet_name, description, subnets)
        self.subnet_groups[subnet_name] = group
        return group

    backend_cls.modify_db_subnet_group = modify_db_subnet_group


FIXES = (
    subnet_groups_kept_when_modified,
    clusters_run_on_postgresql,
    data_api_switch_reported,
    performance_insights_reported,
    automated_cluster_snapshots_deleted_with_the_cluster,
    cluster_members_report_their_subnet_group,
    cluster_parameters_listed_by_family,
    iam_database_authentication_follows_the_cluster,
    enhanced_monitoring_reported,
    certificate_authorities_described,
    engine_versions_described,
)
