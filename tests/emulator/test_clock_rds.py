"""The scaled clock on RDS (scripts/emulator_fixes/clock.py: rds_states_follow_the_clock).

Clusters and instances are `creating`, `modifying`, `deleting` for their typical AWS time times
the clock factor; an instance is never available before its cluster; what AWS refuses while a
resource is busy is refused.
"""
from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError
from clockwork import watch

FACTOR = 0.01  # cluster 1.2 s, instance 4.8 s, modify 0.6 s, deletes 6 s / 0.6 s


def cluster_status(rds, ident):
    return rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0]["Status"]


def instance_status(rds, ident):
    return rds.describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]["DBInstanceStatus"]


def create(rds, ident):
    """Create a cluster and its instance; the states the two create answers report."""
    cluster = rds.create_db_cluster(DBClusterIdentifier=ident, Engine="aurora-postgresql", MasterUsername="dbadmin",
                                    MasterUserPassword="a-long-password-1")["DBCluster"]
    instance = rds.create_db_instance(DBInstanceIdentifier=f"{ident}-1", DBClusterIdentifier=ident,
                                      Engine="aurora-postgresql", DBInstanceClass="db.serverless")["DBInstance"]
    return cluster["Status"], instance["DBInstanceStatus"]


def test_cluster_and_instance_are_creating_for_their_time(aws, set_clock):
    set_clock(FACTOR)
    rds = aws("rds")
    # The answers, not a first describe: on a loaded machine that may come after the cluster's 1.2 s.
    since = time.monotonic()
    assert create(rds, "clock-create") == ("creating", "creating")
    states = watch(lambda: (cluster_status(rds, "clock-create"), instance_status(rds, "clock-create-1")),
                   lambda s: s == ("available", "available"), limit=30, since=since)
    assert ("available", "creating") in [s for ignored, s in states]  # the cluster first
    cluster_ready = next(t for t, s in states if s[0] == "available")
    assert 1.0 <= cluster_ready  # 120 s x 0.01, never early
    assert states[-1][0] >= 4.5  # 480 s x 0.01


def test_a_cluster_first_read_after_its_creating_time_is_available(aws, set_clock):
    """Nobody reads the status while the cluster is creating (a deploy launches it and goes on):
    the first read after its time says available (moto's own status said creating once more)."""
    set_clock(FACTOR)
    rds = aws("rds")
    rds.create_db_cluster(DBClusterIdentifier="clock-unread", Engine="aurora-postgresql", MasterUsername="dbadmin",
                          MasterUserPassword="a-long-password-1")
    time.sleep(120 * FACTOR + 0.5)
    assert cluster_status(rds, "clock-unread") == "available"


def test_modify_is_refused_while_creating_then_modifying(aws, set_clock):
    set_clock(FACTOR)
    rds = aws("rds")
    create(rds, "clock-modify")
    with pytest.raises(ClientError) as caught:
        rds.modify_db_cluster(DBClusterIdentifier="clock-modify", BackupRetentionPeriod=7, ApplyImmediately=True)
    assert caught.value.response["Error"]["Code"] == "InvalidDBClusterStateFault"
    watch(lambda: cluster_status(rds, "clock-modify"), lambda s: s == "available", limit=20)
    since = time.monotonic()
    answer = rds.modify_db_cluster(DBClusterIdentifier="clock-modify", BackupRetentionPeriod=7, ApplyImmediately=True)
    assert answer["DBCluster"]["Status"] == "modifying"
    states = watch(lambda: cluster_status(rds, "clock-modify"), lambda s: s == "available", limit=20, since=since)
    assert states[-1][0] >= 0.5  # 60 s x 0.01


def test_deleting_before_gone(aws, set_clock):
    set_clock(FACTOR)
    rds = aws("rds")
    create(rds, "clock-delete")
    watch(lambda: instance_status(rds, "clock-delete-1"), lambda s: s == "available", limit=30)
    rds.delete_db_instance(DBInstanceIdentifier="clock-delete-1", SkipFinalSnapshot=True)
    assert instance_status(rds, "clock-delete-1") == "deleting"
    with pytest.raises(ClientError) as caught:
        rds.delete_db_instance(DBInstanceIdentifier="clock-delete-1", SkipFinalSnapshot=True)
    assert caught.value.response["Error"]["Code"] == "InvalidDBInstanceState"
    # As on AWS, a cluster whose instances are all being deleted may be deleted.
    rds.delete_db_cluster(DBClusterIdentifier="clock-delete", SkipFinalSnapshot=True)
    assert cluster_status(rds, "clock-delete") == "deleting"
    with pytest.raises(ClientError) as caught:
        rds.create_db_cluster(DBClusterIdentifier="clock-delete", Engine="aurora-postgresql",
                              MasterUsername="dbadmin", MasterUserPassword="a-long-password-1")
    assert caught.value.response["Error"]["Code"] == "DBClusterAlreadyExistsFault"

    def gone():
        try:
            return cluster_status(rds, "clock-delete")
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    watch(gone, lambda s: s == "DBClusterNotFoundFault", limit=20)


def test_without_clock_everything_is_instant(aws, set_clock):
    set_clock(None)
    rds = aws("rds")
    create(rds, "clock-off")
    assert instance_status(rds, "clock-off-1") == "available"
    rds.delete_db_instance(DBInstanceIdentifier="clock-off-1", SkipFinalSnapshot=True)
    with pytest.raises(ClientError):
        instance_status(rds, "clock-off-1")
