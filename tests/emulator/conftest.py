"""Tests of the emulator's named fixes (scripts/emulator_fixes), against the emulator alone.

Each test file covers one fix: it talks to the emulator with boto3 (or psycopg) exactly as a
client of AWS would, and asserts what AWS answers. No playbook, no product code.
"""
from __future__ import annotations

import uuid

import pytest
from front_control import control


@pytest.fixture
def aurora(aws):
    """make(**CreateDBCluster args) -> an Aurora PostgreSQL cluster (DBCluster), deleted afterwards
    with its instances. Defaults: engine 16.6, master dbadmin, database streams, Data API on."""
    rds = aws("rds")
    made = []

    def make(**kwargs):
        args = dict(DBClusterIdentifier=f"t-{uuid.uuid4().hex[:10]}", Engine="aurora-postgresql",
                    EngineVersion="16.6", MasterUsername="dbadmin", MasterUserPassword="FirstPassword123",
                    DatabaseName="streams", EnableHttpEndpoint=True,
                    ServerlessV2ScalingConfiguration={"MinCapacity": 0, "MaxCapacity": 4})
        args.update(kwargs)
        args = {k: v for k, v in args.items() if v is not None}  # None: leave the argument out
        cluster = rds.create_db_cluster(**args)["DBCluster"]
        made.append(cluster["DBClusterIdentifier"])
        return cluster

    yield make
    for identifier in made:
        try:
            for member in rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]["DBClusterMembers"]:
                rds.delete_db_instance(DBInstanceIdentifier=member["DBInstanceIdentifier"], SkipFinalSnapshot=True)
            rds.delete_db_cluster(DBClusterIdentifier=identifier, SkipFinalSnapshot=True)
        except rds.exceptions.DBClusterNotFoundFault:
            pass


@pytest.fixture
def login():
    """login(cluster, password, user=dbadmin, dbname=streams, **libpq options) -> a psycopg session
    on the cluster's endpoint, as a client of Aurora opens one (TLS required unless told)."""
    import psycopg

    def connect(cluster: dict, password: str, user: str = "dbadmin", dbname: str = "streams", **options):
        options.setdefault("sslmode", "require")
        return psycopg.connect(host=cluster["Endpoint"], port=cluster["Port"], user=user, password=password,
                               dbname=dbname, connect_timeout=5, autocommit=True, **options)

    return connect


@pytest.fixture
def set_faults(endpoint):
    """set_faults("throttle=1", seed=3): faults on the front door for this test, off afterwards."""
    def apply(spec: str, seed: int = 0) -> dict:
        return control(endpoint, "faults", {"spec": spec, "seed": seed})

    yield apply
    control(endpoint, "faults", {"spec": "", "seed": 0})


@pytest.fixture
def set_clock(endpoint):
    """set_clock(0.01): the scaled AWS clock for this test, instant again afterwards."""
    def apply(factor) -> dict:
        return control(endpoint, "clock", {"factor": factor})

    yield apply
    control(endpoint, "clock", {"factor": None})


@pytest.fixture(scope="session")
def direct(emulator):
    """direct('ec2'): a boto3 client on moto itself, past the front door (no faults ever)."""
    import boto3

    def make(service: str, region: str = "us-east-1"):
        return boto3.client(service, endpoint_url=emulator["aws_direct_url"], region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    return make
