"""The long fault suite (`make chaos SEEDS=N`): the whole stack, on the local inventory (dev's shape).

- N seeds of a fresh deploy at 20 % throttling: each converges in one run;
- N seeds of a fresh deploy with 5 % of answers lost after the call took effect: each converges
  within two runs;
- kill -9 at N seeded points of deploy, teardown, migrate and rotate_secrets: nothing keeps
  calling AWS, and a normal rerun (with -e break_lock=true only where the killed run held the
  lock) converges; AWSCURRENT still logs in after every rotation kill.
After each: resource counts by type equal a clean run's (read past the faults), and one more run
without faults reports changed=0 (a deploy; for migrate, a migrate; for a teardown, a teardown).
"""
from __future__ import annotations

import json

import psycopg
import pytest
from chaos_harness import DEPLOY_ARGS, census, differences, lock_held, rng, run_playbook, seeds

pytestmark = pytest.mark.chaos_long
ROTATE_ARGS = ("-e", "rotate=database,jwt")
DATABASE = "stream-sales/local/database/credentials"


@pytest.fixture(scope="module")
def clean(chaos, pg_admin_url):
    """Counts after a clean deploy and a clean teardown, and each playbook's task count."""
    chaos.reset()
    restore_roles(pg_admin_url)
    ref = {"tasks": {}}
    for name, args in (("deploy", DEPLOY_ARGS), ("migrate", ()), ("rotate_secrets", ROTATE_ARGS)):
        run = run_playbook(chaos, name, *args)
        assert run.rc == 0, run.failure()
        ref["tasks"][name] = run.tasks
    ref["deployed"] = census(chaos)
    ref["migrations"] = applied_migrations(chaos)
    run = run_playbook(chaos, "teardown")
    assert run.rc == 0, run.failure()
    ref["tasks"]["teardown"] = run.tasks
    ref["torn_down"] = census(chaos)
    restore_roles(pg_admin_url)
    yield ref
    restore_roles(pg_admin_url)


def restore_roles(admin_url: str) -> None:
    """Leave the database server as other test files expect it: dbadmin alone, acting as itself."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'streams'").fetchone():
            return
    with psycopg.connect(admin_url.rsplit("/", 1)[0] + "/streams", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'streams_owner'").fetchone():
            conn.execute("REASSIGN OWNED BY streams_owner TO dbadmin")
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'dbadmin'").fetchone():
            conn.execute("ALTER ROLE dbadmin RESET role")
        conn.execute("DROP ROLE IF EXISTS dbadmin_clone")
        conn.execute("DROP ROLE IF EXISTS streams_owner")


def current_credentials(chaos) -> dict:
    return json.loads(chaos.client("secretsmanager").get_secret_value(SecretId=DATABASE)["SecretString"])


def login(c: dict) -> bool:
    try:
        with psycopg.connect(host=c["host"], port=c["port"], user=c["username"], password=c["password"],
                             dbname=c["dbname"], connect_timeout=5) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def applied_migrations(chaos) -> int:
    c = current_credentials(chaos)
    with psycopg.connect(host=c["host"], port=c["port"], user=c["username"], password=c["password"],
                         dbname=c["dbname"], connect_timeout=5) as conn:
        return conn.execute("SELECT count(*) FROM _prisma_migrations WHERE finished_at IS NOT NULL").fetchone()[0]


def deployed_and_quiet(chaos, clean) -> None:
    chaos.faults("")
    assert differences(census(chaos), clean["deployed"]) == {}, "resource counts differ from a clean deploy's (got, clean)"
    again = run_playbook(chaos, "deploy", *DEPLOY_ARGS)
    assert again.rc == 0, again.failure()
    assert again.changed == 0, f"a deploy without faults afterwards changed {again.changed}"


@pytest.mark.parametrize("seed", seeds())
def test_throttled_deploy_converges_in_one_run(chaos, clean, seed):
    chaos.reset()
    chaos.faults("throttle=0.2", seed=seed)
    run = run_playbook(chaos, "deploy", *DEPLOY_ARGS)
    assert run.rc == 0, run.failure()
    deployed_and_quiet(chaos, clean)


@pytest.mark.parametrize("seed", seeds())
def test_lost_answers_converge_within_two_runs(chaos, clean, seed):
    chaos.reset()
    chaos.faults("lost=0.05", seed=seed)
    runs = [run_playbook(chaos, "deploy", *DEPLOY_ARGS)]
    if runs[-1].rc:
        runs.append(run_playbook(chaos, "deploy", *DEPLOY_ARGS))
    assert runs[-1].rc == 0, "\n".join(r.failure() for r in runs)
    deployed_and_quiet(chaos, clean)


# What the last passing kill point left: a clean deployed stack (after migrate or rotate_secrets).
LEFT = {"by": None}


def empty_database(chaos) -> None:
    """The app's database as a fresh deploy leaves it: no migration applied (what they made dropped)."""
    c = current_credentials(chaos)
    with psycopg.connect(host=c["host"], port=c["port"], user=c["username"], password=c["password"],
                         dbname=c["dbname"], connect_timeout=5, autocommit=True) as conn:
        conn.execute("DROP OWNED BY CURRENT_USER")
        assert conn.execute("SELECT to_regclass('_prisma_migrations')").fetchone() == (None,)


def start_from(chaos, clean, pg_admin_url, name) -> None:
    """The stack the killed run starts from.

    deploy: an empty account; teardown: a fresh deploy, migrated. migrate and rotate_secrets: a
    deployed stack - the one the previous point left, when that point passed (a no-change deploy
    came last), its counts still equal a clean deploy's and no lock is held (for migrate, only
    after another migrate point, its database emptied back to a fresh deploy's); else a fresh deploy.
    """
    left, LEFT["by"] = LEFT["by"], None
    if name in ("migrate", "rotate_secrets") and left in (name, "migrate") and not lock_held(chaos):
        chaos.faults("")
        if differences(census(chaos), clean["deployed"]) == {}:
            if name == "migrate":
                empty_database(chaos)
            return
    chaos.reset()
    restore_roles(pg_admin_url)
    if name != "deploy":
        ready = run_playbook(chaos, "deploy", *DEPLOY_ARGS)
        assert ready.rc == 0, ready.failure()
    if name == "teardown":
        migrated = run_playbook(chaos, "migrate")
        assert migrated.rc == 0, migrated.failure()


# Grouped by playbook, so that the migrate and rotate_secrets points can start from the stack the
# previous point left (start_from) rather than reset and deploy each time.
@pytest.mark.parametrize("point", seeds())
@pytest.mark.parametrize("name", ["deploy", "teardown", "migrate", "rotate_secrets"])
def test_killed_then_rerun(chaos, clean, play_and_kill, pg_admin_url, name, point):
    start_from(chaos, clean, pg_admin_url, name)
    args = {"deploy": DEPLOY_ARGS, "rotate_secrets": ROTATE_ARGS}.get(name, ())
    r = rng(name, point)
    killed = play_and_kill(name, r.randint(2, clean["tasks"][name]), r.uniform(0, 2), *args)
    where = f"{name} killed at [{killed.at_task}]"
    assert killed.survivors == [], f"{where}, left behind: {killed.survivors}"
    assert killed.calls_after == 0, f"{where}, {killed.calls_after} AWS calls after the kill"
    if name == "rotate_secrets":
        assert login(current_credentials(chaos)), f"{where}: AWSCURRENT does not log in"
    held = ("-e", "break_lock=true") if lock_held(chaos) else ()
    rerun = run_playbook(chaos, name, *args, *held)
    assert rerun.rc == 0, f"{where}; " + rerun.failure()
    if name == "teardown":
        assert differences(census(chaos), clean["torn_down"]) == {}, "counts differ from a clean teardown's"
        again = run_playbook(chaos, "teardown")
        assert again.rc == 0 and again.changed == 0, again.failure() if again.rc else f"changed {again.changed}"
        return
    if name == "rotate_secrets":
        assert login(current_credentials(chaos)), f"{where}, rerun: AWSCURRENT does not log in"
    if name == "migrate":
        assert applied_migrations(chaos) == clean["migrations"]
        again = run_playbook(chaos, "migrate")
        assert again.rc == 0 and again.changed == 0, again.failure() if again.rc else f"migrate changed {again.changed}"
    deployed_and_quiet(chaos, clean)
    LEFT["by"] = name
