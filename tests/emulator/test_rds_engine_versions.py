"""Fix rds.engine_versions_described: DescribeDBEngineVersions lists Aurora PostgreSQL's versions."""
from __future__ import annotations


def test_versions_listed_and_filtered(aws):
    rds = aws("rds")
    listed = rds.describe_db_engine_versions(Engine="aurora-postgresql")["DBEngineVersions"]
    versions = {v["EngineVersion"] for v in listed}
    assert "16.6" in versions and "17.4" in versions
    assert all(v["Engine"] == "aurora-postgresql" and v["Status"] == "available" for v in listed)
    one = rds.describe_db_engine_versions(Engine="aurora-postgresql", EngineVersion="16.6")["DBEngineVersions"]
    assert [(v["EngineVersion"], v["DBParameterGroupFamily"]) for v in one] == [("16.6", "aurora-postgresql16")]
    family = rds.describe_db_engine_versions(Engine="aurora-postgresql", DBParameterGroupFamily="aurora-postgresql17")
    assert {v["EngineVersion"] for v in family["DBEngineVersions"]} == {"17.4", "17.5", "17.6"}
    assert rds.describe_db_engine_versions(Engine="aurora-postgresql", EngineVersion="9.6.1")["DBEngineVersions"] == []
