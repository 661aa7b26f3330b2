#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: acm_dns_certificate
short_description: An ACM certificate requested with DNS validation, found again by its Name tag
version_added: 0.1.0
description:
  - Ensures one Amazon-issued ACM certificate for O(domain_name) and O(subject_alternative_names),
    validated by DNS, tagged C(Name=)O(name). Reruns find it by that tag (the request's idempotency
    token lasts only an hour on AWS).
  - Returns the DNS validation records to create (one per distinct record, as a wildcard and its
    apex share one). ACM fills them in a few seconds after the request; the module polls for them.
  - A certificate's names cannot change. When the wanted names differ from the certificate's (or it
    can no longer be issued, for example after its validation timed out), a new certificate is
    requested and the old one is kept, as a distribution may still use it, and reported in
    RV(replaced_arn). Certificates kept this way keep their Name tag; O(state=absent) deletes them all.
  - CloudFront takes certificates from us-east-1 only; pass O(region=us-east-1) for those.
  - M(community.aws.acm_certificate) (community.aws 10.0) only imports certificates (it "does not currently
    interact with AWS-provided certificates"), so it cannot request one, return its validation records or
    wait for its issue; hence this module.
options:
  name:
    description: Value of the C(Name) tag that identifies the certificate.
    type: str
    required: true
  domain_name:
    description: The certificate's main domain name. Required with O(state=present).
    type: str
  subject_alternative_names:
    description: Further names the certificate covers (O(domain_name) is always one of them).
    type: list
    elements: str
    default: []
  wait:
    description:
      - With O(state=present), wait until ACM has issued the certificate (its validation records must
        exist in DNS).
      - With O(state=absent), wait until no resource uses the certificates any more (ACM releases a
        certificate some minutes after the CloudFront distribution that used it is deleted).
      - Never waits in check mode.
    type: bool
    default: false
  wait_timeout:
    description: How long to wait with O(wait), in seconds.
    type: int
    default: 1800
  state:
    description:
      - Whether the certificate should exist.
      - V(absent) deletes every Amazon-issued certificate tagged C(Name=)O(name), and fails without
        deleting any while one is still in use (a CloudFront distribution must be deleted, or use another
        certificate, first).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - stream_sales.platform.attributes
notes:
  - The C(Name) tag is always set to O(name), whatever O(tags) says.
author:
  - Stream Sales platform team (@stream-sales)
"""

EXAMPLES = r"""
- name: Certificate for the site's domain names (CloudFront needs it in us-east-1)
  stream_sales.platform.acm_dns_certificate:
    name: stream-sales-production
    domain_name: shop.example.com
    subject_alternative_names: [www.shop.example.com]
    region: us-east-1
    tags: {Project: StreamSales}
  register: certificate

- name: Validation records
  amazon.aws.route53:
    hosted_zone_id: Z0123456789ABCDEFGHIJ
    record: "{{ item.name }}"
    type: "{{ item.type }}"
    value: "{{ item.value }}"
    ttl: 300
    overwrite: true
  loop: "{{ certificate.validation_records }}"

- name: Wait until ACM has issued it
  stream_sales.platform.acm_dns_certificate:
    name: stream-sales-production
    domain_name: shop.example.com
    subject_alternative_names: [www.shop.example.com]
    region: us-east-1
    tags: {Project: StreamSales}
    wait: true

- name: Delete it (after the distribution that used it)
  stream_sales.platform.acm_dns_certificate:
    name: stream-sales-production
    region: us-east-1
    state: absent
"""

RETURN = r"""
arn:
  description: The certificate's ARN (empty when absent, or not yet requested in check mode).
  returned: always
  type: str
  sample: arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666
status:
  description:
    - ACM's status of the certificate, for example C(PENDING_VALIDATION) or C(ISSUED) (empty when there
      is none yet).
  returned: always
  type: str
domain_names:
  description: Every name the certificate covers, its main domain name first.
  returned: when O(state=present)
  type: list
  elements: str
validation_records:
  description: The DNS records that validate the certificate, one per distinct record (empty in check mode
    before the request).
  returned: when O(state=present)
  type: list
  elements: dict
  contains:
    name:
      description: Record name (fully qualified, with the trailing dot).
      type: str
    type:
      description: Record type (C(CNAME)).
      type: str
    value:
      description: Record value.
      type: str
    domains:
      description: The certificate's names this record validates.
      type: list
      elements: str
replaced_arn:
  description: The certificate this run replaced because its names differed or it could no longer be
    issued; kept, since a distribution may still use it. Empty when nothing was replaced.
  returned: when O(state=present)
  type: str
other_arns:
  description: Other certificates tagged with O(name) (replaced earlier and kept), besides RV(arn).
  returned: when O(state=present)
  type: list
  elements: str
deleted_arns:
  description: Certificates deleted (or to be deleted in check mode).
  returned: when O(state=absent)
  type: list
  elements: str
deleted_records:
  description:
    - The DNS validation records of the deleted certificates, to remove from DNS as well (run with
      O(state=absent) in check mode first to read them while the certificates still exist).
    - Another certificate of this account for the same name uses the same record.
  returned: when O(state=absent)
  type: list
  elements: dict
  contains:
    name:
      description: Record name.
      type: str
    type:
      description: Record type.
      type: str
    value:
      description: Record value.
      type: str
"""

import uuid

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.stream_sales.platform.plugins.module_utils.aws import client
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import paginate
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tag_diff
from ansible_collections.stream_sales.platform.plugins.module_utils.aws import tags_after
from ansible_collections.stream_sales.platform.plugins.module_utils.waiting import wait_until

# ListCertificates returns only RSA_2048 certificates unless asked for other key types.
KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]
# A certificate in one of these states can still become (or is) usable; any other is replaced.
USABLE = ("ISSUED", "PENDING_VALIDATION")
# States from which ACM will never issue the certificate: waiting for them ends in failure.
HOPELESS = ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE")
# ACM adds the validation records to a new certificate a few seconds after the request.
RECORDS_TIMEOUT = 90


def norm(name):
    return (name or "").strip().lower().rstrip(".")


def wanted_names(p):
    """The certificate's names, the main one first, without duplicates."""
    main = norm(p["domain_name"])
    rest = sorted({norm(n) for n in p["subject_alternative_names"] if norm(n)} - {main})
    return [main] + rest


def describe(acm, arn):
    try:
        return acm.describe_certificate(aws_retry=True, CertificateArn=arn)["Certificate"]
    except is_boto3_error_code("ResourceNotFoundException"):
        return None


def named_certificates(acm, name):
    """Every Amazon-issued certificate tagged Name=name, described, with its tags; newest first."""
    found = []
    for summary in paginate(acm, "list_certificates", "CertificateSummaryList", Includes={"keyTypes": KEY_TYPES}):
        if summary.get("Type", "AMAZON_ISSUED") != "AMAZON_ISSUED":
            continue
        arn = summary["CertificateArn"]
        try:
            tags = boto3_tag_list_to_ansible_dict(acm.list_tags_for_certificate(aws_retry=True, CertificateArn=arn).get("Tags", []))
        except is_boto3_error_code("ResourceNotFoundException"):
            continue  # deleted meanwhile
        if tags.get("Name") != name:
            continue
        cert = describe(acm, arn)
        if cert is not None and cert.get("Type") == "AMAZON_ISSUED":
            cert["_tags"] = tags
            found.append(cert)
    found.sort(key=lambda c: str(c.get("CreatedAt", "")), reverse=True)
    return found


def names_of(cert):
    main = norm(cert.get("DomainName"))
    rest = sorted({norm(n) for n in cert.get("SubjectAlternativeNames", [])} - {main})
    return [main] + rest


def dns_validated(cert):
    options = cert.get("DomainValidationOptions") or []
    return all(o.get("ValidationMethod", "DNS") == "DNS" for o in options)


def has_all_records(cert):
    if cert is None:
        return False
    options = {norm(o.get("DomainName")): o for o in cert.get("DomainValidationOptions") or []}
    return all(options.get(n, {}).get("ResourceRecord") for n in names_of(cert))


def validation_records(cert):
    """One entry per distinct record (a wildcard and its apex share one), sorted by name."""
    records = {}
    for option in cert.get("DomainValidationOptions") or []:
        rr = option.get("ResourceRecord")
        if not rr:
            continue
        key = (rr["Name"], rr["Type"], rr["Value"])
        records.setdefault(key, []).append(norm(option.get("DomainName")))
    return [{"name": k[0], "type": k[1], "value": k[2], "domains": sorted(set(v))} for k, v in sorted(records.items())]


def summary(module, cert):
    if cert is None:
        return {}
    return {"arn": cert["CertificateArn"], "domain_names": names_of(cert), "validation_method": "DNS",
            "status": current_status(cert), "tags": cert.get("_tags", {})}


def ensure_absent(module, acm):
    p = module.params
    certs = named_certificates(acm, p["name"])
    in_use = {c["CertificateArn"]: c.get("InUseBy") for c in certs if c.get("InUseBy")}
    if in_use and p["wait"] and not module.check_mode:
        # ACM releases a certificate minutes after the distribution that used it is deleted.
        def still_used():
            return {arn: users for arn, users in ((arn, (describe(acm, arn) or {}).get("InUseBy")) for arn in in_use) if users}
        in_use = wait_until(still_used, lambda used: not used, timeout=p["wait_timeout"], first_delay=5, max_delay=30)[0]
    if in_use:
        why = "; ".join(f"{arn} is used by {', '.join(users)}" for arn, users in in_use.items())
        if module.check_mode:
            # A teardown's check mode has not deleted the distribution that a real run deletes first.
            module.warn(f"Certificate(s) tagged Name={p['name']} still in use: {why}")
        else:
            module.fail_json(msg=f"Cannot delete the certificate(s) tagged Name={p['name']}: {why}. "
                                 "Delete the CloudFront distribution (or give it another certificate) first.")
    deleted = []
    for cert in certs:
        if not module.check_mode:
            try:
                acm.delete_certificate(aws_retry=True, CertificateArn=cert["CertificateArn"])
            except is_boto3_error_code("ResourceNotFoundException"):
                continue
            except is_boto3_error_code("ResourceInUseException"):
                module.fail_json(msg=f"Cannot delete certificate {cert['CertificateArn']} (Name={p['name']}): it is still "
                                     "in use. Delete the CloudFront distribution (or give it another certificate) first.",
                                 deleted_arns=deleted)
        deleted.append(cert["CertificateArn"])
    records = {(r["name"], r["type"], r["value"]): r for c in certs for r in validation_records(c)}
    result = dict(changed=bool(certs), arn="", status="", deleted_arns=deleted,
                  deleted_records=[{"name": k[0], "type": k[1], "value": k[2]} for k in sorted(records)])
    if module._diff:
        result["diff"] = dict(before={c["CertificateArn"]: names_of(c) for c in certs}, after={})
    module.exit_json(**result)


def current_status(cert):
    return cert.get("Status", "") if cert else ""


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            domain_name=dict(type="str"),
            subject_alternative_names=dict(type="list", elements="str", default=[]),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=1800),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        required_if=[("state", "present", ("domain_name",))],
        supports_check_mode=True,
    )
    p = module.params
    acm = client(module, "acm")
    try:
        if p["state"] == "absent":
            ensure_absent(module, acm)
        names = wanted_names(p)
        if not names[0]:
            module.fail_json(msg="domain_name must not be empty")
        desired_tags = dict(p["tags"], Name=p["name"]) if p["tags"] is not None else {"Name": p["name"]}
        purge = p["purge_tags"] if p["tags"] is not None else False
        certs = named_certificates(acm, p["name"])
        matching = [c for c in certs if c.get("Status") in USABLE and names_of(c) == names and dns_validated(c)]
        # An issued certificate first, then the newest.
        matching.sort(key=lambda c: c.get("Status") != "ISSUED")
        current = matching[0] if matching else None
        replaced = "" if current else next((c["CertificateArn"] for c in certs if c.get("Status") in USABLE),
                                           certs[0]["CertificateArn"] if certs else "")
        before_cert = current or next((c for c in certs if c["CertificateArn"] == replaced), None)
        before = summary(module, before_cert)
        changed = False
        if current is None:
            changed = True
            after_tags = tags_after({}, desired_tags, True)
            if module.check_mode:
                cert = None
            else:
                arn = acm.request_certificate(
                    aws_retry=True, DomainName=names[0], ValidationMethod="DNS",
                    # Makes the call's own retries safe; reruns find the certificate by its Name tag.
                    IdempotencyToken=uuid.uuid4().hex,
                    Tags=ansible_dict_to_boto3_tag_list(after_tags),
                    **({"SubjectAlternativeNames": names} if len(names) > 1 else {}),
                )["CertificateArn"]
                cert = {"CertificateArn": arn}
        else:
            cert = current
            to_set, to_remove = tag_diff(current["_tags"], desired_tags, purge)
            after_tags = tags_after(current["_tags"], desired_tags, purge)
            if to_set or to_remove:
                changed = True
                if not module.check_mode:
                    if to_remove:
                        acm.remove_tags_from_certificate(aws_retry=True, CertificateArn=current["CertificateArn"],
                                                         Tags=[{"Key": k} for k in to_remove])
                    if to_set:
                        acm.add_tags_to_certificate(aws_retry=True, CertificateArn=current["CertificateArn"],
                                                    Tags=ansible_dict_to_boto3_tag_list(to_set))
        if cert is not None and not has_all_records(cert):
            # Just requested (or a moment ago): ACM adds the records within seconds; poll, no fixed sleep.
            arn = cert["CertificateArn"]
            cert, seen = wait_until(lambda: describe(acm, arn), has_all_records,
                                    timeout=RECORDS_TIMEOUT, first_delay=0.5, max_delay=5)
            if not seen:
                module.fail_json(msg=f"ACM gave certificate {arn} no DNS validation record for every name within "
                                     f"{RECORDS_TIMEOUT} s; rerun to read them again.", arn=arn, changed=changed)
        status = current_status(cert)
        if cert is not None and p["wait"] and not module.check_mode and status != "ISSUED":
            cert, issued = wait_until(lambda: describe(acm, cert["CertificateArn"]),
                                      lambda c: c is None or current_status(c) in ("ISSUED",) + HOPELESS,
                                      timeout=p["wait_timeout"], first_delay=2, max_delay=30)
            status = current_status(cert)
            if status != "ISSUED":
                records = ", ".join(f"{r['name']} {r['type']} {r['value']}" for r in validation_records(cert or {}))
                why = (f"it is {status}" if issued else f"still {status} after {p['wait_timeout']} s")
                module.fail_json(msg=f"ACM has not issued certificate {(cert or {}).get('CertificateArn', '')} ({why}); "
                                     f"its DNS validation records must exist: {records}",
                                 arn=(cert or {}).get("CertificateArn", ""), status=status, changed=changed,
                                 replaced_arn=replaced)
        arn = (cert or {}).get("CertificateArn", "")
        after = {"arn": arn, "domain_names": names, "validation_method": "DNS", "status": status, "tags": after_tags}
        result = dict(
            changed=changed, arn=arn, status=status, domain_names=names,
            validation_records=validation_records(cert or {}), replaced_arn=replaced,
            other_arns=[c["CertificateArn"] for c in certs if c["CertificateArn"] != arn],
        )
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage the ACM certificate tagged Name={p['name']}")
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
