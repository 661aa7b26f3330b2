# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the embedded emulator (moto 5.2.5) differs from AWS: every workaround, named, here.

Each function acts only when the endpoint is loopback (the emulator), so what real AWS gets
is never weakened. Remove a workaround when moto fixes its gap.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse


def is_emulator(module):
    """True when the module talks to a loopback endpoint: the embedded emulator."""
    url = module.params.get("endpoint_url") or ""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cloudfront_has_cache_policies(module):
    """moto has no CloudFront cache policies (CreateCachePolicy is not implemented).

    On the emulator the caller reports a deterministic stand-in ID instead of calling the API.
    """
    return not is_emulator(module)


def cloudfront_function_publish_supported(module):
    """moto implements neither PublishFunction nor UpdateFunction for CloudFront Functions.

    On the emulator an update is a delete and create, and the function stays in DEVELOPMENT.
    """
    return not is_emulator(module)


def cloudfront_comparable(module, summary):
    """The part of a distribution summary moto keeps, for comparing desired with stored.

    moto drops OriginAccessControlId, FunctionAssociations and LambdaFunctionAssociations (the
    body signer); on the emulator both sides
    are compared without them (AWS still receives them on every create and update).
    """
    if not is_emulator(module):
        return summary
    out = dict(summary)
    out["origins"] = [{k: v for k, v in o.items() if k not in ("oac",)} for o in summary.get("origins", [])]
    out["behaviors"] = [{k: v for k, v in b.items() if k not in ("functions",)} for b in summary.get("behaviors", [])]
    out["default_behavior"] = {k: v for k, v in summary.get("default_behavior", {}).items() if k not in ("functions",)}
    return out


def acm_certificate_status(module, certificate):
    """moto issues every requested ACM certificate MOTO_ACM_VALIDATION_WAIT (60) seconds after the
    request, whether or not its DNS validation records exist, and never sooner.

    AWS issues it once it finds every validation CNAME in DNS. On the emulator ACM's check is done
    here against the emulator's Route 53: a PENDING_VALIDATION certificate whose every validation
    record is in one of its hosted zones, with ACM's value, is reported ISSUED. AWS reports the truth.
    """
    status = certificate.get("Status", "")
    options = certificate.get("DomainValidationOptions") or []
    if not is_emulator(module) or status != "PENDING_VALIDATION" or not options:
        return status
    if not all(o.get("ResourceRecord") for o in options):
        return status
    from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client, paginate

    def fqdn(name):
        return name.lower().rstrip(".")

    wanted = {(fqdn(o["ResourceRecord"]["Name"]), o["ResourceRecord"]["Type"], fqdn(o["ResourceRecord"]["Value"]))
              for o in options}
    route53 = client(module, "route53")
    found = set()
    for zone in paginate(route53, "list_hosted_zones", "HostedZones"):
        apex = fqdn(zone["Name"])
        if not any(w[0] == apex or w[0].endswith("." + apex) for w in wanted):
            continue
        for rrset in paginate(route53, "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone["Id"]):
            found.update((fqdn(rrset["Name"]), rrset["Type"], fqdn(r["Value"])) for r in rrset.get("ResourceRecords", []))
    return "ISSUED" if wanted <= found else status
