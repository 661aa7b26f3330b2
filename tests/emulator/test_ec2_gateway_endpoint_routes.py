"""Fix ec2.gateway_endpoint_routes_follow_its_route_tables: ModifyVpcEndpoint adds and removes the
endpoint's prefix-list route in the tables it adds and removes; DeleteVpcEndpoints removes it from
the tables that still have it, also when one was added later or deleted meanwhile."""
from __future__ import annotations


def endpoint_routes(ec2, table_id, endpoint_id):
    [table] = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"]
    return [r for r in table["Routes"] if r.get("GatewayId") == endpoint_id]


def test_routes_follow_the_endpoints_tables(aws):
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.67.0.0/16")["Vpc"]["VpcId"]
    first, second, third = (ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"] for _i in range(3))
    endpoint = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Gateway",
                                       RouteTableIds=[first])["VpcEndpoint"]
    endpoint_id = endpoint["VpcEndpointId"]
    [route] = endpoint_routes(ec2, first, endpoint_id)
    assert route["DestinationPrefixListId"].startswith("pl-")

    ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, AddRouteTableIds=[second, third])
    assert [r["DestinationPrefixListId"] for r in endpoint_routes(ec2, second, endpoint_id)] == [route["DestinationPrefixListId"]]
    ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, RemoveRouteTableIds=[first])
    assert endpoint_routes(ec2, first, endpoint_id) == []
    [described] = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
    assert sorted(described["RouteTableIds"]) == sorted([second, third])

    ec2.delete_route_table(RouteTableId=third)  # deleted while the endpoint still lists it
    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint_id])
    assert endpoint_routes(ec2, second, endpoint_id) == []
    live = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                               {"Name": "vpc-endpoint-state", "Values": ["available", "pending"]}])
    assert live["VpcEndpoints"] == []
