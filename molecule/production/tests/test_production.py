"""Verify the production-sized deploy against the emulator."""


def test_three_azs_two_nat_gateways_and_flow_logs(aws):
    ec2 = aws("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["stream-sales-production-vpc"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) == 3 and len(subnets) == 9
    nats = [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["VpcId"] == vpc["VpcId"] and n["State"] == "available"]
    assert len(nats) == 2
    assert ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc["VpcId"]]}])["FlowLogs"]


def test_images_bucket_versioned_with_lifecycle(aws):
    s3 = aws("s3")
    bucket = "stream-sales-production-images-123456789012"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["Status"] == "Enabled"
