"""rds.data_api_switch_reported: HttpEndpointEnabled for Serverless v2 clusters, Enable/DisableHttpEndpoint."""
from __future__ import annotations


def described(aws, cluster):
    return aws("rds").describe_db_clusters(DBClusterIdentifier=cluster["DBClusterIdentifier"])["DBClusters"][0]


def test_create_with_the_data_api_reports_it(aurora, aws):
    cluster = aurora(EnableHttpEndpoint=True)
    assert cluster["EngineMode"] == "provisioned" and cluster["HttpEndpointEnabled"] is True
    assert described(aws, cluster)["HttpEndpointEnabled"] is True
    assert described(aws, aurora(EnableHttpEndpoint=False))["HttpEndpointEnabled"] is False


def test_enable_and_disable_operations(aurora, aws):
    cluster = aurora(EnableHttpEndpoint=None)
    assert described(aws, cluster)["HttpEndpointEnabled"] is False
    rds = aws("rds")
    answer = rds.enable_http_endpoint(ResourceArn=cluster["DBClusterArn"])
    assert (answer["ResourceArn"], answer["HttpEndpointEnabled"]) == (cluster["DBClusterArn"], True)
    assert described(aws, cluster)["HttpEndpointEnabled"] is True
    assert rds.disable_http_endpoint(ResourceArn=cluster["DBClusterArn"])["HttpEndpointEnabled"] is False
    assert described(aws, cluster)["HttpEndpointEnabled"] is False


def test_unknown_cluster(aws):
    rds = aws("rds")
    try:
        rds.enable_http_endpoint(ResourceArn="arn:aws:rds:us-east-1:123456789012:cluster:nowhere")
    except rds.exceptions.DBClusterNotFoundFault:
        return
    raise AssertionError("EnableHttpEndpoint on an unknown cluster did not fail")
