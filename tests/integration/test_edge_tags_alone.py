"""--tags cdn and --tags alarms alone on an empty account: each fails before changing anything, naming
what it needs from the roles that did not run (never a silent skip, nothing half-built)."""
from __future__ import annotations


def test_cdn_alone_names_what_is_missing(empty_account, playbook, aws):
    run = playbook("deploy", "local", "--tags", "cdn", check=False)
    assert run.rc != 0 and run.recap["failed"] == 1
    assert "The cdn role alone needs the stack's storage and application" in run.out
    for missing in ("bucket stream-sales-local-site-", "bucket stream-sales-local-images-",
                    "function stream-sales-local-server", "function stream-sales-local-image-optimizer"):
        assert missing in run.out
    cf = aws("cloudfront")
    assert not cf.list_distributions()["DistributionList"].get("Items")
    assert not cf.list_origin_access_controls()["OriginAccessControlList"].get("Items")
    assert not cf.list_functions()["FunctionList"].get("Items")
    assert not cf.list_cache_policies(Type="custom")["CachePolicyList"].get("Items")


def test_alarms_alone_names_what_is_missing(empty_account, playbook, aws):
    run = playbook("deploy", "local", "--tags", "alarms", "-e", "alarm_email=oncall@example.com", check=False)
    assert run.rc != 0 and run.recap["failed"] == 1
    assert "The alarms role alone needs" in run.out
    for missing in ("DB cluster stream-sales-local-cluster", "function stream-sales-local-server",
                    "queue stream-sales-local-revalidation.fifo", "distribution stream-sales-local"):
        assert missing in run.out
    assert aws("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert aws("sns").list_topics()["Topics"] == []
