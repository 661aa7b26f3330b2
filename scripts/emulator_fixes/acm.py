"""ACM: DNS validation decided by the emulator's Route 53, and certificates in use by CloudFront."""
from __future__ import annotations

import hashlib

from moto.acm import models
from moto.cloudfront.models import cloudfront_backends
from moto.core.exceptions import AWSError
from moto.core.utils import utcnow
from moto.route53.models import route53_backends


class ResourceInUse(AWSError):
    TYPE = "ResourceInUseException"


def _fqdn(name: str) -> str:
    return (name or "").strip().lower().rstrip(".")


def _hex(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def validation_record(account_id: str, domain: str) -> dict:
    """The CNAME ACM asks for to validate `domain` in this account.

    Like ACM's: one record per account and domain (every certificate of the account for that name,
    and a wildcard and its apex, share it), named `_<token>.<domain>.` with a value under
    acm-validations.aws.
    """
    base = domain[2:] if domain.startswith("*.") else domain
    token = _hex("acm-validation", account_id, _fqdn(base))
    label = "".join(chr(ord("a") + int(c, 16) % 26) for c in token[32:42])
    return {"Name": f"_{token[:32]}.{_fqdn(base)}.", "Type": "CNAME",
            "Value": f"_{_hex('acm-value', account_id, _fqdn(base))[:32]}.{label}.acm-validations.aws."}


def record_in_dns(record: dict) -> bool:
    """Whether public DNS answers `record`, DNS being the emulator's Route 53: the record is in the public
    hosted zone (any account) with the longest name the record's name falls under, with that value."""
    name, value = _fqdn(record["Name"]), _fqdn(record["Value"])
    zones = []
    for account in list(route53_backends.values()):
        for backend in list(account.values()):
            for zone in backend.zones.values():
                apex = _fqdn(zone.name)
                if not zone.private_zone and (name == apex or name.endswith("." + apex)):
                    zones.append((len(apex), zone))
    if not zones:
        return False
    longest = max(length for length, ignored in zones)
    for _length, zone in (z for z in zones if z[0] == longest):
        for rrset in zone.rrsets:
            if _fqdn(rrset.name) == name and rrset.type == record["Type"]:
                values = [r.get("Value") if isinstance(r, dict) else r for r in rrset.records or []]
                if value in (_fqdn(v) for v in values):
                    return True
    return False


def _account(cert) -> str:
    return cert.arn.split(":")[4]


def _names(cert) -> list:
    """The certificate's names as requested: the main name first, then the others in order."""
    requested = getattr(cert, "requested_names", None) or [cert.common_name, *cert.sans]
    return list(dict.fromkeys(n for n in requested if n))


def validation_records_present(cert) -> bool:
    """The rule ACM applies before issuing a DNS-validated certificate: every name's validation
    CNAME is in DNS. (How long ACM then takes is the clock's business, not this rule's.)"""
    return all(record_in_dns(validation_record(_account(cert), n)) for n in _names(cert))


def _distributions_using(cert) -> list:
    arns = []
    for dist in cloudfront_backends[_account(cert)]["aws"].distributions.values():
        viewer = dist.distribution_config.ViewerCertificate
        if getattr(viewer, "acm_certificate_arn", None) == cert.arn:
            arns.append(dist.arn)
    return arns


def dns_validation_by_route53_records() -> None:
    """An Amazon-issued certificate is ISSUED once ACM finds its validation records in DNS.

    moto 5.2.5 issues every requested certificate ACM_VALIDATION_WAIT (60) seconds after the
    request whether its records exist or not (and never sooner), gives every domain of every
    account the same validation record, reports the names in random order and IssuedAt, NotBefore
    and NotAfter for certificates not issued. Now: each domain's record is its own (per account and
    domain, see validation_record()); a PENDING_VALIDATION certificate becomes ISSUED when every
    record is in a public hosted zone of the emulator's Route 53 with ACM's value, each domain's
    ValidationStatus turning SUCCESS as its record appears; names keep the request's order; a
    certificate not yet issued reports no validity dates.
    """
    request = models.AWSCertificateManagerBackend.request_certificate

    def request_certificate(self, domain_name, idempotency_token, subject_alt_names, tags,
                            cert_authority_arn=None, cert_options=None):
        arn = request(self, domain_name, idempotency_token, subject_alt_names, tags, cert_authority_arn, cert_options)
        cert = self._certificates[arn]
        if getattr(cert, "requested_names", None) is None:
            cert.requested_names = [domain_name, *(subject_alt_names or [])]
        return arn

    models.AWSCertificateManagerBackend.request_certificate = request_certificate

    def check(self):
        if self._not_valid_after(self._cert) <= utcnow():
            self.status = "EXPIRED"
            return
        if self.type == "AMAZON_ISSUED" and self.status == "PENDING_VALIDATION" and validation_records_present(self):
            self.status, self.issued_at = "ISSUED", utcnow()

    models.CertBundle.check = check

    original_describe = models.CertBundle.describe

    def describe(self):
        out = original_describe(self)
        cert = out["Certificate"]
        if self.type != "AMAZON_ISSUED":
            return out
        names = _names(self)
        cert["DomainName"], cert["SubjectAlternativeNames"] = names[0], names
        options = []
        for name in names:
            record = validation_record(_account(self), name)
            done = self.status == "ISSUED" or (self.status == "PENDING_VALIDATION" and record_in_dns(record))
            options.append({"DomainName": name, "ValidationDomain": name, "ValidationMethod": "DNS",
                            "ValidationStatus": "SUCCESS" if done else self.status, "ResourceRecord": record})
        cert["DomainValidationOptions"] = options
        if self.status == "ISSUED":
            cert["IssuedAt"] = getattr(self, "issued_at", None) or self.created_at
        else:
            for key in ("IssuedAt", "NotBefore", "NotAfter", "Serial"):
                cert.pop(key, None)
        return out

    models.CertBundle.describe = describe


def certificates_in_use_by_distributions() -> None:
    """InUseBy names the CloudFront distributions that serve a certificate, and such a certificate
    cannot be deleted (ResourceInUseException), as on AWS.

    moto 5.2.5 knows only load balancers as users, so a certificate a distribution serves was
    reported unused and deleted on request.
    """
    original_describe = models.CertBundle.describe

    def describe(self):
        out = original_describe(self)
        users = [u for u in out["Certificate"].get("InUseBy") or [] if ":cloudfront::" not in u]
        out["Certificate"]["InUseBy"] = users + _distributions_using(self)
        return out

    models.CertBundle.describe = describe

    delete = models.AWSCertificateManagerBackend.delete_certificate

    def delete_certificate(self, arn):
        cert = self._certificates.get(arn)
        if cert is not None and _distributions_using(cert):
            raise ResourceInUse(message=f"Certificate {arn} in account {_account(cert)} is in use.")
        return delete(self, arn)

    models.AWSCertificateManagerBackend.delete_certificate = delete_certificate


FIXES = (dns_validation_by_route53_records, certificates_in_use_by_distributions)
