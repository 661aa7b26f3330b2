# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What our CloudFront modules share: writes that name the version they replace (IfMatch), and
creates that are safe to resend."""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code


def write_current(read_etag, write, etag=None):
    """write(etag) with the resource's current ETag (`etag` if just read, else read_etag()).

    CloudFront refuses a write that names a version no longer current (PreconditionFailed): after
    our own earlier write whose answer was lost, or another writer's. A write replaces the whole
    configuration, so the ETag is read again and the write made once more.
    """
    try:
        return write(etag or read_etag())
    except is_boto3_error_code("PreconditionFailed"):
        return write(read_etag())


def create_or_find(create, already_exists_code, find):
    """(create(), False); or, when CloudFront answers that it already exists, (find(), True).

    That answer comes when our own create was resent after its answer was lost (the resource is
    ours), or when something else took the name meanwhile; either way the caller goes on with the
    existing resource as found, as a rerun would. Raises the error when find() finds nothing.
    """
    try:
        return create(), False
    except is_boto3_error_code(already_exists_code):
        found = find()
        if found is None:
            raise
        return found, True
