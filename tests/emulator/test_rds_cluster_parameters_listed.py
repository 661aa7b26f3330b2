"""rds.cluster_parameters_listed_by_family: DescribeDBClusterParameters lists the family's parameters."""
from __future__ import annotations

import uuid


def parameters(rds, group):
    pages = rds.get_paginator("describe_db_cluster_parameters").paginate(DBClusterParameterGroupName=group)
    return {p["ParameterName"]: p for page in pages for p in page["Parameters"]}


def test_a_fresh_group_lists_rds_force_ssl_and_a_set_value_stays_pending_reboot(aws):
    rds = aws("rds")
    group = "t-params-" + uuid.uuid4().hex[:6]
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=group, DBParameterGroupFamily="aurora-postgresql16",
                                          Description="t")
    try:
        fresh = parameters(rds, group)["rds.force_ssl"]
        assert (fresh["ParameterValue"], fresh["Source"], fresh["IsModifiable"], fresh["ApplyType"]) == \
            ("0", "engine-default", True, "dynamic")
        rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=group, Parameters=[
            {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "immediate"}])
        changed = parameters(rds, group)["rds.force_ssl"]
        assert (changed["ParameterValue"], changed["Source"], changed["ApplyMethod"]) == ("1", "user", "pending-reboot")
    finally:
        rds.delete_db_cluster_parameter_group(DBClusterParameterGroupName=group)
