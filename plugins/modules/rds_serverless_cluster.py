#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rds_serverless_cluster
short_description: An Aurora Serverless v2 cluster, launched without waiting, changed in place
version_added: 0.1.0
description:
  - Ensures the Aurora cluster O(identifier) (Serverless v2, i.e. provisioned engine mode with a
    C(ServerlessV2ScalingConfiguration)).
  - Why not M(amazon.aws.rds_cluster) (10.1, measured) - its C(serverless_v2_scaling_configuration)
    takes only C(min_capacity) and C(max_capacity), so C(SecondsUntilAutoPause) (dev's auto-pause
    after 600 s) cannot be set; its C(enable_http_endpoint) goes through C(ModifyDBCluster), which
    switches the Data API of Serverless v1 only, while Serverless v2 needs the
    C(EnableHttpEndpoint)/C(DisableHttpEndpoint) operations; and it takes the master password as
    a module parameter, i.e. through Ansible variables. Remove this module when upstream has the
    first two and a password source other than a parameter.
  - The master user's password is read by the module itself from the Secrets Manager secret
    O(master_user_secret) (JSON with C(username) and C(password)); the password never passes
    through Ansible variables, results, diff or errors. An existing cluster's password is never
    changed by this module (rotation owns it).
  - The master user is O(master_username) (the secret's C(username) when omitted). After a
    rotation with alternating users the secret may name the master's clone (C(dbadmin_clone)),
    which a new cluster does not have - so when a cluster is created from a secret naming another
    user, the master gets the secret's password and the secret is rewritten to name the master
    (a new C(AWSCURRENT) version with the same password; see RV(secret_realigned)).
  - O(wait=false) returns as soon as AWS accepted the creation (about 10 minutes on AWS), so
    independent work goes on; a later call with O(wait=true) waits until C(available).
  - Settings that AWS can change are modified in place (C(ModifyDBCluster) with
    C(ApplyImmediately)); settings it cannot change (engine, encryption, database name, master
    user, subnet group) make the module fail rather than replace the cluster.
  - With O(state=absent), deletion protection stops the module with a clear message unless
    O(disable_deletion_protection=true); O(final_snapshot_identifier) takes a final snapshot.
    A cluster already being deleted is waited for, so an interrupted teardown resumes.
options:
  identifier:
    description: The cluster identifier.
    type: str
    required: true
  engine:
    description: Aurora engine.
    type: str
    default: aurora-postgresql
  engine_version:
    description: Engine version, e.g. C(16.6). Required to create.
    type: str
  master_user_secret:
    description:
      - ARN or name of the secret holding C(username) and C(password) (JSON). Required to create.
    type: str
  master_username:
    description:
      - The master user created with the cluster (it cannot change later); the secret's
        C(username) when omitted.
    type: str
  database_name:
    description: Database created with the cluster.
    type: str
  db_subnet_group_name:
    description: DB subnet group. Required to create.
    type: str
  cluster_parameter_group_name:
    description: Cluster parameter group.
    type: str
  vpc_security_group_ids:
    description: Security groups of the cluster.
    type: list
    elements: str
  storage_encrypted:
    description: Encrypt the storage (fixed at creation).
    type: bool
    default: true
  kms_key_id:
    description:
      - KMS key (ARN) for the storage; the account's C(aws/rds) key when omitted. Fixed at
        creation - an existing cluster encrypted with another key makes the module fail (omit it
        to leave such a cluster as it is).
    type: str
  iam_database_authentication:
    description: IAM database authentication (tokens from C(rds:GenerateAuthToken) as passwords), besides the master password.
    type: bool
    default: false
  backup_retention_period:
    description: Days automated backups are kept (1 to 35).
    type: int
    default: 7
  deletion_protection:
    description: Deletion protection.
    type: bool
    default: false
  cloudwatch_logs_exports:
    description: Log types exported to CloudWatch Logs, e.g. C([postgresql]).
    type: list
    elements: str
    default: []
  enable_http_endpoint:
    description: Enable the RDS Data API.
    type: bool
    default: true
  min_capacity:
    description: Serverless v2 minimum ACUs (0 allows auto-pause).
    type: float
    default: 0.5
  max_capacity:
    description: Serverless v2 maximum ACUs.
    type: float
    default: 4.0
  seconds_until_auto_pause:
    description: Idle seconds before the cluster pauses (300 to 86400); only with O(min_capacity=0). C(0) leaves it unset.
    type: int
    default: 0
  copy_tags_to_snapshot:
    description: Copy the cluster's tags to its snapshots.
    type: bool
    default: true
  final_snapshot_identifier:
    description: With O(state=absent), the final snapshot to take; omitted deletes without one.
    type: str
  disable_deletion_protection:
    description: With O(state=absent), turn deletion protection off before deleting.
    type: bool
    default: false
  state:
    description: Whether the cluster should exist.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - With O(state=present), wait until the cluster is C(available).
      - With O(state=absent), wait until it is gone (its subnet and parameter groups can only be
        deleted then).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 1800
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - stream_sales.platform.attributes
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Launch the cluster, without waiting
  stream_sales.platform.rds_serverless_cluster:
    identifier: stream-sales-dev-cluster
    engine_version: "16.6"
    master_user_secret: "{{ secrets_arns.database }}"
    master_username: dbadmin
    database_name: streams
    db_subnet_group_name: stream-sales-dev-db
    cluster_parameter_group_name: stream-sales-dev-cluster-params
    vpc_security_group_ids: [sg-0123456789abcdef0]
    cloudwatch_logs_exports: [postgresql]
    min_capacity: 0
    max_capacity: 4
    seconds_until_auto_pause: 600
    wait: false

- name: Delete it with a final snapshot
  stream_sales.platform.rds_serverless_cluster:
    identifier: stream-sales-staging-cluster
    state: absent
    final_snapshot_identifier: stream-sales-staging-final-20261128101500
    wait: true
"""

RETURN = r"""
cluster:
  description: The cluster (empty when absent). Never the password.
  returned: always
  type: dict
  contains:
    identifier:
      description: Cluster identifier.
      type: str
    arn:
      description: Cluster ARN.
      type: str
    resource_id:
      description: C(DbClusterResourceId); stays the same as long as the cluster is not replaced.
      type: str
    status:
      description: creating, available, modifying, deleting, ...
      type: str
    endpoint:
      description: Writer endpoint.
      type: str
    reader_endpoint:
      description: Reader endpoint.
      type: str
    port:
      description: Port.
      type: int
    min_capacity:
      description: Serverless v2 minimum ACUs.
      type: float
    max_capacity:
      description: Serverless v2 maximum ACUs.
      type: float
final_snapshot:
  description: The final snapshot taken by this run, if any.
  returned: when O(state=absent)
  type: str
secret_realigned:
  description:
    - True when this run created the cluster from a secret naming another user than
      O(master_username) (the clone, after a rotation) and rewrote the secret to name the master,
      with the same password.
  returned: when O(state=present)
  type: bool
"""

import json
import time

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import retag_rds
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after

HIDDEN = "(read from the secret by the module; never shown)"


def get_cluster(rds, identifier):
    try:
        return rds.describe_db_clusters(aws_retry=True, DBClusterIdentifier=identifier)["DBClusters"][0]
    except is_boto3_error_code("DBClusterNotFoundFault"):
        return None


def describe(cluster):
    if not cluster:
        return {}
    scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
    out = {
        "identifier": cluster["DBClusterIdentifier"],
        "arn": cluster.get("DBClusterArn"),
        "resource_id": cluster.get("DbClusterResourceId"),
        "status": cluster.get("Status"),
        "engine": cluster.get("Engine"),
        "engine_version": cluster.get("EngineVersion"),
        "endpoint": cluster.get("Endpoint"),
        "reader_endpoint": cluster.get("ReaderEndpoint"),
        "port": cluster.get("Port"),
        "master_username": cluster.get("MasterUsername"),
        "database_name": cluster.get("DatabaseName"),
        "db_subnet_group_name": cluster.get("DBSubnetGroup"),
        "cluster_parameter_group_name": cluster.get("DBClusterParameterGroup"),
        "vpc_security_group_ids": sorted(g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups", [])),
        "storage_encrypted": cluster.get("StorageEncrypted"),
        "kms_key_id": cluster.get("KmsKeyId"),
        "iam_database_authentication": bool(cluster.get("IAMDatabaseAuthenticationEnabled")),
        "backup_retention_period": cluster.get("BackupRetentionPeriod"),
        "deletion_protection": cluster.get("DeletionProtection"),
        "cloudwatch_logs_exports": sorted(cluster.get("EnabledCloudwatchLogsExports", [])),
        "enable_http_endpoint": cluster.get("HttpEndpointEnabled", False),
        "min_capacity": scaling.get("MinCapacity"),
        "max_capacity": scaling.get("MaxCapacity"),
        "seconds_until_auto_pause": scaling.get("SecondsUntilAutoPause", 0),
        "copy_tags_to_snapshot": cluster.get("CopyTagsToSnapshot"),
        "tags": boto3_tag_list_to_ansible_dict(cluster.get("TagList", [])),
    }
    return out


def read_master_user(module, sm):
    """Username and password from the secret; the password is registered as no_log."""
    secret_id = module.params["master_user_secret"]
    try:
        value = json.loads(sm.get_secret_value(aws_retry=True, SecretId=secret_id)["SecretString"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"master_user_secret: cannot read secret {secret_id}")
    except (ValueError, KeyError):
        module.fail_json(msg=f"master_user_secret: secret {secret_id} is not a JSON document")
    password = value.get("password") or ""
    if password:
        module.no_log_values.add(password)
    if not value.get("username") or not password:
        module.fail_json(msg=f"master_user_secret: secret {secret_id} lacks username or password")
    return value["username"], password


def scaling(params):
    config = {"MinCapacity": params["min_capacity"], "MaxCapacity": params["max_capacity"]}
    if params["seconds_until_auto_pause"] and params["min_capacity"] == 0:
        config["SecondsUntilAutoPause"] = params["seconds_until_auto_pause"]
    return config


def wanted(params, current=None):
    """The desired state in describe()'s shape (only what the module manages)."""
    out = {
        "identifier": params["identifier"],
        "engine": params["engine"],
        "backup_retention_period": params["backup_retention_period"],
        "deletion_protection": params["deletion_protection"],
        "cloudwatch_logs_exports": sorted(params["cloudwatch_logs_exports"]),
        "enable_http_endpoint": params["enable_http_endpoint"],
        "min_capacity": float(params["min_capacity"]),
        "max_capacity": float(params["max_capacity"]),
        "seconds_until_auto_pause": scaling(params).get("SecondsUntilAutoPause", 0),
        "copy_tags_to_snapshot": params["copy_tags_to_snapshot"],
        "storage_encrypted": params["storage_encrypted"],
        "iam_database_authentication": params["iam_database_authentication"],
    }
    for key in ("engine_version", "kms_key_id", "database_name", "db_subnet_group_name",
                "cluster_parameter_group_name", "master_username"):
        if params[key] is not None:
            out[key] = params[key]
    if params["vpc_security_group_ids"] is not None:
        out["vpc_security_group_ids"] = sorted(params["vpc_security_group_ids"])
    if current is not None and current.get("seconds_until_auto_pause") and out["min_capacity"] == 0 \
            and not out["seconds_until_auto_pause"]:
        out["seconds_until_auto_pause"] = current["seconds_until_auto_pause"]
    return out


def wait_for(module, rds, identifier, until):
    """Poll until `until(cluster or None)` holds (AWS takes minutes to create or delete)."""
    deadline = time.monotonic() + module.params["wait_timeout"]
    while True:
        cluster = get_cluster(rds, identifier)
        if until(cluster):
            return cluster
        if time.monotonic() > deadline:
            module.fail_json(msg=f"Timed out after {module.params['wait_timeout']}s waiting for cluster {identifier} "
                                 f"(status {cluster.get('Status') if cluster else 'gone'})")
        time.sleep(10 if cluster and cluster.get("Status") in ("creating", "deleting") else 5)


def is_available(cluster):
    return cluster is not None and cluster.get("Status") == "available"


def realign_secret(module, sm, master):
    """A new cluster has no clone: the secret names its master user from now on, same password.

    Done before the cluster is created, so an interruption leaves a consistent pair behind."""
    secret_id = module.params["master_user_secret"]
    value = json.loads(sm.get_secret_value(aws_retry=True, SecretId=secret_id)["SecretString"])
    value["username"] = master
    sm.put_secret_value(aws_retry=True, SecretId=secret_id, SecretString=json.dumps(value))
    module.warn(f"Secret {secret_id} named another user than the master user {master} (the clone, after a "
                f"rotation), which the new cluster {module.params['identifier']} does not have: it now names {master}, "
                "whose password is the secret's.")


def create(module, rds, sm, result):
    p = module.params
    missing = [k for k in ("engine_version", "master_user_secret", "db_subnet_group_name") if not p[k]]
    if missing:
        module.fail_json(msg=f"Creating cluster {p['identifier']} needs {', '.join(missing)}.")
    planned = dict(wanted(p), tags=p["tags"] or {}, master_user_password=HIDDEN, status="creating")
    if module.check_mode:
        return True, {}, planned
    username, password = read_master_user(module, sm)
    master = p["master_username"] or username
    result["secret_realigned"] = username != master
    if username != master:
        realign_secret(module, sm, master)
    kwargs = dict(
        DBClusterIdentifier=p["identifier"], Engine=p["engine"], EngineVersion=p["engine_version"],
        EngineMode="provisioned", MasterUsername=master, MasterUserPassword=password,
        ManageMasterUserPassword=False, DBSubnetGroupName=p["db_subnet_group_name"],
        StorageEncrypted=p["storage_encrypted"], BackupRetentionPeriod=p["backup_retention_period"],
        DeletionProtection=p["deletion_protection"], EnableCloudwatchLogsExports=p["cloudwatch_logs_exports"],
        EnableHttpEndpoint=p["enable_http_endpoint"], ServerlessV2ScalingConfiguration=scaling(p),
        CopyTagsToSnapshot=p["copy_tags_to_snapshot"],
        EnableIAMDatabaseAuthentication=p["iam_database_authentication"],
    )
    optional = {
        "DatabaseName": p["database_name"], "DBClusterParameterGroupName": p["cluster_parameter_group_name"],
        "VpcSecurityGroupIds": p["vpc_security_group_ids"], "KmsKeyId": p["kms_key_id"],
        "Tags": ansible_dict_to_boto3_tag_list(p["tags"]) if p["tags"] else None,
    }
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    cluster = rds.create_db_cluster(aws_retry=True, **kwargs)["DBCluster"]
    cluster = get_cluster(rds, p["identifier"]) or cluster  # its current status, for whoever waits next
    if p["wait"]:
        cluster = wait_for(module, rds, p["identifier"], is_available)
    return True, {}, describe(cluster)


def update(module, rds, cluster):
    p = module.params
    before = describe(cluster)
    want = wanted(p, before)
    fixed = [k for k in ("engine", "storage_encrypted", "kms_key_id", "database_name", "db_subnet_group_name",
                         "master_username")
             if k in want and before.get(k) not in (None, want[k])]
    if fixed:
        module.fail_json(
            msg=f"Cluster {p['identifier']} differs in {', '.join(fixed)}, which cannot change in place: "
                "this module never replaces a cluster. Change it back, or migrate to a new cluster by hand"
                + (" (kms_key_id: omit it to keep the cluster on its current key)" if "kms_key_id" in fixed else "")
                + ".",
            current={k: before.get(k) for k in fixed}, wanted={k: want[k] for k in fixed})
    modify = {}
    if want["backup_retention_period"] != before["backup_retention_period"]:
        modify["BackupRetentionPeriod"] = want["backup_retention_period"]
    if want["deletion_protection"] != before["deletion_protection"]:
        modify["DeletionProtection"] = want["deletion_protection"]
    if want["copy_tags_to_snapshot"] != before["copy_tags_to_snapshot"]:
        modify["CopyTagsToSnapshot"] = want["copy_tags_to_snapshot"]
    if want["iam_database_authentication"] != before["iam_database_authentication"]:
        modify["EnableIAMDatabaseAuthentication"] = want["iam_database_authentication"]
    # Auto-pause exists only with a minimum of 0 ACU; otherwise whatever AWS reports is moot.
    pause_before = (before["seconds_until_auto_pause"] or 0) if before["min_capacity"] == 0 else 0
    if (want["min_capacity"], want["max_capacity"], want["seconds_until_auto_pause"]) != \
            (before["min_capacity"], before["max_capacity"], pause_before):
        modify["ServerlessV2ScalingConfiguration"] = scaling(p)
    if want["cloudwatch_logs_exports"] != before["cloudwatch_logs_exports"]:
        enable = sorted(set(want["cloudwatch_logs_exports"]) - set(before["cloudwatch_logs_exports"]))
        disable = sorted(set(before["cloudwatch_logs_exports"]) - set(want["cloudwatch_logs_exports"]))
        modify["CloudwatchLogsExportConfiguration"] = {"EnableLogTypes": enable, "DisableLogTypes": disable}
    if "vpc_security_group_ids" in want and want["vpc_security_group_ids"] != before["vpc_security_group_ids"]:
        modify["VpcSecurityGroupIds"] = want["vpc_security_group_ids"]
    if "cluster_parameter_group_name" in want and \
            want["cluster_parameter_group_name"] != before["cluster_parameter_group_name"]:
        modify["DBClusterParameterGroupName"] = want["cluster_parameter_group_name"]
    if "engine_version" in want and want["engine_version"] != before["engine_version"]:
        modify["EngineVersion"] = want["engine_version"]
        if want["engine_version"].split(".", maxsplit=1)[0] != str(before["engine_version"]).split(".", maxsplit=1)[0]:
            modify["AllowMajorVersionUpgrade"] = True
    http = want["enable_http_endpoint"] != before["enable_http_endpoint"]
    to_set, to_remove = tag_diff(before["tags"], p["tags"], p["purge_tags"])

    changed = bool(modify or http or to_set or to_remove)
    after = dict(before, **{k: v for k, v in want.items() if k in before},
                 tags=tags_after(before["tags"], p["tags"], p["purge_tags"]))
    if not changed or module.check_mode:
        if p["wait"] and not module.check_mode and not is_available(cluster):
            after["status"] = wait_for(module, rds, p["identifier"], is_available)["Status"]
        return changed, before, after
    if (modify or http) and not is_available(cluster):
        # ModifyDBCluster needs an available cluster: a rerun during creation waits here.
        cluster = wait_for(module, rds, p["identifier"], is_available)
    if modify:
        rds.modify_db_cluster(aws_retry=True, DBClusterIdentifier=p["identifier"], ApplyImmediately=True, **modify)
    if http:
        # Serverless v2 / provisioned clusters switch the Data API with its own operations.
        op = rds.enable_http_endpoint if want["enable_http_endpoint"] else rds.disable_http_endpoint
        op(aws_retry=True, ResourceArn=cluster["DBClusterArn"])
    retag_rds(rds, cluster["DBClusterArn"], to_set, to_remove)
    if p["wait"]:
        cluster = wait_for(module, rds, p["identifier"], is_available)
        after["status"] = cluster["Status"]
    return True, before, after


def ensure_absent(module, rds):
    p = module.params
    cluster = get_cluster(rds, p["identifier"])
    result = {"final_snapshot": None}
    if cluster is None:
        return False, {}, {}, result
    before = describe(cluster)
    if cluster.get("Status") == "deleting":
        # An earlier (interrupted) teardown already asked for the deletion: only wait.
        if p["wait"] and not module.check_mode:
            wait_for(module, rds, p["identifier"], lambda c: c is None)
        return False, before, {}, result
    if cluster.get("DeletionProtection") and not p["disable_deletion_protection"]:
        module.fail_json(
            msg=f"Cluster {p['identifier']} has deletion protection on, so it was not deleted. "
                "Rerun with -e disable_deletion_protection=true to turn protection off and delete it"
                + (" (a final snapshot is taken first)." if p["final_snapshot_identifier"] else "."),
            cluster=before)
    members = [m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])]
    if members:
        module.fail_json(msg=f"Cluster {p['identifier']} still has instances ({', '.join(members)}); delete them first.")
    if module.check_mode:
        result["final_snapshot"] = p["final_snapshot_identifier"]
        return True, before, {}, result
    if cluster.get("DeletionProtection"):
        if not is_available(cluster):
            cluster = wait_for(module, rds, p["identifier"], is_available)
        rds.modify_db_cluster(aws_retry=True, DBClusterIdentifier=p["identifier"], DeletionProtection=False,
                              ApplyImmediately=True)
    elif cluster.get("Status") not in ("available", "stopped"):
        cluster = wait_for(module, rds, p["identifier"], lambda c: c is None or c.get("Status") in ("available", "stopped"))
        if cluster is None:
            return True, before, {}, result
    kwargs = {"SkipFinalSnapshot": True, "DeleteAutomatedBackups": True}
    if p["final_snapshot_identifier"]:
        kwargs = {"FinalDBSnapshotIdentifier": p["final_snapshot_identifier"], "DeleteAutomatedBackups": True}
        result["final_snapshot"] = p["final_snapshot_identifier"]
    rds.delete_db_cluster(aws_retry=True, DBClusterIdentifier=p["identifier"], **kwargs)
    if p["wait"]:
        wait_for(module, rds, p["identifier"], lambda c: c is None)
    return True, before, {}, result


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            identifier=dict(type="str", required=True),
            engine=dict(type="str", default="aurora-postgresql"),
            engine_version=dict(type="str"),
            master_user_secret=dict(type="str", no_log=False),
            master_username=dict(type="str"),
            database_name=dict(type="str"),
            db_subnet_group_name=dict(type="str"),
            cluster_parameter_group_name=dict(type="str"),
            vpc_security_group_ids=dict(type="list", elements="str"),
            storage_encrypted=dict(type="bool", default=True),
            kms_key_id=dict(type="str"),
            iam_database_authentication=dict(type="bool", default=False),
            backup_retention_period=dict(type="int", default=7),
            deletion_protection=dict(type="bool", default=False),
            cloudwatch_logs_exports=dict(type="list", elements="str", default=[]),
            enable_http_endpoint=dict(type="bool", default=True),
            min_capacity=dict(type="float", default=0.5),
            max_capacity=dict(type="float", default=4.0),
            seconds_until_auto_pause=dict(type="int", default=0),
            copy_tags_to_snapshot=dict(type="bool", default=True),
            final_snapshot_identifier=dict(type="str"),
            disable_deletion_protection=dict(type="bool", default=False),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=1800),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["state"] == "present":
        if not 0 <= p["min_capacity"] <= p["max_capacity"] <= 256:
            module.fail_json(msg=f"min_capacity {p['min_capacity']:g} and max_capacity {p['max_capacity']:g}: "
                                 "allowed 0 <= min <= max <= 256 ACU.")
        if p["seconds_until_auto_pause"] and not 300 <= p["seconds_until_auto_pause"] <= 86400:
            module.fail_json(msg=f"seconds_until_auto_pause is {p['seconds_until_auto_pause']}; allowed: 0 or 300 to 86400.")
        if not 1 <= p["backup_retention_period"] <= 35:
            module.fail_json(msg=f"backup_retention_period is {p['backup_retention_period']}; allowed: 1 to 35.")
    rds = client(module, "rds")
    result = {"secret_realigned": False} if p["state"] == "present" else {}
    try:
        if p["state"] == "present":
            cluster = get_cluster(rds, p["identifier"])
            if cluster is None or cluster.get("Status") == "deleting":
                if cluster is not None:
                    module.fail_json(msg=f"Cluster {p['identifier']} is being deleted; rerun once it is gone.")
                changed, before, after = create(module, rds, client(module, "secretsmanager"), result)
            else:
                changed, before, after = update(module, rds, cluster)
        else:
            changed, before, after, result = ensure_absent(module, rds)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage cluster {p['identifier']}")
    result.update(changed=changed, cluster=after)
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
