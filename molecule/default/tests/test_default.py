"""Verify the local deploy: real emulator state, read with boto3, and the outputs playbook."""
import os


def test_outputs_playbook_prints_what_ssm_holds(host, aws):
    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    run = host.run(f"cd {project} && STREAM_SALES_STATE_DIR={project}/.state .venv/bin/ansible-playbook "
                   "playbooks/outputs.yml -i inventories/local -e outputs_format=json")
    assert run.rc == 0, run.stdout + run.stderr
    params = aws("ssm").get_parameters_by_path(Path="/stream-sales/local/outputs")["Parameters"]
    outputs = {p["Name"].rsplit("/", 1)[1]: p["Value"] for p in params}
    assert {"VPCId", "ImagesBucketName", "ImagesBucketURL", "DatabaseSecretArn", "JWTSecretArn"} <= set(outputs)
    # JSON escapes quotes (DatabaseConnectCommand): compare the values printed verbatim.
    for value in outputs.values():
        if '"' not in value:
            assert value in run.stdout


def test_network_matches_the_local_shape(aws):
    ec2 = aws("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["stream-sales-local-vpc"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    assert len(subnets) == 6
    nats = [n for n in ec2.describe_nat_gateways()["NatGateways"]
            if n["VpcId"] == vpc["VpcId"] and n["State"] == "available"]
    assert len(nats) == 1


def test_three_secrets_exist(aws):
    names = sorted(s["Name"] for s in aws("secretsmanager").list_secrets()["SecretList"] if "/local/" in s["Name"])
    assert names == ["stream-sales/local/database/credentials", "stream-sales/local/encryption/key",
                     "stream-sales/local/jwt/secret"]
