"""Alarms and dashboard after a full deploy with alarm_email: real CloudWatch state; and the edge roles' tags
alone (--tags alarms, --tags cdn) applying a changed setting to that deployed stack."""
from __future__ import annotations

import json

import pytest

from harness import reset_emulator

EMAIL = ["-e", "alarm_email=oncall@example.com"]


@pytest.fixture(scope="module")
def deployed(endpoint, playbook):
    reset_emulator(endpoint)
    return playbook("deploy", "local", *EMAIL)


def alarms(aws, prefix="stream-sales-local-alarm-"):
    return {a["AlarmName"][len(prefix):]: a for a in aws("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]}


def test_seed_alarms_exactly(deployed, aws):
    found = alarms(aws)
    cluster = [{"Name": "DBClusterIdentifier", "Value": "stream-sales-local-cluster"}]
    expected = {
        "db-cpu": ("AWS/RDS", "CPUUtilization", cluster, "Average", 300, 2, 80.0, "GreaterThanThreshold"),
        "db-connections": ("AWS/RDS", "DatabaseConnections", cluster, "Average", 300, 2, 90.0, "GreaterThanThreshold"),
        "server-errors": ("AWS/Lambda", "Errors", [{"Name": "FunctionName", "Value": "stream-sales-local-server"}],
                          "Sum", 300, 2, 10.0, "GreaterThanThreshold"),
    }
    for name, (ns, metric, dims, stat, period, periods, threshold, op) in expected.items():
        a = found[name]
        assert (a["Namespace"], a["MetricName"], a["Dimensions"], a["Statistic"], a["Period"],
                a["EvaluationPeriods"], a["Threshold"], a["ComparisonOperator"]) == (ns, metric, dims, stat, period, periods, threshold, op)
    topic = [t["TopicArn"] for t in aws("sns").list_topics()["Topics"] if t["TopicArn"].endswith(":stream-sales-local-alarms")]
    assert len(topic) == 1
    for a in found.values():
        assert a["AlarmActions"] == topic and a["OKActions"] == topic
    subs = aws("sns").list_subscriptions_by_topic(TopicArn=topic[0])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("email", "oncall@example.com")]


def test_on_call_alarms(deployed, aws):
    found = alarms(aws)
    assert found["db-acu"]["MetricName"] == "ACUUtilization" and found["db-acu"]["Threshold"] == 90.0
    assert found["server-throttles"]["MetricName"] == "Throttles"
    assert found["revalidation-queue-age"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    tags = aws("cloudwatch").list_tags_for_resource(ResourceARN=found["db-cpu"]["AlarmArn"])["Tags"]
    assert {"Key": "Environment", "Value": "local"} in tags


@pytest.mark.slow  # long tier: one more deploy of the whole stack
def test_threshold_change_updates_in_place(deployed, aws, playbook):
    before = alarms(aws)["db-cpu"]
    assert playbook("deploy", "local", *EMAIL).changed == 0
    changed = playbook("deploy", "local", *EMAIL, "-e", "alarms_db_cpu_percent=70", "--tags", "alarms")
    assert changed.changed == 1
    after = alarms(aws)["db-cpu"]
    assert after["Threshold"] == 70.0 and after["AlarmArn"] == before["AlarmArn"]


def test_cdn_tag_alone_applies_a_changed_price_class(deployed, aws, playbook):
    cf = aws("cloudfront")
    [dist] = [d for d in cf.list_distributions()["DistributionList"]["Items"] if d["Comment"] == "stream-sales-local"]
    before = cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]
    invalidations = cf.list_invalidations(DistributionId=dist["Id"])["InvalidationList"]["Quantity"]
    assert before["PriceClass"] == "PriceClass_100"

    # The storage and app roles do not run: the cdn role finds the buckets, build and function URLs by name.
    run = playbook("deploy", "local", *EMAIL, "--tags", "cdn", "-e", "cdn_price_class=PriceClass_All", "-v")  # -v: ok tasks shown
    assert run.changed == 1 and "found by name" in run.out
    after = cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]
    assert after["PriceClass"] == "PriceClass_All"
    assert after["Origins"] == before["Origins"] and after["CacheBehaviors"] == before["CacheBehaviors"]
    assert after["DefaultCacheBehavior"] == before["DefaultCacheBehavior"]
    # Same build: nothing to invalidate.
    assert cf.list_invalidations(DistributionId=dist["Id"])["InvalidationList"]["Quantity"] == invalidations

    back = playbook("deploy", "local", *EMAIL, "--tags", "cdn")
    assert back.changed == 1
    assert cf.get_distribution_config(Id=dist["Id"])["DistributionConfig"]["PriceClass"] == "PriceClass_100"
    assert playbook("deploy", "local", *EMAIL, "--tags", "cdn").changed == 0


def test_dashboard_widgets_reference_existing_resources(deployed, aws):
    body = json.loads(aws("cloudwatch").get_dashboard(DashboardName="stream-sales-local")["DashboardBody"])
    titles = " ".join(w["properties"]["title"] for w in body["widgets"])
    for part in ("Server function", "Database", "Error rate"):
        assert part in titles
    referenced = set()
    for widget in body["widgets"]:
        for row in widget["properties"]["metrics"]:
            names = [x for x in row if isinstance(x, str)]
            referenced |= {(names[i], names[i + 1]) for i in range(2, len(names) - 1, 2) if names[i] != "."}
    assert referenced, body
    for dim, value in referenced:
        if dim == "DBClusterIdentifier":
            assert aws("rds").describe_db_clusters(DBClusterIdentifier=value)["DBClusters"]
        elif dim == "FunctionName":
            assert aws("lambda").get_function(FunctionName=value)["Configuration"]["FunctionName"] == value
        elif dim == "DistributionId":
            assert aws("cloudfront").get_distribution(Id=value)["Distribution"]["Id"] == value


def test_no_email_no_alarms(deployed, aws, playbook):
    playbook("deploy", "local", "--tags", "alarms")
    assert alarms(aws) == {}
    assert aws("cloudwatch").get_dashboard(DashboardName="stream-sales-local")["DashboardBody"]
