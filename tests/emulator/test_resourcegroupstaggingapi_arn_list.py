"""Fix resourcegroupstaggingapi.arn_list_answered_in_one_page: GetResources of an ARN list answers
every listed resource at once, and refuses what AWS refuses beside the list."""
from __future__ import annotations

import uuid

import pytest


def test_arn_list_answered_in_one_page(aws):
    ssm, tagging = aws("ssm"), aws("resourcegroupstaggingapi")
    prefix = f"/emu/tagging-{uuid.uuid4().hex[:8]}"
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(8)]
    arns = []
    for i in range(60):  # 60 resources, 480 tags: moto paged this at 50 resources / 100 tags
        ssm.put_parameter(Name=f"{prefix}/p{i}", Value="x", Type="String", Tags=tags)
        arns.append(ssm.get_parameter(Name=f"{prefix}/p{i}")["Parameter"]["ARN"])
    missing = arns[0].replace("/p0", "/gone")
    answer = tagging.get_resources(ResourceARNList=arns + [missing])
    assert not answer.get("PaginationToken")
    assert sorted(r["ResourceARN"] for r in answer["ResourceTagMappingList"]) == sorted(arns)
    assert all(len(r["Tags"]) == 8 for r in answer["ResourceTagMappingList"])
    for extra in ({"ResourceTypeFilters": ["ssm:parameter"]}, {"TagFilters": [{"Key": "k0"}]}, {"ResourcesPerPage": 10}):
        with pytest.raises(tagging.exceptions.InvalidParameterException):
            tagging.get_resources(ResourceARNList=arns[:2], **extra)
    with pytest.raises(tagging.exceptions.InvalidParameterException):
        tagging.get_resources(ResourceARNList=arns + arns[:41])
    for start in range(0, 60, 10):
        ssm.delete_parameters(Names=[f"{prefix}/p{i}" for i in range(start, start + 10)])
