"""The plan summary's classification (plugins/plugin_utils/plan.py), on results shaped as the modules return them."""
from __future__ import annotations

from ansible_collections.stream_sales.platform.plugins.plugin_utils.plan import Plan, classify_diff, classify_result


def test_diffs_tell_create_change_delete():
    assert classify_diff({"before": {}, "after": {"name": "x"}}) == "create"
    assert classify_diff({"before": "", "after": "text\n"}) == "create"
    assert classify_diff({"before": {"name": "x"}, "after": {}}) == "delete"
    assert classify_diff({"before": {"retention": 7}, "after": {"retention": 30}}) == "change"
    assert classify_diff({"before": {"a": 1}, "after": {"a": 1}}) is None
    assert classify_diff({"prepared": "text"}) is None


def test_unchanged_results_count_for_nothing():
    assert classify_result({"changed": False, "diff": {"before": {}, "after": {"a": 1}}}, True) == []


def test_a_list_of_diffs_is_one_resource_each():
    result = {"changed": True, "diff": [{"before": {}, "after": {"a": 1}}, {"before": {"a": 1}, "after": {"a": 2}}]}
    assert [pair[0] for pair in classify_result(result, False)] == ["create", "change"]


def test_without_a_diff_state_absent_is_a_delete():
    result = {"changed": True, "invocation": {"module_args": {"state": "absent", "name": "x"}}}
    assert classify_result(result, False) == [("delete", False)]


def test_without_a_diff_check_mode_looks_for_the_resource_identity():
    # ec2_vpc_net planning a create returns nothing about the VPC; updating one, its id.
    assert classify_result({"changed": True, "vpc": {}}, True) == [("create", False)]
    assert classify_result({"changed": True, "vpc": {"id": "vpc-1", "cidr_block": "10.0.0.0/16"}}, True) == [("change", False)]
    # a parent's id (the subnet's VPC) is not the subnet's own identity
    assert classify_result({"changed": True, "subnet": {"vpc_id": "vpc-1", "cidr_block": "10.0.0.0/24"}}, True) == [("create", False)]
    # the arguments are not the resource
    assert classify_result({"changed": True, "invocation": {"module_args": {"role_arn": "arn:aws:iam::1:role/x"}}}, True) == [("create", False)]


def test_without_a_diff_a_real_run_cannot_tell():
    assert classify_result({"changed": True, "vpc": {"id": "vpc-1"}}, False) == [("unknown", False)]


def test_summary_lines():
    plan = Plan()
    assert plan.summary(True) == ["No changes."]
    plan.add("network", "Network | VPC", "", {"changed": True, "vpc": {}}, True)
    plan.add("secrets", "Secrets", "jwt", {"changed": True, "diff": {"before": {}, "after": {"name": "jwt"}}}, True)
    plan.add("storage", "Storage", "", {"changed": True, "diff": {"before": {"cors": 1}, "after": {"cors": 2}}}, True)
    lines = plan.summary(True)
    assert lines[-1] == "Plan: 2 to create, 1 to change, 0 to delete."
    assert "network  1 to create, 0 to change, 0 to delete" in lines[0]
    applied = Plan()
    applied.add("secrets", "Secrets", "jwt", {"changed": True, "diff": {"before": {}, "after": {"name": "jwt"}}}, False)
    assert applied.summary(False)[-1] == "Applied: 1 created, 0 changed, 0 deleted."


def test_a_roles_planned_list_replaces_its_creates_without_a_diff():
    plan = Plan()
    plan.add("network", "Network | VPC", "", {"changed": True, "vpc": {}}, True)
    plan.add("network", "Network | SG", "", {"changed": True, "diff": {"before": {}, "after": {"a": 1}}}, True)
    plan.planned("network", "Network | What a deploy would create", "create", ["VPC x", "subnet a", "subnet b"])
    assert plan.counts("network")["create"] == 4  # the list's three, and the one known by its diff
    plan.planned("network", "x", "nonsense", ["ignored"])
    assert plan.counts()["create"] == 4


def test_a_real_run_reports_what_it_applied_not_its_plan_pass():
    plan = Plan()
    created = {"changed": True, "diff": {"before": {}, "after": {"a": 1}}}
    plan.add("network", "SG", "", created, True, "stream_sales.platform.ec2_vpc_security_group")
    assert plan.summary(False) == ["No changes."]  # planned only
    plan.add("network", "SG", "", created, False, "stream_sales.platform.ec2_vpc_security_group")
    assert plan.summary(False)[-1] == "Applied: 1 created, 0 changed, 0 deleted."
    assert plan.summary(True)[-1] == "Plan: 2 to create, 0 to change, 0 to delete."
    security = [e for e in plan.journal()["changes"] if "diff" in e]
    assert len(security) == 2 and security[0]["diff"] == created["diff"]
    plan.add("storage", "Bucket tags", "", {"changed": True, "diff": {"before": {"t": 1}, "after": {"t": 2}}}, False, "amazon.aws.s3_bucket")
    assert "diff" not in plan.journal()["changes"][-1]  # only security-relevant modules keep theirs


def test_journal_keeps_the_first_failure():
    plan = Plan()
    plan.fail("aurora", "Aurora | Launch", "", "boom")
    plan.fail("outputs", "later", "", "second")
    assert plan.journal()["failed"]["msg"] == "boom"


def test_a_list_module_counts_each_resource_it_lists():
    # ec2_vpc_security_group converges every group in one task: its diff lists them by name.
    app = {"group_name": "app", "ingress": [], "egress": [{"proto": "all", "cidr_ip": "0.0.0.0/0"}]}
    db = {"group_name": "db", "ingress": [], "egress": []}
    opened = dict(db, ingress=[{"proto": "tcp", "from_port": 5432, "to_port": 5432, "group_id": "sg-app"}])
    module = "stream_sales.platform.ec2_vpc_security_group"
    assert classify_result({"changed": True, "diff": {"before": [], "after": [app, db]}}, True, module) == [
        ("create", True), ("create", True)]
    plan = Plan()
    plan.add("network", "SG", "", {"changed": True, "diff": {"before": [app, db], "after": [app, opened]}}, False, module)
    [entry] = plan.journal()["changes"]
    assert (entry["action"], entry["item"], entry["diff"]) == ("change", "db", {"before": db, "after": opened})
    # every group gone
    assert [found[0] for found in classify_result({"changed": True, "diff": {"before": [app, db], "after": []}}, False, module)] == [
        "delete", "delete"]


def test_route_tables_and_endpoints_count_one_each_and_a_nat_gateway_and_its_address_apart():
    public = {"name": "p", "routes": [], "subnets": ["a"]}
    before = {"route_tables": {"p": public}, "gateway_endpoints": []}
    after = {"route_tables": {"p": dict(public, subnets=["a", "b"]), "q": {"name": "q"}},
             "gateway_endpoints": [{"name": "s3", "route_table_ids": []}]}
    found = classify_result({"changed": True, "diff": {"before": before, "after": after}}, True,
                            "stream_sales.platform.ec2_route_table")
    assert sorted(action for action, from_diff in found if from_diff) == ["change", "create", "create"]
    # absent: tables by ID, endpoints by ID
    gone = {"route_tables": {"rtb-1": public}, "gateway_endpoints": ["vpce-1"]}
    assert len(classify_result({"changed": True, "diff": {"before": gone, "after": {}}}, False,
                               "stream_sales.platform.ec2_route_table")) == 2
    nat = [{"name": "nat-a", "nat_gateway_id": "nat-1"}, {"name": "nat-a", "allocation_id": "eipalloc-1"}]
    assert len(classify_result({"changed": True, "diff": {"before": nat, "after": []}}, False,
                               "stream_sales.platform.ec2_nat_gateway")) == 2
    # other modules' diffs are one resource, whatever their shape
    assert classify_result({"changed": True, "diff": {"before": [], "after": [1, 2]}}, False, "amazon.aws.x") == [("create", True)]
