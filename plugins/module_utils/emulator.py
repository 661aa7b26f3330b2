# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the embedded emulator (moto 5.2.5) differs from AWS: every workaround, named, here.

Each function acts only when the endpoint is loopback (the emulator), so what real AWS gets
is never weakened. Remove a workaround when moto fixes its gap.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse


def is_emulator(module):
    """True when the module talks to a loopback endpoint: the embedded emulator."""
    url = module.params.get("endpoint_url") or ""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cluster_http_endpoint_state(module, reported):
    """moto reports HttpEndpointEnabled false for every Serverless v2 (provisioned) cluster.

    It keeps the Data API switch only for Serverless v1 and has no EnableHttpEndpoint
    operation, so on the emulator the switch is taken as set as asked; AWS reports the truth.
    """
    if is_emulator(module):
        return module.params["enable_http_endpoint"]
    return reported


def delete_automated_cluster_snapshots(module, rds, cluster_id):
    """moto keeps a deleted cluster's automated snapshots (AWS deletes them with the cluster
    when DeleteAutomatedBackups is true), and names them by the minute, so recreating the
    cluster within the same minute fails with DBClusterSnapshotAlreadyExists."""
    if not is_emulator(module):
        return []
    snapshots = rds.describe_db_cluster_snapshots(
        aws_retry=True, DBClusterIdentifier=cluster_id, SnapshotType="automated")["DBClusterSnapshots"]
    for snap in snapshots:
        rds.delete_db_cluster_snapshot(aws_retry=True, DBClusterSnapshotIdentifier=snap["DBClusterSnapshotIdentifier"])
    return [s["DBClusterSnapshotIdentifier"] for s in snapshots]


def instance_performance_insights_state(module, reported):
    """moto accepts EnablePerformanceInsights but never reports PerformanceInsightsEnabled;
    on the emulator the setting is taken as set as asked."""
    if is_emulator(module) and reported is None:
        return module.params["performance_insights"]
    return reported


def lambda_can_invoke(module):
    """moto stores Lambda code but runs it only with Docker, which the emulator has not.

    AWS runs the invocation; on the emulator the caller skips it and says so.
    """
    return not is_emulator(module)


def lambda_code_via_s3(module):
    """moto answers GetFunction with a Code.Location nobody can download.

    So on the emulator every bundle goes through the staging bucket (AWS still gets direct
    uploads up to the limit), where lambda_code_staged_key() finds each version's code again.
    """
    return is_emulator(module)


def lambda_code_staged_key(module, function_name, version_description, prefix="_lambda"):
    """The staging-bucket key of a version's code, where moto's Code.Location cannot be used.

    moto's Code.Location is unreachable, and since its versions share one code record, it names
    the newest upload for every version. lambda_bundle stages each bundle as
    `<prefix>/<function>/<bundle hash>.zip` and writes `bundle <hash>` into the version's
    description, so on the emulator that key is the version's code. None on AWS, where
    Code.Location is a presigned URL to download directly.
    """
    if not is_emulator(module):
        return None
    words = (version_description or "").split()
    if len(words) < 2 or words[0] != "bundle":
        return None
    return f"{prefix.strip('/')}/{function_name}/{words[1]}.zip"


def cloudfront_has_cache_policies(module):
    """moto has no CloudFront cache policies (CreateCachePolicy is not implemented).

    On the emulator the caller reports a deterministic stand-in ID instead of calling the API.
    """
    return not is_emulator(module)


def cloudfront_function_publish_supported(module):
    """moto implements neither PublishFunction nor UpdateFunction for CloudFront Functions.

    On the emulator an update is a delete and create, and the function stays in DEVELOPMENT.
    """
    return not is_emulator(module)


def cloudfront_comparable(module, summary):
    """The part of a distribution summary moto keeps, for comparing desired with stored.

    moto drops OriginAccessControlId, FunctionAssociations and LambdaFunctionAssociations (the
    body signer); on the emulator both sides
    are compared without them (AWS still receives them on every create and update).
    """
    if not is_emulator(module):
        return summary
    out = dict(summary)
    out["origins"] = [{k: v for k, v in o.items() if k not in ("oac",)} for o in summary.get("origins", [])]
    out["behaviors"] = [{k: v for k, v in b.items() if k not in ("functions",)} for b in summary.get("behaviors", [])]
    out["default_behavior"] = {k: v for k, v in summary.get("default_behavior", {}).items() if k not in ("functions",)}
    return out


def postgres_sslmode(module, wanted):
    """The emulator's stand-in PostgreSQL serves no TLS (Aurora forces it: rds.force_ssl=1).

    On the emulator a connection that would require TLS is made with sslmode=prefer; AWS gets
    the sslmode asked for.
    """
    if is_emulator(module) and wanted in ("require", "verify-ca", "verify-full"):
        return "prefer"
    return wanted


def secret_follows_current_label(module, sm, secret_id, version_id, value):
    """moto answers GetSecretValue without a stage from a 'default version' it moves only on
    PutSecretValue: after UpdateSecretVersionStage moved AWSCURRENT, it keeps answering with
    the old value (and a later PutSecretValue would label the wrong version AWSPREVIOUS).

    On the emulator, the version now labelled AWSCURRENT is put again with its own
    ClientRequestToken and VersionStages [AWSCURRENT]: moto accepts that for a version labelled
    AWSPENDING (the rotation's own version) and realigns its default. AWS needs nothing.
    Returns True when it had to realign.
    """
    if not is_emulator(module):
        return False
    if sm.get_secret_value(aws_retry=True, SecretId=secret_id)["VersionId"] == version_id:
        return False
    stages = sm.describe_secret(aws_retry=True, SecretId=secret_id).get("VersionIdsToStages", {}).get(version_id, [])
    if "AWSPENDING" not in stages:
        sm.update_secret_version_stage(aws_retry=True, SecretId=secret_id, VersionStage="AWSPENDING",
                                       MoveToVersionId=version_id)
    sm.put_secret_value(aws_retry=True, SecretId=secret_id, ClientRequestToken=version_id,
                        SecretString=value, VersionStages=["AWSCURRENT"])
    return True


def acm_certificate_status(module, certificate):
    """moto issues every requested ACM certificate MOTO_ACM_VALIDATION_WAIT (60) seconds after the
    request, whether or not its DNS validation records exist, and never sooner.

    AWS issues it once it finds every validation CNAME in DNS. On the emulator ACM's check is done
    here against the emulator's Route 53: a PENDING_VALIDATION certificate whose every validation
    record is in one of its hosted zones, with ACM's value, is reported ISSUED. AWS reports the truth.
    """
    status = certificate.get("Status", "")
    options = certificate.get("DomainValidationOptions") or []
    if not is_emulator(module) or status != "PENDING_VALIDATION" or not options:
        return status
    if not all(o.get("ResourceRecord") for o in options):
        return status
    from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, paginate

    def fqdn(name):
        return name.lower().rstrip(".")

    wanted = {(fqdn(o["ResourceRecord"]["Name"]), o["ResourceRecord"]["Type"], fqdn(o["ResourceRecord"]["Value"]))
              for o in options}
    route53 = client(module, "route53")
    found = set()
    for zone in paginate(route53, "list_hosted_zones", "HostedZones"):
        apex = fqdn(zone["Name"])
        if not any(w[0] == apex or w[0].endswith("." + apex) for w in wanted):
            continue
        for rrset in paginate(route53, "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone["Id"]):
            found.update((fqdn(rrset["Name"]), rrset["Type"], fqdn(r["Value"])) for r in rrset.get("ResourceRecords", []))
    return "ISSUED" if wanted <= found else status


def master_password_applied_by_engine(module):
    """moto keeps an Aurora cluster's metadata but runs no engine: it accepts ModifyDBCluster
    MasterUserPassword and nothing logs in with that password afterwards. On AWS, Aurora
    applies it to the master user (within seconds; status resetting-master-credentials).
    False on the emulator, where stand_in_master_password() applies it to the stand-in."""
    return not is_emulator(module)


def stand_in_master_password(module, admin_url, role, password):
    """What Aurora does after ModifyDBCluster MasterUserPassword, done on the emulator's stand-in.

    The emulator's real PostgreSQL server plays the cluster's engine (the aurora role's
    aurora_stand_in_url, the postgres superuser on loopback): the master user `role` gets the
    password there, as a SCRAM verifier (hidden, like the password). AWS: nothing, returns False.
    """
    if master_password_applied_by_engine(module):
        return False
    host = urlparse(admin_url or "").hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        module.fail_json(msg="On the emulator the master password is applied to the stand-in PostgreSQL server "
                             "(stand_in_admin_url, the aurora role's aurora_stand_in_url), which must be a loopback URL; "
                             f"got {admin_url or 'nothing'}.")
    import psycopg  # only the emulator's path needs it here

    from ansible_collections.stream_sales.platform.plugins.module_utils.secret_rotation import set_password

    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            set_password(module, conn, role, password)
    except psycopg.Error as exc:
        module.fail_json(msg=f"The emulator's stand-in PostgreSQL at {host} refused the master password of {role}: "
                             f"{str(exc).strip()}")
    return True
