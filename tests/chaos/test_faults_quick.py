"""The fault suite's quick subset, inside `make test`: two seeds, the kms, network, secrets and storage roles.

Those roles hold most of the creates a resend can duplicate (subnets, route tables, NAT gateways,
Elastic IPs, security groups, secrets, buckets) and deploy in about a minute. Each scenario
starts from an empty account and ends with the resource counts of a clean deploy (read past the
faults) and a rerun without faults that reports changed=0. `make chaos` runs the whole stack.
"""
from __future__ import annotations

import pytest
from chaos_harness import census, differences, lock_held, rng, run_playbook

TAGS = ("--tags", "kms,network,secrets,storage")
SEED = 1
SEEDS = (1, 2)


@pytest.fixture(scope="module")
def clean(chaos) -> dict:
    """The counts and task count of a clean deploy of the quick roles."""
    chaos.reset()
    run = run_playbook(chaos, "deploy", *TAGS)
    assert run.rc == 0, run.failure()
    return {"census": census(chaos), "tasks": run.tasks}


def converged(chaos, clean) -> None:
    chaos.faults("")
    assert differences(census(chaos), clean["census"]) == {}, "resource counts differ from a clean deploy's (got, clean)"
    again = run_playbook(chaos, "deploy", *TAGS)
    assert again.rc == 0, again.failure()
    assert again.changed == 0, f"a rerun without faults changed {again.changed}"


@pytest.mark.parametrize("seed", SEEDS)
def test_throttled_and_lost_answers_converge(chaos, clean, seed):
    """20 % throttled and 5 % of answers lost (after the call took effect): converged within two runs."""
    chaos.reset()
    chaos.faults("throttle=0.2,lost=0.05", seed=seed)
    runs = [run_playbook(chaos, "deploy", *TAGS)]
    if runs[-1].rc:
        runs.append(run_playbook(chaos, "deploy", *TAGS))
    assert runs[-1].rc == 0, "\n".join(r.failure() for r in runs)
    assert any(r.faults for r in runs), "no fault was injected: the front door is not in the way"
    converged(chaos, clean)


def test_killed_deploy_then_rerun(chaos, clean, play_and_kill):
    """kill -9 at a seeded task of a fresh deploy: nothing keeps calling AWS, and a rerun converges."""
    chaos.reset()
    r = rng("quick", SEED)
    killed = play_and_kill("deploy", r.randint(2, clean["tasks"]), r.uniform(0, 1.5), *TAGS)
    assert killed.survivors == [], f"killed at [{killed.at_task}], left behind: {killed.survivors}"
    assert killed.calls_after == 0, f"killed at [{killed.at_task}], {killed.calls_after} AWS calls after the kill"
    rerun = run_playbook(chaos, "deploy", *TAGS, *(("-e", "break_lock=true") if lock_held(chaos) else ()))
    assert rerun.rc == 0, f"killed at [{killed.at_task}]; " + rerun.failure()
    converged(chaos, clean)
