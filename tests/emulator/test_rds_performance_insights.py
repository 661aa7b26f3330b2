"""rds.performance_insights_reported: PerformanceInsightsEnabled and its settings on instances."""
from __future__ import annotations


def test_reported_on_create_and_modify(aurora, aws):
    cluster = aurora()
    rds = aws("rds")
    name = cluster["DBClusterIdentifier"]
    rds.create_db_instance(DBInstanceIdentifier=name + "-w", DBClusterIdentifier=name, Engine="aurora-postgresql",
                           DBInstanceClass="db.serverless", EnablePerformanceInsights=True)
    rds.create_db_instance(DBInstanceIdentifier=name + "-r", DBClusterIdentifier=name, Engine="aurora-postgresql",
                           DBInstanceClass="db.serverless")
    writer = rds.describe_db_instances(DBInstanceIdentifier=name + "-w")["DBInstances"][0]
    assert writer["PerformanceInsightsEnabled"] is True
    assert writer["PerformanceInsightsRetentionPeriod"] == 7
    assert writer["PerformanceInsightsKMSKeyId"].startswith("arn:aws:kms:us-east-1:")
    reader = rds.describe_db_instances(DBInstanceIdentifier=name + "-r")["DBInstances"][0]
    assert reader["PerformanceInsightsEnabled"] is False and "PerformanceInsightsRetentionPeriod" not in reader

    rds.modify_db_instance(DBInstanceIdentifier=name + "-r", EnablePerformanceInsights=True,
                           PerformanceInsightsRetentionPeriod=31, ApplyImmediately=True)
    reader = rds.describe_db_instances(DBInstanceIdentifier=name + "-r")["DBInstances"][0]
    assert (reader["PerformanceInsightsEnabled"], reader["PerformanceInsightsRetentionPeriod"]) == (True, 31)
    rds.modify_db_instance(DBInstanceIdentifier=name + "-w", EnablePerformanceInsights=False, ApplyImmediately=True)
    assert rds.describe_db_instances(DBInstanceIdentifier=name + "-w")["DBInstances"][0]["PerformanceInsightsEnabled"] is False
