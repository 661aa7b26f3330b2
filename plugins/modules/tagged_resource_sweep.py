#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tagged_resource_sweep
short_description: Delete an environment's leftover resources, by ARN, except what is kept on purpose
version_added: 0.1.0
description:
  - Deletes each resource of O(resources) (ARNs, typically from
    M(stream_sales.platform.tagged_resources_info)) unless it matches a rule of O(keep).
  - What cannot be deleted (AWS refuses, e.g. C(DependencyViolation) twice, access denied, a
    Lambda@Edge function still replicated) is reported, with the reason, in RV(kept) next to what
    is kept on purpose, so a teardown can print one table of everything it left behind.
  - Already gone is not a change, so a rerun after an interruption simply finishes the job.
  - Network interfaces that Lambda still uses are waited for (Lambda releases them some time
    after their function is deleted), up to O(wait_timeout) seconds.
  - Deletes, per type, network interfaces, Elastic IPs (not associated), NAT gateways, VPC
    endpoints, flow logs, security groups, subnets, route tables, internet gateways, VPCs, EBS
    snapshots and volumes, DB snapshots and DB cluster snapshots (manual), log groups, Lambda
    functions, SQS queues, SNS topics, DynamoDB tables, SSM parameters, secrets, S3 buckets
    (emptied first, every version), CloudWatch alarms and EventBridge rules.
  - Never deletes databases or CloudFront distributions (their roles do, with a final snapshot,
    or after disabling); like any type without a deleter, they are reported as kept.
options:
  resources:
    description: ARNs of the resources to delete.
    type: list
    elements: str
    required: true
  keep:
    description: What is kept on purpose; the first rule whose pattern matches an ARN keeps it.
    type: list
    elements: dict
    default: []
    suboptions:
      pattern:
        description: Regular expression searched in the ARN.
        type: str
        required: true
      why:
        description: The reason, for the report.
        type: str
        required: true
  secret_recovery_window_days:
    description: Recovery window of deleted secrets; 0 deletes them at once.
    type: int
    default: 7
  wait_timeout:
    description: Seconds to wait for Lambda to release a network interface, or for a NAT gateway to be deleted.
    type: int
    default: 1200
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - stream_sales.platform.attributes
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Find what is left of dev
  stream_sales.platform.tagged_resources_info:
    tags: {Project: StreamSales, Environment: dev}
    log_group_prefixes: [/aws/lambda/stream-sales-dev-]
  register: found

- name: Delete it, except the final snapshots
  stream_sales.platform.tagged_resource_sweep:
    resources: "{{ found.arns }}"
    keep:
      - pattern: ':cluster-snapshot:stream-sales-dev-final-'
        why: final snapshot of stream-sales-dev-cluster
    secret_recovery_window_days: 0
  register: swept
"""

RETURN = r"""
deleted:
  description: What was deleted (in check mode, what would be).
  returned: always
  type: list
  elements: dict
  contains:
    arn:
      description: The ARN.
      type: str
    resource:
      description: A readable name, e.g. C(network interface eni-0123), C(log group /aws/lambda/x).
      type: str
kept:
  description: What was left, on purpose or because it could not be deleted.
  returned: always
  type: list
  elements: dict
  contains:
    arn:
      description: The ARN.
      type: str
    resource:
      description: A readable name, e.g. C(secret stream-sales/production/jwt/secret).
      type: str
    why:
      description: Why it was kept.
      type: str
gone:
  description: ARNs that no longer existed (deleted since they were listed, or deleting).
  returned: always
  type: list
  elements: str
"""

import re
import time

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.resource_arns import parse_arn

# Deletion order: what uses the network first, the VPC last; everything else before.
ORDER = {
    "lambda:function": 0,
    "ec2:natgateway": 10, "ec2:vpc-endpoint": 11, "ec2:vpc-flow-log": 12, "ec2:flow-logs": 12,
    "ec2:network-interface": 20, "ec2:elastic-ip": 21,
    "ec2:security-group": 30, "ec2:subnet": 40, "ec2:route-table": 45, "ec2:internet-gateway": 50, "ec2:vpc": 60,
}

LABELS = {
    "ec2:network-interface": "network interface", "ec2:elastic-ip": "Elastic IP", "ec2:natgateway": "NAT gateway",
    "ec2:vpc-endpoint": "VPC endpoint", "ec2:security-group": "security group", "ec2:subnet": "subnet",
    "ec2:route-table": "route table", "ec2:internet-gateway": "internet gateway", "ec2:vpc": "VPC",
    "ec2:snapshot": "EBS snapshot", "ec2:volume": "EBS volume", "rds:cluster-snapshot": "DB cluster snapshot",
    "rds:snapshot": "DB snapshot", "rds:cluster": "DB cluster", "rds:db": "DB instance", "logs:log-group": "log group",
    "lambda:function": "Lambda function", "sqs": "SQS queue", "sns": "SNS topic", "dynamodb:table": "DynamoDB table",
    "ssm:parameter": "SSM parameter", "secretsmanager:secret": "secret", "s3": "bucket", "cloudwatch:alarm": "alarm",
    "events:rule": "EventBridge rule", "cloudfront:distribution": "CloudFront distribution",
}

NOT_FOUND = [
    "InvalidNetworkInterfaceID.NotFound", "InvalidAllocationID.NotFound", "InvalidGroup.NotFound",
    "InvalidSubnetID.NotFound", "InvalidRouteTableID.NotFound", "InvalidInternetGatewayID.NotFound",
    "InvalidVpcID.NotFound", "InvalidVpcEndpointId.NotFound", "NatGatewayNotFound", "InvalidSnapshot.NotFound",
    "InvalidVolume.NotFound", "DBClusterSnapshotNotFoundFault", "DBSnapshotNotFound", "DBClusterSnapshotNotFound",
    "ResourceNotFoundException", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NotFound",
    "ParameterNotFound", "NoSuchBucket", "404",
]


class Kept(Exception):
    """The resource stays; the message says why."""


class Gone(Exception):
    """The resource no longer exists."""


def label(kind, ident):
    if kind == "secretsmanager:secret":
        ident = re.sub(r"-[A-Za-z0-9]{6}$", "", ident)  # the suffix AWS adds to a secret's name
    return f"{LABELS.get(kind, kind)} {ident}"


class Sweep:
    def __init__(self, module):
        self.module = module
        self.check = module.check_mode
        self._clients = {}

    def c(self, service):
        if service not in self._clients:
            self._clients[service] = client(self.module, service)
        return self._clients[service]

    def wait(self, what, done):
        deadline = time.monotonic() + self.module.params["wait_timeout"]
        while not done():
            if time.monotonic() > deadline:
                raise Kept(f"still {what} after {self.module.params['wait_timeout']} s; run the teardown again later")
            time.sleep(10)

    # --- EC2 -------------------------------------------------------------------------------
    def eni(self, ident):
        ec2 = self.c("ec2")

        def read():
            found = ec2.describe_network_interfaces(aws_retry=True, NetworkInterfaceIds=[ident])["NetworkInterfaces"]
            if not found:
                raise Gone()
            return found[0]

        eni = read()
        if eni["Status"] != "available":
            if not eni.get("Description", "").startswith("AWS Lambda VPC ENI"):
                owner = eni.get("Attachment", {}).get("InstanceId") or eni.get("Attachment", {}).get("InstanceOwnerId", "?")
                raise Kept(f"attached ({eni['Status']}, to {owner}); detach it first")
            if self.check:
                return  # Lambda will release it; a real run waits for that
            self.wait("in use by Lambda", lambda: read()["Status"] == "available")
        if not self.check:
            ec2.delete_network_interface(aws_retry=True, NetworkInterfaceId=ident)

    def elastic_ip(self, ident):
        ec2 = self.c("ec2")
        found = ec2.describe_addresses(aws_retry=True, AllocationIds=[ident])["Addresses"]
        if not found:
            raise Gone()
        if found[0].get("AssociationId"):
            raise Kept(f"{found[0].get('PublicIp')} is associated ({found[0]['AssociationId']}); disassociate it first")
        if not self.check:
            ec2.release_address(aws_retry=True, AllocationId=ident)

    def nat_gateway(self, ident):
        ec2 = self.c("ec2")

        def state():
            found = ec2.describe_nat_gateways(aws_retry=True, NatGatewayIds=[ident])["NatGateways"]
            return found[0]["State"] if found else "deleted"

        if state() in ("deleting", "deleted"):
            raise Gone()
        if not self.check:
            ec2.delete_nat_gateway(aws_retry=True, NatGatewayId=ident)
            self.wait("deleting", lambda: state() == "deleted")

    def vpc_endpoint(self, ident):
        found = self.c("ec2").describe_vpc_endpoints(aws_retry=True, VpcEndpointIds=[ident])["VpcEndpoints"]
        if not found or found[0]["State"].lower() in ("deleting", "deleted"):
            raise Gone()
        if not self.check:
            self.c("ec2").delete_vpc_endpoints(aws_retry=True, VpcEndpointIds=[ident])

    def flow_log(self, ident):
        if not self.c("ec2").describe_flow_logs(aws_retry=True, FlowLogIds=[ident])["FlowLogs"]:
            raise Gone()
        if not self.check:
            self.c("ec2").delete_flow_logs(aws_retry=True, FlowLogIds=[ident])

    def security_group(self, ident):
        found = self.c("ec2").describe_security_groups(aws_retry=True, GroupIds=[ident])["SecurityGroups"]
        if not found:
            raise Gone()
        if found[0]["GroupName"] == "default":
            raise Kept("the VPC's default security group goes with its VPC")
        if not self.check:
            self.c("ec2").delete_security_group(aws_retry=True, GroupId=ident)

    def subnet(self, ident):
        if not self.c("ec2").describe_subnets(aws_retry=True, SubnetIds=[ident])["Subnets"]:
            raise Gone()
        if not self.check:
            self.c("ec2").delete_subnet(aws_retry=True, SubnetId=ident)

    def route_table(self, ident):
        ec2 = self.c("ec2")
        found = ec2.describe_route_tables(aws_retry=True, RouteTableIds=[ident])["RouteTables"]
        if not found:
            raise Gone()
        associations = found[0].get("Associations", [])
        if any(a.get("Main") for a in associations):
            raise Kept(f"main route table of {found[0]['VpcId']}; it goes with its VPC")
        if not self.check:
            for assoc in associations:
                ec2.disassociate_route_table(aws_retry=True, AssociationId=assoc["RouteTableAssociationId"])
            ec2.delete_route_table(aws_retry=True, RouteTableId=ident)

    def internet_gateway(self, ident):
        ec2 = self.c("ec2")
        found = ec2.describe_internet_gateways(aws_retry=True, InternetGatewayIds=[ident])["InternetGateways"]
        if not found:
            raise Gone()
        if not self.check:
            for att in found[0].get("Attachments", []):
                ec2.detach_internet_gateway(aws_retry=True, InternetGatewayId=ident, VpcId=att["VpcId"])
            ec2.delete_internet_gateway(aws_retry=True, InternetGatewayId=ident)

    def vpc(self, ident):
        if not self.c("ec2").describe_vpcs(aws_retry=True, VpcIds=[ident])["Vpcs"]:
            raise Gone()
        if not self.check:
            self.c("ec2").delete_vpc(aws_retry=True, VpcId=ident)

    def ebs_snapshot(self, ident):
        if not self.c("ec2").describe_snapshots(aws_retry=True, SnapshotIds=[ident])["Snapshots"]:
            raise Gone()
        if not self.check:
            self.c("ec2").delete_snapshot(aws_retry=True, SnapshotId=ident)

    def volume(self, ident):
        found = self.c("ec2").describe_volumes(aws_retry=True, VolumeIds=[ident])["Volumes"]
        if not found:
            raise Gone()
        if found[0]["State"] != "available":
            raise Kept(f"volume is {found[0]['State']}; detach it first")
        if not self.check:
            self.c("ec2").delete_volume(aws_retry=True, VolumeId=ident)

    # --- RDS -------------------------------------------------------------------------------
    def cluster_snapshot(self, ident):
        self._snapshot(ident, "db_cluster_snapshot", "DBClusterSnapshot", "DBClusterIdentifier", "cluster")

    def db_snapshot(self, ident):
        self._snapshot(ident, "db_snapshot", "DBSnapshot", "DBInstanceIdentifier", "instance")

    def _snapshot(self, ident, method, api, parent_key, parent):
        """Delete a manual snapshot (cluster or instance: the same calls but for their names)."""
        rds = self.c("rds")
        found = getattr(rds, f"describe_{method}s")(aws_retry=True, **{f"{api}Identifier": ident})[f"{api}s"]
        if not found or found[0].get("Status") == "deleting":
            raise Gone()
        if found[0].get("SnapshotType") == "automated":
            raise Kept(f"automated backup of {found[0].get(parent_key)}; AWS deletes it with its {parent}")
        if not self.check:
            getattr(rds, f"delete_{method}")(aws_retry=True, **{f"{api}Identifier": ident})

    # --- everything else -------------------------------------------------------------------
    def log_group(self, ident):
        logs = self.c("logs")
        if not any(g["logGroupName"] == ident for g in paginate(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=ident)):
            raise Gone()
        if not self.check:
            logs.delete_log_group(aws_retry=True, logGroupName=ident)

    def function(self, ident):
        name = ident.split(":", 1)[0]
        self.c("lambda").get_function(aws_retry=True, FunctionName=name)
        if not self.check:
            try:
                self.c("lambda").delete_function(aws_retry=True, FunctionName=name)
            except is_boto3_error_code("InvalidParameterValueException") as e:
                if "replicated" not in str(e):
                    raise
                raise Kept("a Lambda@Edge function CloudFront still replicates (for hours after its distribution "
                           "is gone); a later teardown deletes it")

    def queue(self, ident, arn):
        account = arn.split(":")[4]
        url = self.c("sqs").get_queue_url(aws_retry=True, QueueName=ident, QueueOwnerAWSAccountId=account)["QueueUrl"]
        if not self.check:
            self.c("sqs").delete_queue(aws_retry=True, QueueUrl=url)

    def topic(self, arn):
        self.c("sns").get_topic_attributes(aws_retry=True, TopicArn=arn)
        if not self.check:
            self.c("sns").delete_topic(aws_retry=True, TopicArn=arn)

    def table(self, ident):
        ddb = self.c("dynamodb")
        if ddb.describe_table(aws_retry=True, TableName=ident)["Table"]["TableStatus"] == "DELETING":
            raise Gone()
        if not self.check:
            ddb.delete_table(aws_retry=True, TableName=ident)

    def parameter(self, ident):
        ssm = self.c("ssm")
        # The ARN drops a name's leading slash: stream-sales/dev/x is /stream-sales/dev/x or stream-sales/dev/x.
        for name in ("/" + ident, ident):
            try:
                ssm.get_parameter(aws_retry=True, Name=name)
            except is_boto3_error_code("ParameterNotFound"):
                continue
            if not self.check:
                ssm.delete_parameter(aws_retry=True, Name=name)
            return
        raise Gone()

    def secret(self, arn):
        sm = self.c("secretsmanager")
        found = sm.describe_secret(aws_retry=True, SecretId=arn)
        if found.get("DeletedDate"):
            raise Kept("scheduled for deletion: restorable until its recovery window ends (a deploy restores it)")
        if not self.check:
            days = self.module.params["secret_recovery_window_days"]
            extra = {"ForceDeleteWithoutRecovery": True} if days == 0 else {"RecoveryWindowInDays": days}
            sm.delete_secret(aws_retry=True, SecretId=arn, **extra)

    def bucket(self, name):
        s3 = self.c("s3")
        s3.head_bucket(aws_retry=True, Bucket=name)
        if self.check:
            return
        versions = paginate(s3, "list_object_versions", "Versions", Bucket=name)
        versions += paginate(s3, "list_object_versions", "DeleteMarkers", Bucket=name)
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
        for i in range(0, len(keys), 1000):
            s3.delete_objects(aws_retry=True, Bucket=name, Delete={"Objects": keys[i:i + 1000], "Quiet": True})
        s3.delete_bucket(aws_retry=True, Bucket=name)

    def alarm(self, ident):
        cw = self.c("cloudwatch")
        if not cw.describe_alarms(aws_retry=True, AlarmNames=[ident])["MetricAlarms"]:
            raise Gone()
        if not self.check:
            cw.delete_alarms(aws_retry=True, AlarmNames=[ident])

    def rule(self, ident):
        events = self.c("events")
        bus, name = ident.rsplit("/", 1) if "/" in ident else ("default", ident)
        events.describe_rule(aws_retry=True, Name=name, EventBusName=bus)
        if not self.check:
            targets = events.list_targets_by_rule(aws_retry=True, Rule=name, EventBusName=bus).get("Targets", [])
            if targets:
                events.remove_targets(aws_retry=True, Rule=name, EventBusName=bus, Ids=[t["Id"] for t in targets])
            events.delete_rule(aws_retry=True, Name=name, EventBusName=bus)

    def delete(self, kind, ident, arn):
        """Delete one resource; raises Gone or Kept when it does not."""
        handlers = {
            "ec2:network-interface": lambda: self.eni(ident),
            "ec2:elastic-ip": lambda: self.elastic_ip(ident),
            "ec2:natgateway": lambda: self.nat_gateway(ident),
            "ec2:vpc-endpoint": lambda: self.vpc_endpoint(ident),
            "ec2:vpc-flow-log": lambda: self.flow_log(ident),
            "ec2:flow-logs": lambda: self.flow_log(ident),
            "ec2:security-group": lambda: self.security_group(ident),
            "ec2:subnet": lambda: self.subnet(ident),
            "ec2:route-table": lambda: self.route_table(ident),
            "ec2:internet-gateway": lambda: self.internet_gateway(ident),
            "ec2:vpc": lambda: self.vpc(ident),
            "ec2:snapshot": lambda: self.ebs_snapshot(ident),
            "ec2:volume": lambda: self.volume(ident),
            "rds:cluster-snapshot": lambda: self.cluster_snapshot(ident),
            "rds:snapshot": lambda: self.db_snapshot(ident),
            "logs:log-group": lambda: self.log_group(ident),
            "lambda:function": lambda: self.function(ident),
            "sqs": lambda: self.queue(ident, arn),
            "sns": lambda: self.topic(arn),
            "dynamodb:table": lambda: self.table(ident),
            "ssm:parameter": lambda: self.parameter(ident),
            "secretsmanager:secret": lambda: self.secret(arn),
            "s3": lambda: self.bucket(ident),
            "cloudwatch:alarm": lambda: self.alarm(ident),
            "events:rule": lambda: self.rule(ident),
        }
        reasons = {
            "rds:cluster": "databases are deleted only by the aurora role (with its final snapshot); delete it by hand",
            "rds:db": "databases are deleted only by the aurora role (with its final snapshot); delete it by hand",
            "cloudfront:distribution": "a distribution must be disabled and deployed before it can be deleted; "
                                       "the cdn role does that for its own, delete this one by hand",
        }
        if kind not in handlers:
            raise Kept(reasons.get(kind, f"the sweep has no deleter for {kind}; delete it by hand"))
        try:
            handlers[kind]()
        except is_boto3_error_code(NOT_FOUND):
            raise Gone()


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            resources=dict(type="list", elements="str", required=True),
            keep=dict(type="list", elements="dict", default=[], options=dict(
                pattern=dict(type="str", required=True),
                why=dict(type="str", required=True),
            )),
            secret_recovery_window_days=dict(type="int", default=7, no_log=False),
            wait_timeout=dict(type="int", default=1200),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["secret_recovery_window_days"] != 0 and not 7 <= p["secret_recovery_window_days"] <= 30:
        module.fail_json(msg=f"secret_recovery_window_days is {p['secret_recovery_window_days']}; allowed: 0, or 7 to 30.")
    try:
        rules = [(re.compile(r["pattern"]), r["why"]) for r in p["keep"]]
    except re.error as e:
        module.fail_json(msg=f"keep holds an invalid pattern: {e}")

    sweep = Sweep(module)
    deleted, kept, gone = [], [], []
    todo = []
    for arn in sorted(set(p["resources"])):
        _service, kind, ident = parse_arn(arn)
        why = next((w for pattern, w in rules if pattern.search(arn)), None)
        if why:
            kept.append(dict(arn=arn, resource=label(kind, ident), why=why))
        else:
            todo.append((ORDER.get(kind, 0), arn, kind, ident))
    todo.sort()

    # Two passes: what was still in use by another stray (DependencyViolation) gets a second try.
    for attempt in (1, 2):
        retry = []
        for item in todo:
            _order, arn, kind, ident = item
            entry = dict(arn=arn, resource=label(kind, ident))
            try:
                sweep.delete(kind, ident, arn)
                deleted.append(entry)
            except Gone:
                gone.append(arn)
            except Kept as e:
                kept.append(dict(entry, why=str(e)))
            except botocore.exceptions.ClientError as e:
                # Still used by another stray (DependencyViolation, ...): one more try after the
                # others; then it is reported with AWS's reason rather than failing the teardown.
                if attempt == 1:
                    retry.append(item)
                else:
                    error = e.response.get("Error", {})
                    kept.append(dict(entry, why=f"could not be deleted: {error.get('Code')}: {error.get('Message', e)}"))
            except botocore.exceptions.BotoCoreError as e:
                module.fail_json_aws(e, msg=f"Cannot delete {entry['resource']} ({arn})", deleted=deleted, kept=kept, gone=gone)
        todo = retry
        if not todo:
            break

    diff = dict(before=dict(resources=sorted(r["resource"] for r in deleted + kept)),
                after=dict(resources=sorted(r["resource"] for r in kept)))
    module.exit_json(changed=bool(deleted), deleted=deleted, kept=kept, gone=gone, diff=diff)


if __name__ == "__main__":
    main()
