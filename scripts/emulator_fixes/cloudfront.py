"""CloudFront: cache policies, function stages, distributions and origin access controls as AWS keeps them.

Versions: every CloudFront resource that takes IfMatch has an ETag that changes with each change;
a write without IfMatch fails with InvalidIfMatchVersion, one with a stale ETag with
PreconditionFailed (412), as on AWS (moto ignores IfMatch and never changes an ETag).
"""
from __future__ import annotations

import copy
import datetime

from botocore import xform_name
from moto.cloudfront import models, responses, urls
from moto.cloudfront.exceptions import CloudFrontException, InvalidIfMatchVersion, NoSuchFunctionExists
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.moto_api._internal import mock_random as random

API = "{0}/2020-05-31"


class PreconditionFailed(CloudFrontException):
    def __init__(self) -> None:
        super().__init__("PreconditionFailed",
                         "The precondition given in one or more of the request-header fields evaluated to false.")


def _check_if_match(given: str | None, current: str) -> None:
    if not given:
        raise InvalidIfMatchVersion()
    if given != current:
        raise PreconditionFailed()


def _new_etag() -> str:
    return models.random_id(length=14)


def _behaviors(dist) -> list:
    """The default and ordered cache behaviors of a distribution (moto's objects)."""
    config = dist.distribution_config
    return [config.DefaultCacheBehavior, *(config.CacheBehaviors.get("Items") or [])]


def _all_distributions(backend) -> list:
    return list(backend.distributions.values())


# --------------------------------------------------------------------------------------------
# Cache policies
# --------------------------------------------------------------------------------------------

def _cache_params(gzip, brotli, headers, cookies, query_strings):
    """ParametersInCacheKeyAndForwardedToOrigin; each of headers/cookies/query_strings is
    (behavior, [names])."""
    def config(kind, behavior, names):
        out = {f"{kind}Behavior": behavior}
        if names:
            out[f"{kind}s"] = {"Quantity": len(names), "Items": list(names)}
        return out
    return {
        "EnableAcceptEncodingGzip": gzip,
        "EnableAcceptEncodingBrotli": brotli,
        "HeadersConfig": config("Header", *headers),
        "CookiesConfig": config("Cookie", *cookies),
        "QueryStringsConfig": config("QueryString", *query_strings),
    }


_ORIGIN_METHOD_HEADERS = ["Host", "Origin", "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"]
# AWS's managed cache policies (developer guide, "Use managed cache policies"): same IDs in every account.
MANAGED_CACHE_POLICIES = {
    "2e54312d-136d-493c-8eb9-b001f22f67d2": ("Managed-Amplify", "Policy for Amplify Origin", 2, 2, 600,
                                             _cache_params(True, True, ("whitelist", ["Authorization", "CloudFront-Viewer-Country", "Host"]),
                                                           ("all", []), ("all", []))),
    "4135ea2d-6df8-44a3-9df3-4b5a84be39ad": ("Managed-CachingDisabled", "Policy with caching disabled", 0, 0, 0,
                                             _cache_params(False, False, ("none", []), ("none", []), ("none", []))),
    "658327ea-f89d-4fab-a63d-7e88639e58f6": ("Managed-CachingOptimized",
                                             "Policy with caching enabled. Supports Gzip and Brotli compression.",
                                             1, 86400, 31536000,
                                             _cache_params(True, True, ("none", []), ("none", []), ("none", []))),
    "b2884449-e4de-46a7-ac36-70bc7f1ddd6d": ("Managed-CachingOptimizedForUncompressedObjects",
                                             "Default policy when compression is disabled", 1, 86400, 31536000,
                                             _cache_params(False, False, ("none", []), ("none", []), ("none", []))),
    "08627262-05a9-4f76-9ded-b50ca2e3a84f": ("Managed-Elemental-MediaPackage", "Policy for Elemental MediaPackage Origin",
                                             0, 86400, 31536000,
                                             _cache_params(True, False, ("whitelist", ["origin"]), ("none", []),
                                                           ("whitelist", ["aws.manifestfilter", "end", "m", "start"]))),
    "83da9c7e-98b4-4e11-a168-04f0df8e2c65": ("Managed-UseOriginCacheControlHeaders",
                                             "Policy for origins that return Cache-Control headers", 0, 0, 31536000,
                                             _cache_params(True, True, ("whitelist", _ORIGIN_METHOD_HEADERS), ("all", []),
                                                           ("none", []))),
    "4cc15a8a-d715-48a4-82b8-cc0b614638fe": ("Managed-UseOriginCacheControlHeaders-QueryStrings",
                                             "Policy for origins that return Cache-Control headers and serve different "
                                             "content based on query strings", 0, 0, 31536000,
                                             _cache_params(True, True, ("whitelist", _ORIGIN_METHOD_HEADERS), ("all", []),
                                                           ("all", []))),
}
_MANAGED_SINCE = datetime.datetime(2020, 7, 22, tzinfo=datetime.timezone.utc)
MAX_CUSTOM_CACHE_POLICIES = 20  # per account (CloudFront quotas)


class CachePolicy:
    def __init__(self, policy_id: str, config: dict, managed: bool = False, modified=None) -> None:
        self.id = policy_id
        self.config = config
        self.managed = managed
        self.etag = _new_etag()
        self.last_modified_time = modified or utcnow()

    @property
    def resource(self) -> dict:
        return {"Id": self.id, "LastModifiedTime": self.last_modified_time, "CachePolicyConfig": self.config}


_MANAGED = {pid: CachePolicy(pid, {"Name": name, "Comment": comment, "MinTTL": low, "DefaultTTL": default, "MaxTTL": high,
                                   "ParametersInCacheKeyAndForwardedToOrigin": params},
                             managed=True, modified=_MANAGED_SINCE)
            for pid, (name, comment, low, default, high, params) in MANAGED_CACHE_POLICIES.items()}


def _valid_cache_policy_config(config: dict) -> dict:
    """The config as CloudFront stores it (TTL defaults filled in), or InvalidArgument /
    InconsistentQuantities as CloudFront answers."""
    config = copy.deepcopy(config)
    if not config.get("Name"):
        raise CloudFrontException("InvalidArgument", "The cache policy name is required.")
    low = int(config.get("MinTTL") or 0)
    config["MinTTL"] = low
    config.setdefault("DefaultTTL", max(86400, low))
    config.setdefault("MaxTTL", max(31536000, config["DefaultTTL"]))
    if not low <= config["DefaultTTL"] <= config["MaxTTL"]:
        raise CloudFrontException("InvalidArgument",
                                  "The minimum TTL must be less than or equal to the default TTL, which must be less "
                                  "than or equal to the maximum TTL.")
    params = config.get("ParametersInCacheKeyAndForwardedToOrigin") or {}
    for block, items_key in (("HeadersConfig", "Headers"), ("CookiesConfig", "Cookies"),
                             ("QueryStringsConfig", "QueryStrings")):
        listed = (params.get(block) or {}).get(items_key)
        if listed is not None and int(listed.get("Quantity", 0)) != len(listed.get("Items") or []):
            raise CloudFrontException("InconsistentQuantities",
                                      "The value of Quantity and the size of Items don't match.")
    return config


def _cache_policy(backend, policy_id: str) -> CachePolicy:
    policy = backend.cache_policies.get(policy_id) or _MANAGED.get(policy_id)
    if policy is None:
        raise CloudFrontException("NoSuchCachePolicy", "The cache policy does not exist.")
    return policy


def _name_taken(backend, name: str, other_than: str = "") -> bool:
    return any(p.config["Name"] == name and p.id != other_than
               for p in [*backend.cache_policies.values(), *_MANAGED.values()])


def _distributions_using_cache_policy(backend, policy_id: str) -> list:
    return [d.distribution_id for d in _all_distributions(backend)
            if any(getattr(b, "cache_policy_id", "") == policy_id for b in _behaviors(d))]


def cache_policies() -> None:
    """CloudFront cache policies, which moto 5.2.5 lacks altogether (CreateCachePolicy and every other
    *CachePolicy* operation answered 404).

    Create / Get / GetConfig / Update / Delete / List as AWS answers them: ETags and IfMatch, names
    unique (CachePolicyAlreadyExists), at most 20 custom policies, TTL defaults and order checked,
    the seven AWS managed policies (Type=managed, their real IDs and settings) readable and neither
    updatable nor deletable (IllegalUpdate / IllegalDelete), a policy a distribution uses not
    deletable (CachePolicyInUse), and distributions naming a cache policy that does not exist refused
    (NoSuchCachePolicy), as CloudFront does.
    """
    urls.url_paths[API + "/cache-policy$"] = responses.CloudFrontResponse.dispatch
    urls.url_paths[API + "/cache-policy/(?P<cache_policy_id>[^/]+)$"] = responses.CloudFrontResponse.dispatch
    urls.url_paths[API + "/cache-policy/(?P<cache_policy_id>[^/]+)/config$"] = responses.CloudFrontResponse.dispatch

    backend_init = models.CloudFrontBackend.__init__

    def __init__(self, region_name, account_id):
        backend_init(self, region_name, account_id)
        self.cache_policies = {}

    models.CloudFrontBackend.__init__ = __init__

    def check_references(backend, config: dict) -> None:
        behaviors = [config.get("DefaultCacheBehavior") or {}, *((config.get("CacheBehaviors") or {}).get("Items") or [])]
        for behavior in behaviors:
            policy_id = behavior.get("CachePolicyId")
            if policy_id:
                _cache_policy(backend, policy_id)

    create = models.CloudFrontBackend.create_distribution_with_tags
    update = models.CloudFrontBackend.update_distribution

    def create_distribution_with_tags(self, distribution_config, tags):
        check_references(self, distribution_config)
        return create(self, distribution_config, tags)

    def update_distribution(self, dist_config, _id, if_match):
        check_references(self, dist_config or {})
        return update(self, dist_config, _id, if_match)

    models.CloudFrontBackend.create_distribution_with_tags = create_distribution_with_tags
    models.CloudFrontBackend.update_distribution = update_distribution

    def result(policy: CachePolicy, **extra) -> ActionResult:
        return ActionResult({"CachePolicy": policy.resource, "ETag": policy.etag, **extra})

    def create_cache_policy(self):
        config = _valid_cache_policy_config(self._get_param("CachePolicyConfig", {}))
        if _name_taken(self.backend, config["Name"]):
            raise CloudFrontException("CachePolicyAlreadyExists", "A cache policy with this name already exists.")
        if len(self.backend.cache_policies) >= MAX_CUSTOM_CACHE_POLICIES:
            raise CloudFrontException("TooManyCachePolicies",
                                      "You have reached the maximum number of cache policies for this AWS account.")
        policy = CachePolicy(str(random.uuid4()), config)
        self.backend.cache_policies[policy.id] = policy
        return result(policy, Location=f"https://cloudfront.amazonaws.com/2020-05-31/cache-policy/{policy.id}")

    def get_cache_policy(self):
        return result(_cache_policy(self.backend, self._get_param("Id")))

    def get_cache_policy_config(self):
        policy = _cache_policy(self.backend, self._get_param("Id"))
        return ActionResult({"CachePolicyConfig": policy.config, "ETag": policy.etag})

    def update_cache_policy(self):
        policy = _cache_policy(self.backend, self._get_param("Id"))
        if policy.managed:
            raise CloudFrontException("IllegalUpdate", "You cannot update a managed cache policy.")
        _check_if_match(self._get_param("IfMatch"), policy.etag)
        config = _valid_cache_policy_config(self._get_param("CachePolicyConfig", {}))
        if _name_taken(self.backend, config["Name"], other_than=policy.id):
            raise CloudFrontException("CachePolicyAlreadyExists", "A cache policy with this name already exists.")
        policy.config, policy.etag, policy.last_modified_time = config, _new_etag(), utcnow()
        return result(policy)

    def delete_cache_policy(self):
        policy = _cache_policy(self.backend, self._get_param("Id"))
        if policy.managed:
            raise CloudFrontException("IllegalDelete", "You cannot delete a managed cache policy.")
        _check_if_match(self._get_param("IfMatch"), policy.etag)
        if _distributions_using_cache_policy(self.backend, policy.id):
            raise CloudFrontException("CachePolicyInUse",
                                      "Cannot delete the cache policy because it is attached to one or more cache behaviors.")
        del self.backend.cache_policies[policy.id]
        return EmptyResult()

    def list_cache_policies(self):
        kind = self._get_param("Type")
        if kind not in (None, "", "managed", "custom"):
            raise CloudFrontException("InvalidArgument", "Type must be managed or custom.")
        listed = [("managed", p) for p in _MANAGED.values()] if kind in (None, "", "managed") else []
        listed += [("custom", p) for p in self.backend.cache_policies.values()] if kind in (None, "", "custom") else []
        marker, max_items = self._get_param("Marker"), int(self._get_param("MaxItems") or 100)
        start = next((i for i, (ignored, p) in enumerate(listed) if p.id == marker), 0) if marker else 0
        page, rest = listed[start:start + max_items], listed[start + max_items:]
        body = {"MaxItems": max_items, "Quantity": len(page),
                "Items": [{"Type": t, "CachePolicy": p.resource} for t, p in page]}
        if rest:
            body["NextMarker"] = rest[0][1].id
        return ActionResult({"CachePolicyList": body})

    for method in (create_cache_policy, get_cache_policy, get_cache_policy_config, update_cache_policy,
                   delete_cache_policy, list_cache_policies):
        setattr(responses.CloudFrontResponse, method.__name__, method)


# --------------------------------------------------------------------------------------------
# CloudFront Functions: DEVELOPMENT and LIVE stages
# --------------------------------------------------------------------------------------------

def _function_in_use(backend, arn: str) -> bool:
    for dist in _all_distributions(backend):
        for behavior in _behaviors(dist):
            for assoc in (behavior.function_associations or {}).get("Items") or []:
                if assoc.get("FunctionARN") == arn:
                    return True
    return False


def function_stages() -> None:
    """CloudFront Functions with their two stages, as AWS keeps them.

    moto 5.2.5 has neither UpdateFunction nor PublishFunction, keeps one stage (DEVELOPMENT) and
    ignores Stage in DescribeFunction / GetFunction / ListFunctions. Now: UpdateFunction changes the
    DEVELOPMENT stage (IfMatch its ETag); PublishFunction copies DEVELOPMENT to LIVE; each stage has
    its own code, config and ETag; DescribeFunction and GetFunction answer for the stage asked
    (DEVELOPMENT by default; LIVE of a function never published is NoSuchFunctionExists);
    ListFunctions(Stage=LIVE) lists only published functions; Status is UNPUBLISHED until published,
    then UNASSOCIATED, or DEPLOYED while a distribution runs it; DeleteFunction needs a current ETag
    and fails with FunctionInUse while a distribution runs it.
    """
    urls.url_paths[API + "/function/(?P<function_name>[^/]+)/publish$"] = responses.CloudFrontResponse.dispatch

    function_init = models.CloudFrontFunction.__init__

    def __init__(self, *args, **kwargs):
        function_init(self, *args, **kwargs)
        self.live = None  # {"config", "code", "etag", "last_modified_time"} once published
        self.dirty = True  # DEVELOPMENT differs from LIVE

    models.CloudFrontFunction.__init__ = __init__

    def summary(backend, fn, stage: str) -> dict:
        if stage == "LIVE":
            config, modified = fn.live["config"], fn.live["last_modified_time"]
        else:
            config, modified = fn.config, fn.last_modified_time
        if fn.live is None or (stage == "DEVELOPMENT" and fn.dirty):
            status = "UNPUBLISHED"
        else:
            status = "DEPLOYED" if _function_in_use(backend, fn.arn) else "UNASSOCIATED"
        return {"Name": fn.name, "Status": status, "FunctionConfig": config,
                "FunctionMetadata": {"FunctionARN": fn.arn, "Stage": stage, "CreatedTime": fn.created_time,
                                     "LastModifiedTime": modified}}

    def staged(self):
        fn = self.backend.describe_function(self._get_param("Name"))
        stage = self._get_param("Stage") or "DEVELOPMENT"
        if stage == "LIVE" and fn.live is None:
            raise NoSuchFunctionExists(fn.name)
        return fn, stage

    def describe_function(self):
        fn, stage = staged(self)
        etag = fn.live["etag"] if stage == "LIVE" else fn.etag
        return ActionResult({"FunctionSummary": summary(self.backend, fn, stage), "ETag": etag})

    def get_function(self):
        fn, stage = staged(self)
        code, etag = (fn.live["code"], fn.live["etag"]) if stage == "LIVE" else (fn.code, fn.etag)
        return ActionResult({"FunctionCode": code, "ETag": etag, "ContentType": "application/octet-stream"})

    def update_function(self):
        fn = self.backend.describe_function(self._get_param("Name"))
        _check_if_match(self._get_param("IfMatch"), fn.etag)
        fn.config = self._get_param("FunctionConfig", {})
        fn.code = self._get_param("FunctionCode")
        fn.etag, fn.last_modified_time, fn.dirty = _new_etag(), utcnow(), True
        return ActionResult({"FunctionSummary": summary(self.backend, fn, "DEVELOPMENT"), "ETag": fn.etag})

    def publish_function(self):
        fn = self.backend.describe_function(self._get_param("Name"))
        _check_if_match(self._get_param("IfMatch"), fn.etag)
        fn.live = {"config": copy.deepcopy(fn.config), "code": fn.code, "etag": _new_etag(),
                   "last_modified_time": utcnow()}
        fn.dirty = False
        return ActionResult({"FunctionSummary": summary(self.backend, fn, "LIVE")})

    def list_functions(self):
        stage = self._get_param("Stage")
        functions = [f for f in self.backend.functions.values() if stage != "LIVE" or f.live is not None]
        marker, max_items = self._get_param("Marker"), int(self._get_param("MaxItems") or 100)
        names = [f.name for f in functions]
        start = names.index(marker) if marker in names else 0
        page, rest = functions[start:start + max_items], functions[start + max_items:]
        body = {"MaxItems": max_items, "Quantity": len(page),
                "Items": [summary(self.backend, f, stage or "DEVELOPMENT") for f in page]}
        if rest:
            body["NextMarker"] = rest[0].name
        return ActionResult({"FunctionList": body})

    def delete_function(self):
        fn = self.backend.describe_function(self._get_param("Name"))
        given = self._get_param("IfMatch")
        if given not in (fn.etag, (fn.live or {}).get("etag")):
            _check_if_match(given, fn.etag)
        if _function_in_use(self.backend, fn.arn):
            raise CloudFrontException("FunctionInUse", "Cannot delete the function, it's in use by one or more cache behaviors.")
        del self.backend.functions[fn.name]
        return EmptyResult()

    for method in (describe_function, get_function, update_function, publish_function, list_functions, delete_function):
        setattr(responses.CloudFrontResponse, method.__name__, method)


# --------------------------------------------------------------------------------------------
# Distributions
# --------------------------------------------------------------------------------------------

def _counted(block, defaults: dict | None = None) -> dict:
    """A {Quantity, Items} block as CloudFront echoes it: Quantity is the count, no Items when empty."""
    items = [dict(defaults or {}, **item) for item in ((block or {}).get("Items") or [])]
    return {"Quantity": len(items), "Items": items} if items else {"Quantity": 0}


def _keep_unknown(obj, config: dict) -> None:
    """Keep every key of the request moto has no attribute for, as sent."""
    for key, value in config.items():
        if not hasattr(obj, key) and not hasattr(obj, xform_name(key)):
            setattr(obj, key, copy.deepcopy(value))


def distribution_config_kept() -> None:
    """GetDistributionConfig (and GetDistribution, ListDistributions) answer with what was sent.

    moto 5.2.5 dropped, measured by comparing the product's request with GetDistributionConfig:
    each origin's OriginAccessControlId and S3OriginConfig; each cache behavior's
    FunctionAssociations and LambdaFunctionAssociations (IncludeBody); and it added what AWS omits
    for a behavior with a cache policy (ForwardedValues, Min/Default/MaxTTL), empty
    OriginRequestPolicyId and RealtimeLogConfigArn, and empty TrustedSigners / TrustedKeyGroups
    Items; and with an ACM certificate it still reported CloudFrontDefaultCertificate true and
    CertificateSource cloudfront. Any other origin or behavior field moto has no place for is kept as
    sent. (WebACLId and Logging were kept already.)
    """
    origin_init = models.Origin.__init__

    def origin(self, config):
        origin_init(self, config)
        self.origin_access_control_id = config.get("OriginAccessControlId", "")
        _keep_unknown(self, config)

    models.Origin.__init__ = origin

    def keep_behavior(self, config):
        self.function_associations = _counted(config.get("FunctionAssociations"))
        self.lambda_function_associations = _counted(config.get("LambdaFunctionAssociations"), {"IncludeBody": False})
        if config.get("CachePolicyId"):
            # A cache policy replaces the legacy cache settings: AWS reports none it was not sent.
            for key in ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL"):
                if key not in config:
                    setattr(self, xform_name(key), None)
        for key in ("OriginRequestPolicyId", "RealtimeLogConfigArn", "ResponseHeadersPolicyId"):
            if not config.get(key):
                setattr(self, xform_name(key), None)
        for signers in (self.trusted_signers, self.trusted_key_groups):
            if not signers.items:
                signers.items = None
        _keep_unknown(self, config)

    for cls in (models.DefaultCacheBehaviour, models.CacheBehaviour):
        def wrapped(self, config, _init=cls.__init__):
            _init(self, config)
            keep_behavior(self, config)
        cls.__init__ = wrapped

    certificate_init = models.ViewerCertificate.__init__

    def certificate(self, config):
        certificate_init(self, config)
        if self.acm_certificate_arn:
            self.cloud_front_default_certificate, self.certificate_source = False, "acm"
            self.certificate, self.iam_certificate_id = self.acm_certificate_arn, None
        elif self.iam_certificate_id:
            self.cloud_front_default_certificate, self.certificate_source = False, "iam"
            self.certificate, self.acm_certificate_arn = self.iam_certificate_id, None
        else:
            self.certificate = self.acm_certificate_arn = self.iam_certificate_id = None

    models.ViewerCertificate.__init__ = certificate


def distribution_versions() -> None:
    """Distribution ETags and IfMatch as on AWS.

    moto 5.2.5 gives a distribution one ETag for life and accepts any IfMatch. Now each
    UpdateDistribution yields a new ETag (GetDistribution and GetDistributionConfig report it),
    UpdateDistribution and DeleteDistribution with a stale ETag fail with PreconditionFailed, and
    deleting a distribution that is still enabled fails with DistributionNotDisabled.
    """
    update = models.CloudFrontBackend.update_distribution
    delete = models.CloudFrontBackend.delete_distribution

    def update_distribution(self, dist_config, _id, if_match):
        if _id in self.distributions:
            _check_if_match(if_match, self.distributions[_id].etag)
        dist, location, ignored = update(self, dist_config, _id, if_match)
        dist.etag = _new_etag()
        return dist, location, dist.etag

    def delete_distribution(self, distribution_id, if_match):
        dist = self.distributions.get(distribution_id)
        if dist is not None:
            _check_if_match(if_match, dist.etag)
            if dist.distribution_config.Enabled:
                raise CloudFrontException("DistributionNotDisabled",
                                          "The distribution you are trying to delete has not been disabled.")
        return delete(self, distribution_id, if_match)

    models.CloudFrontBackend.update_distribution = update_distribution
    models.CloudFrontBackend.delete_distribution = delete_distribution


# --------------------------------------------------------------------------------------------
# Origin access controls
# --------------------------------------------------------------------------------------------

def origin_access_controls_as_aws() -> None:
    """Origin access controls as AWS keeps them.

    moto 5.2.5 accepts two controls with one name, never changes a control's ETag, ignores IfMatch,
    answers a delete of an unknown control with a server error and deletes one a distribution
    still uses. Now: names are unique (OriginAccessControlAlreadyExists), each update yields a new
    ETag, updates and deletes need the current one (InvalidIfMatchVersion / PreconditionFailed), an
    unknown Id is NoSuchOriginAccessControl, and a control an origin uses is
    OriginAccessControlInUse.
    """
    create = models.CloudFrontBackend.create_origin_access_control

    def create_origin_access_control(self, config_dict):
        if any(c.name == config_dict.get("Name") for c in self.origin_access_controls.values()):
            raise CloudFrontException("OriginAccessControlAlreadyExists",
                                      "An origin access control with the same name already exists.")
        return create(self, config_dict)

    models.CloudFrontBackend.create_origin_access_control = create_origin_access_control

    def update_origin_access_control(self):
        control = self.backend.get_origin_access_control(self._get_param("Id"))
        _check_if_match(self._get_param("IfMatch"), control.etag)
        config = self._get_param("OriginAccessControlConfig", {})
        if any(c.name == config.get("Name") and c.id != control.id for c in self.backend.origin_access_controls.values()):
            raise CloudFrontException("OriginAccessControlAlreadyExists",
                                      "An origin access control with the same name already exists.")
        control.update(config)
        control.etag = _new_etag()
        return ActionResult({"OriginAccessControl": {"Id": control.id, "OriginAccessControlConfig": control},
                             "ETag": control.etag})

    def delete_origin_access_control(self):
        control = self.backend.get_origin_access_control(self._get_param("Id"))
        _check_if_match(self._get_param("IfMatch"), control.etag)
        for dist in _all_distributions(self.backend):
            if any(getattr(o, "origin_access_control_id", "") == control.id for o in dist.distribution_config.Origins["Items"]):
                raise CloudFrontException("OriginAccessControlInUse",
                                          "Cannot delete the origin access control because it's in use by one or more origins.")
        del self.backend.origin_access_controls[control.id]
        return EmptyResult()

    for method in (update_origin_access_control, delete_origin_access_control):
        setattr(responses.CloudFrontResponse, method.__name__, method)


FIXES = (cache_policies, function_stages, distribution_config_kept, distribution_versions, origin_access_controls_as_aws)
