# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by our AWS modules: the retrying client and tag reconciliation."""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.stream_sales.platform.plugins.module_utils.controller_watch import exit_with_controller

# Throttling and transient errors are retried with jittered backoff on every call made with
# aws_retry=True. AWSRetry knows only a few codes (RequestLimitExceeded, Throttling,
# TooManyRequestsException, InternalError, ...): these are the other throttling and transient
# codes of the services we call (botocore's standard retry mode lists the same), and the bare
# status an error without a body carries (S3 HEAD requests).
TRANSIENT_CODES = [
    "ThrottlingException", "ThrottledException", "RequestThrottledException", "RequestThrottled",
    "SlowDown", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "PriorRequestNotComplete", "EC2ThrottledException", "BandwidthLimitExceeded",
    "RequestTimeout", "RequestTimeoutException", "InternalServerError", "InternalServerErrorException",
    "ServiceException", "ServiceUnavailableException", "ServiceFailure", "500", "502", "503", "504",
]
RETRY = AWSRetry.jittered_backoff(retries=10, delay=1, max_delay=30, catch_extra_error_codes=TRANSIENT_CODES)


def client(module, service):
    """A boto3 client whose calls retry throttling and transient errors (aws_retry=True).

    The module stops calling AWS when the ansible-playbook that started it dies (kill -9).
    """
    exit_with_controller()
    return module.client(service, retry_decorator=RETRY)


def tag_diff(current, desired, purge_tags):
    """(to_set, to_remove) for the desired tags; None desired means leave tags alone."""
    if desired is None:
        return {}, []
    return compare_aws_tags(current or {}, desired, purge_tags=purge_tags)


def tags_after(current, desired, purge_tags):
    """The tags a resource will carry once tag_diff has been applied."""
    to_set, to_remove = tag_diff(current, desired, purge_tags)
    after = {k: v for k, v in (current or {}).items() if k not in to_remove}
    after.update(to_set)
    return after


@RETRY
def paginate(aws_client, method, key, **kwargs):
    """Every item of a paginated list call; the whole walk is retried on throttling."""
    pages = aws_client.get_paginator(method).paginate(**kwargs)
    return [item for page in pages for item in page.get(key, [])]
