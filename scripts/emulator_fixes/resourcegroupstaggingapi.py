"""Resource Groups Tagging API: GetResources of a list of ARNs."""
from __future__ import annotations


def arn_list_answered_in_one_page() -> None:
    """GetResources with ResourceARNList (at most 100 ARNs) answers every listed resource in one
    response, without a PaginationToken, as AWS does: the API refuses pagination parameters and
    ResourceTypeFilters / TagFilters alongside an ARN list (InvalidParameterException).

    moto 5.2.5 pages an ARN list like any query (50 resources or 100 tags a page), so a caller
    that sends the list once, as AWS allows, misses the rest; and it accepts the combinations AWS
    refuses.
    """
    from moto.core.responses import ActionResult
    from moto.resourcegroupstaggingapi.exceptions import ResourceGroupsTaggingAPIError
    from moto.resourcegroupstaggingapi.responses import ResourceGroupsTaggingAPIResponse

    get_resources = ResourceGroupsTaggingAPIResponse.get_resources

    def invalid(message):
        return ResourceGroupsTaggingAPIError("InvalidParameterException", message)

    def get_resources_fixed(self):
        arns = self._get_param("ResourceARNList", [])
        if not arns:
            return get_resources(self)
        others = [k for k in ("ResourceTypeFilters", "TagFilters", "ResourcesPerPage", "TagsPerPage", "PaginationToken")
                  if self._get_param(k)]
        if others:
            raise invalid(f"ResourceARNList cannot be combined with {', '.join(others)}.")
        if len(arns) > 100:
            raise invalid("ResourceARNList takes at most 100 ARNs.")
        found = self.backend._get_resources_generator(resource_arn_list=arns)
        return ActionResult({"ResourceTagMappingList": [
            {"ResourceARN": r.arn, "Tags": [{"Key": k, "Value": v} for k, v in r.tags.items()]} for r in found]})

    ResourceGroupsTaggingAPIResponse.get_resources = get_resources_fixed


FIXES = (arn_list_answered_in_one_page,)
