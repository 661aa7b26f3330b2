"""rds.automated_cluster_snapshots_deleted_with_the_cluster."""
from __future__ import annotations


def snapshots(rds, cluster_id, kind):
    return [s["DBClusterSnapshotIdentifier"] for s in rds.describe_db_cluster_snapshots(
        DBClusterIdentifier=cluster_id, SnapshotType=kind)["DBClusterSnapshots"]]


def test_automated_snapshots_go_with_the_cluster_manual_ones_stay(aurora, aws):
    rds = aws("rds")
    name = aurora()["DBClusterIdentifier"]
    assert snapshots(rds, name, "automated")  # the cluster's first automated backup
    rds.create_db_cluster_snapshot(DBClusterIdentifier=name, DBClusterSnapshotIdentifier=name + "-manual")
    rds.delete_db_cluster(DBClusterIdentifier=name, FinalDBSnapshotIdentifier=name + "-final")
    assert snapshots(rds, name, "automated") == []
    assert sorted(snapshots(rds, name, "manual")) == [name + "-final", name + "-manual"]
    for snapshot in (name + "-final", name + "-manual"):
        rds.delete_db_cluster_snapshot(DBClusterSnapshotIdentifier=snapshot)


def test_a_cluster_recreated_within_the_minute(aurora, aws):
    """moto named automated snapshots by the minute: recreating the cluster collided with them."""
    rds = aws("rds")
    name = aurora()["DBClusterIdentifier"]
    rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)
    again = aurora(DBClusterIdentifier=name)
    assert again["DBClusterIdentifier"] == name and snapshots(rds, name, "automated")
