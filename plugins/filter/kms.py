# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the kms role: the key ARNs found per region, and what a teardown reports of the key."""

from __future__ import annotations


def kms_found_arns(results, regions, account, alias):
    """One ARN per region, from amazon.aws.kms_key_info results (in the regions' order).

    A region without the key gets its alias ARN, which stands for the key a deploy would make
    (a check run on an empty account plans with it; a real run has stopped before).
    """
    arns = []
    for region, result in zip(regions, results):
        keys = (result or {}).get("kms_keys") or []
        arns.append(keys[0]["key_arn"] if keys else f"arn:aws:kms:{region}:{account}:{alias}")
    return arns


def kms_kept_entry(key, alias, env, retained):
    """A stream_sales_kept entry ({resource, why, arn}) for a key a teardown leaves behind.

    `key` is kms_alias_key's result key (arn, deletion_date) or kms_key_info's (key_arn, deletion_date).
    """
    arn = key.get("arn") or key.get("key_arn") or ""
    region = arn.split(":")[3] if arn.count(":") >= 5 else ""
    if retained:
        why = (f"{env} keeps the data it encrypts (buckets, secrets, the final snapshot); schedule its deletion "
               "by hand once they are gone")
    else:
        when = str(key.get("deletion_date") or "").split("T", maxsplit=1)[0] or "after AWS's waiting period"
        why = f"deletion scheduled ({when}); a deploy before then cancels it"
    return {"resource": f"KMS key {alias} ({region})", "why": why, "arn": arn}


class FilterModule:
    def filters(self):
        return {"kms_found_arns": kms_found_arns, "kms_kept_entry": kms_kept_entry}
