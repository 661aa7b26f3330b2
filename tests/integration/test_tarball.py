"""The Galaxy tarball as a user gets it.

Built with `ansible-galaxy collection build`, it must hold only what users run, install into an
empty collections path, give ansible-builder a context whose requirements are ranges without
mitogen or the `ansible` meta-package, and - installed, with nothing of the repo around it -
deploy, migrate, verify and tear down dev in the emulator from a minimal inventory.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
NAME = f"{GALAXY['namespace']}.{GALAXY['name']}"

# What users run, and nothing else, at the tarball's top level.
SHIPPED = {"MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.md", "bindep.txt",
           "changelogs", "docs", "meta", "playbooks", "plugins", "roles"}
NEVER = ("tests/", "molecule/", "scripts/", "example-app/", "inventories/", "group_vars/", ".ci/", ".ansible-lint",
         ".ansible/", ".state/", ".venv/", ".collections/", "changelogs/fragments/", "build/", "context/")
PLAYBOOKS = ("deploy", "migrate", "verify", "rotate_secrets", "rollback", "teardown", "outputs")


def clean_env(**extra: str) -> dict:
    """The environment of a user's shell: no repo ansible.cfg, no repo collections path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", PATH=f"{BIN}:{env.get('PATH', '')}", **extra)
    return env


def run(cmd: list, cwd: Path, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", out, ROOT], cwd=out)
    (built,) = out.glob("*.tar.gz")
    assert built.name == f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
    return built


@pytest.fixture(scope="module")
def members(tarball) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(tarball) as tar:
        return {m.name: m for m in tar.getmembers()}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A user's folder, outside the repo: its own collections path and inventory."""
    return tmp_path_factory.mktemp("site")


@pytest.fixture(scope="module")
def installed(tarball, site) -> Path:
    path = site / "collections"
    # --no-deps: amazon.aws, community.aws and community.postgresql come with the venv's
    # `ansible` package (Galaxy is not reachable from the tests). --force: a copy of the
    # collection in ~/.ansible/collections (left by ansible-lint, say) otherwise makes
    # ansible-galaxy answer "Nothing to do" and install nothing here.
    run([BIN / "ansible-galaxy", "collection", "install", "--force", "--no-deps", "-p", path, tarball], cwd=site)
    return path


def test_tarball_holds_only_what_users_run(members):
    files = sorted(n for n, m in members.items() if m.isfile())
    assert {n.split("/")[0] for n in members} == SHIPPED
    assert not [n for n in files if n.startswith(NEVER) or "__pycache__" in n or n.endswith((".pyc", ".tar.gz"))]
    assert {f"playbooks/{p}.yml" for p in PLAYBOOKS} <= set(files)
    for needed in ("meta/runtime.yml", "meta/execution-environment.yml", "meta/ee-requirements.txt", "bindep.txt",
                   "docs/variables.md", "changelogs/changelog.yaml", "plugins/filter/subnet_layout.yml"):
        assert needed in files
    # Every role ships its tasks, defaults and argument specs; nothing else of the repo does.
    roles = {n.split("/")[1] for n in files if n.startswith("roles/")}
    assert roles == {p.name for p in (ROOT / "roles").iterdir() if p.is_dir()}
    assert all(f"roles/{r}/meta/argument_specs.yml" in files for r in roles)


def test_tarball_installs_into_an_empty_collections_path(installed, site):
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=str(installed))
    listed = run([BIN / "ansible-galaxy", "collection", "list", NAME, "-p", installed], cwd=site, env=env).stdout
    assert f"{NAME} {GALAXY['version']}" in " ".join(listed.split())
    root = installed / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    assert (root / "playbooks" / "deploy.yml").is_file()
    assert not (root / "tests").exists() and not (root / "scripts").exists()
    # The filters' documentation, and a role's argument spec, as ansible-doc shows them.
    doc = json.loads(run([BIN / "ansible-doc", "-t", "filter", "--json", f"{NAME}.subnet_layout"],
                         cwd=site, env=env).stdout)
    assert doc[f"{NAME}.subnet_layout"]["doc"]["positional"] == "_input, az_names, prefix"
    listed = run([BIN / "ansible-doc", "-t", "filter", "-l", NAME], cwd=site, env=env).stdout
    documented = {p.stem for p in (ROOT / "plugins" / "filter").glob("*.yml")}
    assert {line.split()[0][len(NAME) + 1:] for line in listed.splitlines() if line.startswith(NAME + ".")} == documented


def test_execution_environment_context(tarball, installed, tmp_path):
    # ansible-builder takes the tarball from build/ beside the definition (`make ee-context`).
    shutil.copy(ROOT / "execution-environment.yml", tmp_path)
    (tmp_path / "build").mkdir()
    shutil.copy(tarball, tmp_path / "build" / "stream_sales-platform.tar.gz")
    run([BIN / "ansible-builder", "create", "-f", "execution-environment.yml", "-c", "context",
         "--output-filename", "Containerfile"], cwd=tmp_path)
    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect.py introspect" in containerfile
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    (requirement,) = requirements["collections"]
    shipped = context / "_build" / "collections" / "stream_sales-platform.tar.gz"
    assert requirement == {"name": "/build/collections/stream_sales-platform.tar.gz", "type": "file"}
    assert shipped.read_bytes() == tarball.read_bytes()

    # The requirements the image build gathers (ansible-builder introspect, as in the
    # Containerfile) from the installed collection and the three it depends on.
    scan = tmp_path / "scan" / "ansible_collections"
    (scan / "community").mkdir(parents=True)
    shutil.copytree(installed / "ansible_collections" / GALAXY["namespace"], scan / GALAXY["namespace"])
    import ansible_collections.amazon.aws as amazon_aws

    upstream = Path(amazon_aws.__path__[0]).parents[1]
    (scan / "amazon").symlink_to(upstream / "amazon")
    for name in GALAXY["dependencies"]:
        namespace, collection = name.split(".")
        if namespace == "community":
            (scan / "community" / collection).symlink_to(upstream / "community" / collection)
    pip_file = tmp_path / "requirements.txt"
    run([BIN / "ansible-builder", "introspect", "--exclude-pip-reqs", context / "_build" / "exclude-requirements.txt",
         "--write-pip", pip_file, "--write-bindep", tmp_path / "bindep.txt", tmp_path / "scan"], cwd=tmp_path)
    lines = [line.split("#")[0].strip() for line in pip_file.read_text().splitlines() if line.split("#")[0].strip()]
    ours = [line.split("#")[0].strip() for line in pip_file.read_text().splitlines() if f"collection {NAME}" in line]
    names = {line.split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower() for line in lines}
    assert {"boto3", "botocore", "psycopg", "pglast"} <= names
    assert "mitogen" not in names and "ansible" not in names and "psycopg2-binary" not in names
    assert ours and all(">=" in line and "==" not in line for line in ours), ours
    assert "nodejs [platform:rpm]" in (tmp_path / "bindep.txt").read_text()


# --- The installed collection, run as a user and as AWX would, against the emulator --------
# Three jobs and a teardown of a whole dev stack: the long tier (`make test-all`).

ENV = "dev"
REGION = "us-east-1"
APP_BUILD = ROOT / "example-app" / ".open-next"
MIGRATIONS = ROOT / "example-app" / "prisma" / "migrations"


@pytest.fixture(scope="module")
def inventory(site, emulator) -> Path:
    """The minimal inventory: the environment, the region, and where AWS is (the emulator)."""
    path = site / "inventory.yml"
    host = {"stream_sales_env": ENV, "aws_region": REGION, "aws_endpoint_url": emulator["aws_endpoint_url"],
            # The emulator has no CloudFront edge to fetch through; verify invokes the function.
            "app_lambda_verify_through_cloudfront": False}
    path.write_text(yaml.safe_dump({"all": {"children": {"stream_sales": {"hosts": {f"stream-sales-{ENV}": host}}}}}))
    return path


def user_env(installed: Path) -> dict:
    """A user's shell: the installed collection, dummy AWS keys (the emulator takes any)."""
    return clean_env(ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_PYTHON_INTERPRETER=str(BIN / "python"),
                     AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")


def runner_job(site: Path, installed: Path, inventory: Path, playbook: str, **extravars) -> dict:
    """Run one playbook as an AWX job: a project holding a one-line wrapper playbook, run by
    ansible-runner's Python interface; return the job's events, read from its artifacts."""
    import ansible_runner

    private = site / f"job-{playbook}"
    (private / "project").mkdir(parents=True, exist_ok=True)
    (private / "project" / f"{playbook}.yml").write_text(yaml.safe_dump(
        [{"name": playbook, "ansible.builtin.import_playbook": f"{NAME}.{playbook}"}], sort_keys=False))
    job = ansible_runner.run(private_data_dir=str(private), playbook=f"{playbook}.yml", inventory=str(inventory),
                             extravars=extravars, envvars=user_env(installed), quiet=True, ident="job")
    files = sorted((private / "artifacts" / "job" / "job_events").glob("*.json"), key=lambda p: int(p.name.split("-")[0]))
    events = [json.loads(p.read_text()) for p in files]
    stdout = (private / "artifacts" / "job" / "stdout").read_text()
    assert job.status == "successful" and job.rc == 0, stdout[-6000:]
    return {"runner": job, "events": events, "stdout": stdout}


def changed_tasks(events: list[dict]) -> dict[str, int]:
    """Task name -> how many of its results (loop items included) changed."""
    counts: dict[str, int] = {}
    for event in events:
        if event["event"] == "runner_on_ok":
            data = event["event_data"]
            results = data["res"].get("results") or [data["res"]]
            counts[data["task"]] = counts.get(data["task"], 0) + sum(1 for r in results if r.get("changed"))
    return counts


def outputs_of(events: list[dict]) -> dict:
    """The stack outputs as the deploy recorded them, from the job's events."""
    found: dict = {}
    for event in events:
        res = event.get("event_data", {}).get("res") or {}
        for candidate in (res.get("outputs"), (res.get("ansible_facts") or {}).get("stream_sales_outputs")):
            if isinstance(candidate, dict) and "VPCId" in candidate:
                found = candidate
    return found


@pytest.fixture(scope="module")
def released(site, installed, inventory, endpoint, aws):
    """The release workflow of docs/awx.md on an empty account: deploy -> migrate -> verify."""
    from harness import reset_emulator

    reset_emulator(endpoint)
    app = {"app_build_dir": str(APP_BUILD)}
    database = {"migrations_dir": str(MIGRATIONS)}
    return {"deploy": runner_job(site, installed, inventory, "deploy", **app),
            "migrate": runner_job(site, installed, inventory, "migrate", **database),
            "verify": runner_job(site, installed, inventory, "verify", **database, **app)}


@pytest.mark.slow
def test_runner_job_events_show_what_the_deploy_changed(released, aws):
    events = released["deploy"]["events"]
    stats = [e for e in events if e["event"] == "playbook_on_stats"][-1]["event_data"]
    assert stats["changed"].get(f"stream-sales-{ENV}", 0) > 0 and not stats["failures"]
    changed = changed_tasks(events)
    vpc_tasks = [task for task, n in changed.items() if n and "VPC" in task]
    assert vpc_tasks, sorted(t for t, n in changed.items() if n)
    outputs = outputs_of(events)
    vpcs = aws("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"stream-sales-{ENV}-vpc"]}])["Vpcs"]
    assert [v["VpcId"] for v in vpcs] == [outputs["VPCId"]]
    assert outputs["ImagesBucketName"] in {b["Name"] for b in aws("s3").list_buckets()["Buckets"]}
    secret = aws("secretsmanager").describe_secret(SecretId=f"stream-sales/{ENV}/database/credentials")
    assert secret["ARN"] == outputs["DatabaseSecretArn"]
    # Only ARNs and names travel: no secret value in any event.
    value = aws("secretsmanager").get_secret_value(SecretId=secret["ARN"])["SecretString"]
    password = json.loads(value)["password"]
    assert password not in json.dumps(events)


@pytest.mark.slow
def test_migrate_and_verify_jobs_reach_the_database(released, emulator):
    import psycopg

    migrate = changed_tasks(released["migrate"]["events"])
    assert sum(migrate.values()) > 0
    applied = sorted(p.name for p in MIGRATIONS.iterdir() if p.is_dir())
    with psycopg.connect(emulator["pg_admin_url"].rsplit("/", 1)[0] + "/streams") as conn:
        rows = conn.execute("SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL "
                            "AND rolled_back_at IS NULL ORDER BY migration_name").fetchall()
    assert [r[0] for r in rows] == applied
    assert sum(changed_tasks(released["verify"]["events"]).values()) == 0


@pytest.mark.slow
def test_teardown_from_the_installed_collection_leaves_nothing(released, site, installed, inventory, aws):
    proc = run([BIN / "ansible-playbook", f"{NAME}.teardown", "-i", inventory], cwd=site, env=user_env(installed))
    assert "failed=0" in proc.stdout
    arns = [r["ResourceARN"] for r in aws("resourcegroupstaggingapi").get_resources(
        TagFilters=[{"Key": "Environment", "Values": [ENV]}, {"Key": "Project", "Values": ["StreamSales"]}])["ResourceTagMappingList"]]
    # AWS (and the emulator) list a deleted NAT gateway, in state `deleted`, for an hour.
    deleted = {n["NatGatewayId"] for n in aws("ec2").describe_nat_gateways()["NatGateways"] if n["State"] == "deleted"}
    # Kept on purpose, as test_deploy's teardown checks: the history (docs/history.md) and the
    # KMS key, its deletion scheduled (AWS deletes a key 7 days later at the soonest).
    key = aws("kms").describe_key(KeyId=f"alias/stream-sales-{ENV}")["KeyMetadata"]
    assert key["KeyState"] == "PendingDeletion"
    history = f"arn:aws:dynamodb:us-east-1:123456789012:table/stream-sales-{ENV}-history"
    assert sorted(a for a in arns if a.rsplit("/", 1)[-1] not in deleted) == sorted([key["Arn"], history])
    assert aws("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"stream-sales-{ENV}-vpc"]}])["Vpcs"] == []
