# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by our AWS modules: the one retrying client, and tag reconciliation."""

from __future__ import annotations

import os

try:
    import boto3.session
    import botocore.config
    import botocore.exceptions
    import botocore.session
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.stream_sales.platform.plugins.module_utils.controller_watch import exit_with_controller

# Every throttling and transient error of every service we call. botocore's standard retry mode
# (below) already retries them with jittered exponential backoff; the decorator adds attempts on
# top of it for calls made with aws_retry=True, and takes per-call eventual-consistency codes.
# An error without a body (S3 HEAD requests) carries only its status as code.
THROTTLING_CODES = [
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "RequestLimitExceeded", "SlowDown", "RequestThrottled",
    "ProvisionedThroughputExceededException", "TransactionInProgressException", "LimitExceededException",
    "PriorRequestNotComplete", "ServiceUnavailable", "ServiceUnavailableException", "InternalError",
    "InternalFailure", "InternalServerError", "InternalServiceError", "Unavailable",
    "EC2ThrottledException", "BandwidthLimitExceeded", "RequestTimeout", "RequestTimeoutException",
    "InternalServerErrorException", "ServiceException", "ServiceFailure", "500", "502", "503", "504",
]
RETRY = AWSRetry.jittered_backoff(retries=8, delay=1, max_delay=20, catch_extra_error_codes=THROTTLING_CODES)
# botocore's own retries: standard mode (jittered backoff, throttling and 5xx) with more attempts
# than its default 3. The user's aws_config (module_defaults) is merged over it.
MAX_ATTEMPTS = 10


def retry_config():
    return botocore.config.Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})


# Clients kept for the interpreter's life. AnsibleAWSModule.client builds a new session (a new
# loader parsing the service's model, up to a few MB of JSON, and ~100 event handlers) and a new
# connection pool for every client: 50-230 ms each, then a TLS handshake per module on AWS.
# Under the repo's strategy (mitogen) the modules of a run share one interpreter, where the
# same client (same service, region, endpoint, credentials, configuration and AWS_*
# environment) is reused across tasks: a no-change production rerun is ~1.5 s shorter.
_CLIENTS = {}
_LOADER = []


def _client_key(service, region, endpoint, config, params):
    environment = sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_") or k.lower().endswith("_proxy"))
    options = sorted((k, repr(v)) for k, v in config._user_provided_options.items())  # pylint: disable=protected-access
    return (service, region, endpoint, repr(sorted(params.items())), repr(options), repr(environment))


def _new_client(service, region, endpoint, config, params):
    core = botocore.session.Session(profile=params.pop("profile_name", None))
    if _LOADER:
        core.register_component("data_loader", _LOADER[0])
    else:
        _LOADER.append(core.get_component("data_loader"))
    return boto3.session.Session(botocore_session=core).client(
        service, config=config, region_name=region, endpoint_url=endpoint, **params)


def client(module, service, retry=None, **kwargs):
    """A boto3 client whose calls retry throttling and transient errors (aws_retry=True).

    `retry` replaces the decorator for calls that also wait out service-specific codes. The
    module stops calling AWS when the ansible-playbook that started it dies (kill -9). Built as
    AnsibleAWSModule.client builds it (the module's connection options, then the user's
    aws_config over our retry configuration), kept for the next module (_CLIENTS).
    """
    exit_with_controller()
    region, endpoint, params = get_aws_connection_info(module)
    params.update(kwargs)
    region = params.pop("region", region)
    endpoint = params.pop("endpoint", endpoint)
    config = retry_config()
    user_config = params.pop("aws_config", None)
    if user_config:
        config = config.merge(user_config if isinstance(user_config, botocore.config.Config)
                              else botocore.config.Config(**user_config))
    key = _client_key(service, region, endpoint, config, params)
    if key not in _CLIENTS:
        try:
            _CLIENTS[key] = _new_client(service, region, endpoint, config, params)
        except botocore.exceptions.NoRegionError:
            module.fail_json(msg=f"{service}: a region is needed and none was found in the module's options,"
                                 " the environment or the AWS configuration")
        except (ValueError, botocore.exceptions.BotoCoreError) as e:
            module.fail_json_aws(e, msg="Couldn't connect to AWS")
    return RetryingBotoClientWrapper(_CLIENTS[key], retry or RETRY)


def retrying(*extra_codes, retries=8):
    """A retry decorator for RETRY's codes plus extra ones (e.g. eventual consistency)."""
    return AWSRetry.jittered_backoff(retries=retries, delay=1, max_delay=20,
                                     catch_extra_error_codes=THROTTLING_CODES + list(extra_codes))


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


def tags_by_arn(module, arns, desired):
    """{arn: tags} of those of `arns` the Resource Groups Tagging API lists: one GetResources call
    per 100 ARNs, where each service reads one resource's tags per call. That API is eventually
    consistent (a tag written seconds ago may not show yet) and leaves out resources never
    tagged, so its answer only ever confirms that nothing needs writing (tags_to_compare).
    Nothing is read when the `desired` tags are None (not compared) or for a single resource
    (its own read costs the same)."""
    found = {}
    if desired is None or len(arns) < 2:
        return found
    tagging = client(module, "resourcegroupstaggingapi")
    for i in range(0, len(arns), 100):
        answer = tagging.get_resources(aws_retry=True, ResourceARNList=arns[i:i + 100])
        for resource in answer.get("ResourceTagMappingList", []):
            found[resource["ResourceARN"]] = {t["Key"]: t["Value"] for t in resource.get("Tags", [])}
    return found


def tags_to_compare(listed, arn, desired, purge_tags, read):
    """The tags of `arn` to compare with `desired`: those of tags_by_arn's answer `listed` when they
    already are as desired; otherwise (a difference, or not listed) the service's own read, `read()`,
    which is authoritative: no change is decided on the tagging API's word."""
    have = listed.get(arn)
    if have is not None and desired is not None and tag_diff(have, desired, purge_tags) == ({}, []):
        return have
    return read()


def retag_rds(rds, arn, to_set, to_remove):
    """Apply a tag_diff to an RDS resource (cluster, instance, subnet or parameter group)."""
    if to_remove:
        rds.remove_tags_from_resource(aws_retry=True, ResourceName=arn, TagKeys=to_remove)
    if to_set:
        rds.add_tags_to_resource(aws_retry=True, ResourceName=arn, Tags=ansible_dict_to_boto3_tag_list(to_set))


@RETRY
def paginate(aws_client, method, key, **kwargs):
    """Every item of a paginated list call; the whole walk is retried on throttling."""
    pages = aws_client.get_paginator(method).paginate(**kwargs)
    return [item for page in pages for item in page.get(key, [])]
