"""WAFV2: errors named as AWS names them."""
from __future__ import annotations

from moto.wafv2 import exceptions as waf_exceptions


def duplicate_item_named_as_aws_does() -> None:
    """Creating a web ACL (rule group, IP set, ...) whose name exists answers
    WAFDuplicateItemException, as AWS does.

    moto 5.2.5 answers the code `WafV2DuplicateItem`, which no client of AWS expects: a resent
    CreateWebACL (its first answer lost) could not be told from any other failure.
    """
    def __init__(self):
        waf_exceptions.WAFv2ClientError.__init__(
            self, "WAFDuplicateItemException",
            "AWS WAF couldn't perform the operation because some resource in your request is a duplicate of an existing one.")

    waf_exceptions.WAFV2DuplicateItemException.__init__ = __init__


FIXES = (duplicate_item_named_as_aws_does,)
