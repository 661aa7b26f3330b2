# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the VPC modules: identity by Name tag, tags read from the describe answer,
resend-safe creates and the healing of duplicates.

Resend safety (AWS answers may be lost after the call took effect, and the call is resent):
- a create that takes a ClientToken gets one per call (client_token()); botocore's and
  AWSRetry's resends reuse it, so AWS returns the first result instead of a second resource;
- an "already exists" answer right after our own create is adopted (each module knows its
  codes: InvalidSubnet.Conflict, RouteAlreadyExists, InvalidGroup.Duplicate, ...);
- what can still be duplicated (a VPC, an internet gateway or an Elastic IP have no client
  token; an older interrupted run) is healed: Healing keeps one, removes the others that
  carry every one of our tags (provably ours) and are unused, and warns about each.
"""

from __future__ import annotations

import uuid

from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import retrying
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after


def tags_of(resource):
    return boto3_tag_list_to_ansible_dict((resource or {}).get("Tags") or [])


def name_of(resource):
    return tags_of(resource).get("Name")


def client_token():
    """A ClientToken for one create call.

    The same on every resend of that call, new for the next create: a token derived from the
    resource's name would make AWS answer a later create with the resource deleted since.
    """
    return uuid.uuid4().hex


def not_yet_visible(*codes):
    """Retry decorator for calls that use an object created a moment ago, which AWS may not
    know yet (eventual consistency): retried on these codes (and throttling), with backoff."""
    return retrying(*codes, retries=6)


def is_ours(resource, desired_tags):
    """True when the resource carries every tag we give it (Name included): provably ours."""
    tags = tags_of(resource)
    return bool(desired_tags) and all(tags.get(k) == v for k, v in desired_tags.items())


def update_tags(module, ec2, resource_id, current, desired, purge_tags):
    """Apply the tag difference (none in check mode); (changed, tags after)."""
    to_set, to_remove = tag_diff(current, desired, purge_tags)
    if not module.check_mode:
        if to_remove:
            ec2.delete_tags(aws_retry=True, Resources=[resource_id], Tags=[{"Key": k} for k in to_remove])
        if to_set:
            ec2.create_tags(aws_retry=True, Resources=[resource_id],
                            Tags=[{"Key": k, "Value": v} for k, v in to_set.items()])
    return bool(to_set or to_remove), tags_after(current, desired, purge_tags)


class Healing:
    """What a module removed (or kept) among duplicates of its resources, said as warnings."""

    def __init__(self, module):
        self.module = module
        self.removed = []
        self.kept = []

    def remove(self, kind, resource_id, name, why, delete):
        """Record and (outside check mode) run delete() for a duplicate that is ours and unused."""
        self.removed.append({"resource": kind, "id": resource_id, "name": name, "why": why})
        verb = "Would remove" if self.module.check_mode else "Removed"
        self.module.warn(f"{verb} {kind} {resource_id} ({name}): {why}.")
        if not self.module.check_mode:
            delete()

    def keep(self, kind, resource_id, name, why):
        """Record a duplicate left in place (not provably ours, or in use)."""
        self.kept.append({"resource": kind, "id": resource_id, "name": name, "why": why})
        self.module.warn(f"Kept {kind} {resource_id} ({name}): {why}.")

    @property
    def changed(self):
        return bool(self.removed)

    def result(self):
        return {"healed": self.removed, "duplicates_kept": self.kept}
