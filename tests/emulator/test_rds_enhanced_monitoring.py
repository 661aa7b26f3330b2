"""Fix rds.enhanced_monitoring_reported: EnhancedMonitoringResourceArn with MonitoringInterval > 0."""
from __future__ import annotations

import json


def test_monitored_instance_reports_its_metrics_stream(aws, aurora):
    rds, iam = aws("rds"), aws("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="emu-rds-monitoring", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    name = aurora()["DBClusterIdentifier"]
    rds.create_db_instance(DBInstanceIdentifier=f"{name}-m", DBClusterIdentifier=name, Engine="aurora-postgresql",
                           DBInstanceClass="db.serverless", MonitoringInterval=60, MonitoringRoleArn=role)
    rds.create_db_instance(DBInstanceIdentifier=f"{name}-p", DBClusterIdentifier=name, Engine="aurora-postgresql",
                           DBInstanceClass="db.serverless")
    monitored = rds.describe_db_instances(DBInstanceIdentifier=f"{name}-m")["DBInstances"][0]
    assert monitored["MonitoringInterval"] == 60
    assert monitored["EnhancedMonitoringResourceArn"] == (
        f"arn:aws:logs:us-east-1:123456789012:log-group:RDSOSMetrics:log-stream:{monitored['DbiResourceId']}")
    assert "EnhancedMonitoringResourceArn" not in rds.describe_db_instances(DBInstanceIdentifier=f"{name}-p")["DBInstances"][0]
