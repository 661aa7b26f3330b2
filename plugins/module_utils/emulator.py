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


def release_nat_address(module, ec2, address):
    """moto keeps a NAT gateway's Elastic IP associated after the gateway is deleted.

    AWS disassociates it with the deletion; on the emulator we do it ourselves so the
    address can be released as on AWS.
    """
    if address.get("AssociationId") and is_emulator(module):
        ec2.disassociate_address(aws_retry=True, AssociationId=address["AssociationId"])
        return True
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
