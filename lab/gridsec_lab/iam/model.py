"""State of the lab IAM: accounts, clients, tokens, a movable clock, the request log and recorded mails.

Every rule cites the IAM v1.12 source it copies (``indigo-iam/iam@e998e43``, see docs/lab-iam.md and
../shared/reference/iam/IAM.md). ``…/`` = ``iam-login-service/src/main/java/it/infn/mw/iam/``.
"""
import base64
import copy
import dataclasses
import datetime
import json
import re
import secrets
import threading
import time
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ADMIN_SCOPES = ("scim:read", "scim:write", "iam:admin.read", "iam:admin.write")
# …/core/oauth/scope: restricted system scopes are not advertised in discovery (IamWellKnownInfoProvider)
RESTRICTED_SCOPES = set(ADMIN_SCOPES) | {"registration-token", "resource-token", "proxy:generate"}
UNRESTRICTED_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access", "wlcg",
                       "wlcg.groups", "eduperson_scoped_affiliation", "eduperson_entitlement",
                       "eduperson_assurance", "entitlements")
WLCG_ANY_AUDIENCE = "https://wlcg.cern.ch/jwt/v1/any"   # WLCGProfileAccessTokenBuilder default aud
# …/api/common/LabelDTO.java validation regexps (copied verbatim into the error messages)
LABEL_PREFIX_RE = r"^((?!-)[A-Za-z0-9-]{1,63}(?<!-)\.)+[A-Za-z]{2,6}$"
LABEL_NAME_RE = r"^[a-zA-Z][a-zA-Z0-9-_.]*$"
# WLCGGroupHelper scope grammar
WLCG_GROUP_SCOPE_RE = re.compile(r"^wlcg\.groups(?::((?:\/[a-zA-Z0-9][a-zA-Z0-9_.-]*)+))?$")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(value):
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclasses.dataclass
class Label:
    name: str
    value: str = None
    prefix: str = None

    def as_dict(self):  # LabelDTO, @JsonInclude(NON_EMPTY)
        out = {}
        if self.prefix:
            out["prefix"] = self.prefix
        out["name"] = self.name
        if self.value:
            out["value"] = self.value
        return out


@dataclasses.dataclass
class Certificate:
    subject_dn: str           # stored RFC 2253 string, compared exactly by find/bycertsubject
    issuer_dn: str = "CN=Gridsec Lab CA,DC=gridsec-lab,DC=test"
    display: str = None
    primary: bool = False
    created: float = None
    last_modified: float = None


@dataclasses.dataclass
class Account:
    id: str
    username: str
    given_name: str
    family_name: str
    email: str
    password: str = None
    active: bool = True
    groups: list = dataclasses.field(default_factory=list)          # group names: "atlas", "atlas/production"
    optional_groups: list = dataclasses.field(default_factory=list)  # carry wlcg.optional-group
    certificates: list = dataclasses.field(default_factory=list)
    oidc_ids: list = dataclasses.field(default_factory=list)         # [{"issuer":…, "subject":…}]
    labels: list = dataclasses.field(default_factory=list)
    service_account: bool = False
    created: float = None
    last_modified: float = None

    @property
    def name(self):  # ScimName.Builder.build() -> NameUtils.getFormatted: given [+ middle] + family
        return "%s %s" % (self.given_name, self.family_name)


@dataclasses.dataclass
class Client:
    client_id: str
    secret: str
    scopes: tuple
    grant_types: tuple
    numeric_id: int = 0
    client_name: str = None
    contacts: tuple = ()
    client_uri: str = None
    active: bool = True
    access_token_validity: int = 3600      # application.yml client-defaults
    refresh_token_validity: int = 2592000
    id_token_validity: int = 600

    @property
    def wlcg_profile(self):  # the client holds the `wlcg` scope -> WLCG JWT profile
        return "wlcg" in self.scopes

    def public(self, secret=True):
        out = {"client_id": self.client_id, "scopes": list(self.scopes), "grant_types": list(self.grant_types),
               "profile": "wlcg" if self.wlcg_profile else "iam"}
        if secret:
            out["client_secret"] = self.secret
        return out


@dataclasses.dataclass
class Token:
    id: int
    kind: str                 # "access" | "refresh"
    value: str
    client_id: str
    username: str             # None for client-credentials tokens
    scopes: list
    expiration: float         # epoch seconds (None = never, refresh tokens only)
    claims: dict = None
    refresh_id: int = None    # access tokens minted from a refresh token


def iso_joda(ts):
    """``…/api/scim/controller/utils/JsonDateSerializer.java`` (Joda ``ISODateTimeFormat.dateTime()``):
    milliseconds and offset; the lab runs in UTC, Joda prints a zero offset as ``Z`` [I]."""
    dt = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


class SigningKey:
    """The JWK the lab signs with (``keystore.jwks``: one RSA key, ``kid`` ``rsa1``, RS256 by default)."""

    def __init__(self, pem_path=None, kid="rsa1"):
        self.kid = kid
        key = None
        if pem_path:
            try:
                with open(pem_path, "rb") as handle:
                    key = serialization.load_pem_private_key(handle.read(), None)
            except FileNotFoundError:
                pass
        if key is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if pem_path:
                import os
                fd = os.open(pem_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        self.key = key
        numbers = key.public_key().public_numbers()
        # IamJWKSetPublishingEndpoint: public members only; the shipped keystore has no alg/use
        self.jwk = {"kty": "RSA", "e": _int_b64(numbers.e), "kid": kid, "n": _int_b64(numbers.n)}

    def sign(self, claims):
        header = {"kid": self.kid, "alg": "RS256"}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + b64url(json.dumps(claims, separators=(",", ":")).encode()))
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)


def plain_jwt(claims):
    """MITREid refresh tokens are unsigned JWTs (``alg: none``) holding ``exp`` and ``jti`` [I]."""
    return (b64url(json.dumps({"alg": "none"}, separators=(",", ":")).encode()) + "."
            + b64url(json.dumps(claims, separators=(",", ":")).encode()) + ".")


class IamState:
    """Everything the lab IAM stores. All access under ``self.lock``."""

    def __init__(self, base_url, issuer=None, key=None, include_scope=True, include_authn_info=True):
        self.lock = threading.RLock()
        self.base_url = base_url.rstrip("/")
        self.issuer = issuer or self.base_url                 # IAM_ISSUER, as configured (no slash added)
        self.key = key or SigningKey()
        self.include_scope = include_scope                     # IAM_ACCESS_TOKEN_INCLUDE_SCOPE
        self.include_authn_info = include_authn_info           # IAM_ACCESS_TOKEN_INCLUDE_AUTHN_INFO
        self.clock_offset = 0.0
        self.accounts = {}          # uuid -> Account, insertion order = list order
        self.clients = {}           # client_id -> Client
        self.tokens = {}            # (kind, id) -> Token
        self.by_value = {}          # value -> Token
        self.next_id = {"access": 1, "refresh": 1}
        self.requests = []          # request log (see server.py)
        self.mails = []             # e-mails IAM would have sent (accountSuspended.ftl / accountRestored.ftl)
        self._seed = None

    @property
    def discovery_issuer(self):  # MitreServicesConfig / IamWellKnownInfoProvider.getIssuerWithTrailingSlash
        return self.issuer if self.issuer.endswith("/") else self.issuer + "/"

    def now(self):
        return time.time() + self.clock_offset

    # -- set-up ----------------------------------------------------------------------------------
    def add_client(self, client):
        with self.lock:
            client.numeric_id = client.numeric_id or len(self.clients) + 1
            self.clients[client.client_id] = client
            return client

    def add_account(self, username, given_name, family_name, email=None, *, id=None, password=None,
                    active=True, groups=(), certificate_dns=(), oidc_ids=(), labels=()):
        with self.lock:
            now = self.now()
            account = Account(id=id or str(uuid.uuid4()), username=username, given_name=given_name,
                              family_name=family_name, email=email or "%s@lab.gridsec.test" % username,
                              password=password, active=active, groups=list(groups),
                              certificates=[Certificate(dn, display=username, created=now, last_modified=now)
                                            for dn in certificate_dns],
                              oidc_ids=[dict(item) for item in oidc_ids],
                              labels=[Label(**item) if isinstance(item, dict) else item for item in labels],
                              created=now, last_modified=now)
            self.accounts[account.id] = account
            return account

    def snapshot(self):
        """Remember the current accounts and clients as the state :meth:`reset` returns to."""
        with self.lock:
            self._seed = (copy.deepcopy(self.accounts), copy.deepcopy(self.clients))

    def reset(self):
        """Back to the snapshot: accounts, labels and clients restored; every token, the request log and
        the mails dropped; the clock back to real time."""
        with self.lock:
            accounts, clients = self._seed
            self.accounts = copy.deepcopy(accounts)
            self.clients = copy.deepcopy(clients)
            self.tokens.clear()
            self.by_value.clear()
            self.requests.clear()
            self.mails.clear()
            self.clock_offset = 0.0

    # -- lookups -----------------------------------------------------------------------------------
    def account_by_username(self, username):
        for account in self.accounts.values():
            if account.username == username:
                return account
        return None

    def token(self, value):
        """DB lookup of a bearer token (MITREid token service): None if unknown or deleted."""
        return self.by_value.get(value)

    def valid_tokens(self, kind):
        """TokensControllerSupport / Default{Access,Refresh}TokenService: only valid tokens, ordered by
        expiration (refresh tokens: expiration, id; a null expiration is valid)."""
        now = self.now()
        items = [t for (k, _), t in self.tokens.items()
                 if k == kind and (t.expiration is None and kind == "refresh" or
                                   t.expiration is not None and t.expiration > now)]
        return sorted(items, key=lambda t: (t.expiration if t.expiration is not None else float("inf"), t.id))

    def store_token(self, kind, value, client, username, scopes, expiration, claims=None, refresh_id=None):
        token = Token(self.next_id[kind], kind, value, client.client_id, username, list(scopes), expiration,
                      claims, refresh_id)
        self.next_id[kind] += 1
        self.tokens[(kind, token.id)] = token
        self.by_value[value] = token
        return token

    def delete_token(self, token):
        self.tokens.pop((token.kind, token.id), None)
        self.by_value.pop(token.value, None)

    def delete_all_tokens(self, kind):
        for token in [t for (k, _), t in self.tokens.items() if k == kind]:
            self.delete_token(token)

    # -- token minting (…/core/oauth/profile/**) ---------------------------------------------------
    def wlcg_groups(self, account, scopes):
        """WLCGGroupHelper: ``wlcg.groups:/g`` in request order (if a member), then for ``wlcg.groups``
        every non-optional group sorted by name [the combination order is I]."""
        out = []
        member = {"/" + g for g in account.groups}
        for scope in scopes:
            match = WLCG_GROUP_SCOPE_RE.match(scope)
            if match and match.group(1) and match.group(1) in member and match.group(1) not in out:
                out.append(match.group(1))
        if "wlcg.groups" in scopes:
            for group in sorted(account.groups):
                if group not in account.optional_groups and "/" + group not in out:
                    out.append("/" + group)
        return out

    def mint(self, client, account, scopes, audience=None, refresh=None):
        """Issue an access token (and, for a user with ``offline_access`` and a client allowed the
        refresh grant, a refresh token; and an ID token with ``openid``). Returns the token reply."""
        now = int(self.now())
        exp = now + client.access_token_validity
        claims = {}
        claims["iss"] = self.issuer                            # BaseAccessTokenBuilder: properties.getIssuer()
        claims["sub"] = account.id if account else client.client_id
        if audience:                                           # space-separated list; one value -> a string
            auds = audience.split()
            claims["aud"] = auds[0] if len(auds) == 1 else auds
        elif client.wlcg_profile:
            claims["aud"] = WLCG_ANY_AUDIENCE
        if client.wlcg_profile:                                # WLCGProfileAccessTokenBuilder
            claims["nbf"] = now
            claims["scope"] = " ".join(scopes)
            claims["wlcg.ver"] = "1.0"
            if account:
                groups = self.wlcg_groups(account, scopes)
                if groups:
                    claims["wlcg.groups"] = groups
        elif self.include_scope:                               # IamJWTProfileAccessTokenBuilder
            claims["scope"] = " ".join(scopes)
        if account and self.include_authn_info:
            if "profile" in scopes:
                claims["name"] = account.name
                claims["preferred_username"] = account.username
                if not client.wlcg_profile:
                    claims["organisation_name"] = "gridsec-lab"
                    if account.groups:
                        claims["groups"] = list(account.groups)
            if "email" in scopes:
                claims["email"] = account.email
        claims["exp"] = exp
        claims["iat"] = now
        claims["jti"] = str(uuid.uuid4())
        claims["client_id"] = client.client_id
        value = self.key.sign(claims)
        username = account.username if account else None
        if refresh is None and account and "offline_access" in scopes and "refresh_token" in client.grant_types:
            rt_exp = now + client.refresh_token_validity if client.refresh_token_validity else None
            rt_claims = {"exp": rt_exp, "jti": str(uuid.uuid4())} if rt_exp else {"jti": str(uuid.uuid4())}
            refresh = self.store_token("refresh", plain_jwt(rt_claims), client, username, scopes, rt_exp)
        self.store_token("access", value, client, username, scopes, exp, claims,
                         refresh.id if refresh is not None else None)
        reply = {"access_token": value, "token_type": "Bearer", "expires_in": int(exp - self.now())}
        if refresh is not None:
            reply["refresh_token"] = refresh.value
        reply["scope"] = " ".join(scopes)
        if account and "openid" in scopes:
            reply["id_token"] = self.id_token(client, account, scopes, now)
        return reply

    def id_token(self, client, account, scopes, now):
        """IamOIDCTokenService + Iam/WLCG ID-token customizers: issuer with ``/``, ``aud`` = client id."""
        claims = {"iss": self.discovery_issuer, "sub": account.id, "aud": client.client_id,
                  "exp": now + client.id_token_validity, "iat": now, "jti": str(uuid.uuid4())}
        if "profile" in scopes:
            claims["name"] = account.name
            claims["preferred_username"] = account.username
            claims["organisation_name"] = "gridsec-lab"
            if not client.wlcg_profile and account.groups:
                claims["groups"] = list(account.groups)
        if "email" in scopes:
            claims["email"] = account.email
        if client.wlcg_profile:
            groups = self.wlcg_groups(account, scopes)
            if groups:
                claims["wlcg.groups"] = groups
            claims["wlcg.ver"] = "1.0"
        return self.key.sign(claims)


def random_secret():
    return secrets.token_urlsafe(24)
