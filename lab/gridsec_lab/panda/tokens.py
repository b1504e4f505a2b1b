"""The lab PanDA's token path: what panda-server 1.0.4 does with ``Authorization: Bearer`` (``token_authType =
oidc``), written for the lab from ENFORCERS.md section 2 and the 1.0.4 source; docs/lab-panda.md has the
conformance table with the replies the real server gave for the same requests.

Sources (panda-server 1.0.4 sdist): ``pandaserver/config/panda_config.py`` l.121-160 (auth files),
``pandaserver/srvcore/oidc_utils.py`` ``TokenDecoder.deserialize_token`` (client id, key, issuer, audience),
``pandaserver/srvcore/panda_request.py`` ``decode_token`` (Origin, groups, role, user name) and
``PandaRequest.__init__`` (decision cache, header parsing), ``pandaserver/srvcore/CoreUtils.py`` ``CacheDict``.

The failures keep the server's wording because they are produced the same way: the same lookups on the same
Python values raise the same exceptions (a list ``aud`` used as a dict key, ``None.replace`` without Origin,
a missing groups claim), and PyJWT (the server's library, same version) words the signature, expiry and
issuer errors. Like the server, an unexpected error's message carries the Python traceback.
"""
import dataclasses
import glob
import json
import os
import re
import threading
import time
import traceback

import jwt
import requests
from jwt.algorithms import RSAAlgorithm

from ..panda_tokens import AUTH_CONFIG_SUFFIX

DOCUMENT_CACHE_SECONDS = 600   # TokenDecoder(refresh_interval=10): discovery and JWKS, minutes
DECISION_CACHE_SECONDS = 600   # CacheDict(update_interval=10): one decision per (token, Origin, client DN)
PRODUCTION_FQAN = re.compile(r"^/[^/]+/Role=production")   # api/v1/common.py has_production_role


@dataclasses.dataclass
class TokenDecision:
    authenticated: bool
    message: str = None
    dn: str = None            # what decode_token puts in SSL_CLIENT_S_DN (None: keep the request's)
    fqans: tuple = ()         # the GRST_CRED_AUTH_TOKEN_<n> values, "VOMS " stripped


def _vo_and_group(stem):
    """panda_config.py l.131-153: how an auth file's name becomes (vo, group)."""
    if ":" in stem:
        return tuple(stem.split(":", 1))
    if stem.startswith("vo."):
        return stem, "user"
    if "." in stem:
        return tuple(stem.split(".", 1))
    return stem, "user"


def _origin_vo_role(origin):
    """panda_request.decode_token l.39-57: "<vo>:<role>", "<vo>.<role>" (last dot), "vo.<x>[:<role>]"."""
    if origin.startswith("vo."):
        return tuple(origin.split(":", 1)) if ":" in origin else (origin, None)
    if ":" in origin:
        return tuple(origin.split(":", 1))
    if "." in origin:
        return tuple(origin.rsplit(".", 1))
    return origin, None


def token_user_dn(claims):
    """panda_request.decode_token l.130-136: the DN of a token user without a client certificate. Every
    whitespace-separated word of ``name``: first character upper-cased, the rest lower-cased; words joined
    by one space; ``/CN=nickname:<preferred_username>`` appended when present. No ``name``: ``str(sub)``."""
    if "name" not in claims:
        return str(claims["sub"])
    words = [word[:1].upper() + word[1:].lower() for word in str(claims["name"]).split()]
    dn = " ".join(words)
    if "preferred_username" in claims:
        dn += "/CN=nickname:%s" % claims["preferred_username"]
    return dn


class TokenAuth:
    """Decides token requests like panda-server 1.0.4 configured with ``token_authType = oidc``."""

    def __init__(self, auth_dir, ca_file=None, legacy_issuers=()):
        self.ca_file = ca_file
        self.legacy_issuers = list(legacy_issuers)
        self.clients, self.policies, self.vo_files = {}, {}, {}
        for path in glob.glob(os.path.join(auth_dir, "*" + AUTH_CONFIG_SUFFIX)):  # read once, at start
            with open(path) as handle:
                data = json.load(handle)
            for client_id in [data["client_id"]] + list(data.get("secondary_ids", [])):
                self.clients[client_id] = data
            stem = os.path.basename(path)[:-len(AUTH_CONFIG_SUFFIX)]
            vo, group = _vo_and_group(stem)
            self.policies.setdefault(vo, []).append(group)
            self.vo_files[stem.replace(":", ".")] = data
        self._lock = threading.Lock()
        self._documents = {}   # url -> (fetched_at, json)
        self._decisions = {}   # key -> (decided_at, TokenDecision)
        self.fetches = 0       # discovery/JWKS downloads (the cache keeps it at two per 10 minutes)

    # -- request entry (PandaRequest.__init__) --------------------------------------------------------
    def decide(self, authorization, origin, client_dn):
        """The decision for one request carrying an ``Authorization`` header."""
        try:
            token = authorization.split()[1]
        except IndexError as err:
            # PandaRequest catches this: the request stays "authenticated", without a token identity
            return TokenDecision(True, "Failed to instantiate request object. %s" % err)
        key = (token, origin, client_dn)
        now = time.monotonic()
        with self._lock:
            cached = self._decisions.get(key)
            if cached and now - cached[0] < DECISION_CACHE_SECONDS:
                return cached[1]
        decision = self._decode(token, origin, client_dn)
        with self._lock:
            self._decisions[key] = (now, decision)
        return decision

    # -- decode_token ---------------------------------------------------------------------------------
    def _decode(self, token, origin, client_dn):
        try:
            vo_role = origin.replace(":", ".")   # no Origin: AttributeError, reported as a decode failure
            claims = self._verify(token, origin)
            vo, role = _origin_vo_role(claims["vo"])
            if vo not in self.policies:
                return TokenDecision(False, "Unknown vo : %s" % vo)
            return self._membership(claims, vo, role, vo_role, client_dn)
        except jwt.exceptions.InvalidTokenError as err:
            return TokenDecision(False, "Invalid token. %s" % err)
        except Exception as err:  # noqa: BLE001 - the server reports any other error with its traceback
            return TokenDecision(False, "Token decode failure. %s %s" % (err, traceback.format_exc()))

    def _membership(self, claims, vo, role, vo_role, client_dn):
        settings = self.vo_files.get(vo_role, {})
        groups_claim = "wlcg.groups" if settings.get("jwt_profile") == "wlcg" else "groups"

        def member(group):
            return group in claims[groups_claim] or "/" + group in claims[groups_claim]

        if not role:   # auto_roles of the Origin's own file (no file: KeyError, as on the server)
            role = next((r for r in self.vo_files[vo_role].get("auto_roles", []) if member("%s/%s" % (vo, r))), None)
        if role:
            if not member("%s/%s" % (vo, role)):
                return TokenDecision(False, "Not a member of the %s/%s group" % (vo, role))
        elif not member(vo):   # each policy entry of the VO names the VO itself
            return TokenDecision(False, "Not a member of the %s group" % vo)
        fqans = [scope.split(":")[-1] for scope in claims.get("scope", "").split() if scope.startswith("role:")]
        if role:
            fqans.append("/%s/Role=%s" % (vo, role))
        if client_dn:   # a client certificate's DN wins over the token's name
            return TokenDecision(True, dn=client_dn)
        return TokenDecision(True, dn=token_user_dn(claims), fqans=tuple(fqans))

    # -- TokenDecoder.deserialize_token ---------------------------------------------------------------
    def _verify(self, token, origin):
        unverified = jwt.decode(token, options={"verify_signature": False})
        audience = unverified.get("aud")
        client_id = None
        if "aud" in unverified and audience in self.clients:   # a list aud: TypeError (unhashable)
            client_id = audience
        if not client_id and unverified.get("client_id") in self.clients:
            client_id = unverified["client_id"]
        if not client_id and unverified["sub"] in self.clients:   # client_credentials tokens
            client_id = unverified["sub"]
        if not client_id:
            raise jwt.exceptions.InvalidTokenError("cannot extract client_id from token")
        header = jwt.get_unverified_header(token)
        if not header or "kid" not in header:
            raise jwt.exceptions.InvalidTokenError("cannot extract kid from headers")
        discovery = self._document(self.clients[client_id]["oidc_config_url"])
        jwk = next((k for k in self._document(discovery["jwks_uri"]).get("keys", []) if k.get("kid") == header["kid"]),
                   None)
        if jwk is None:
            raise jwt.exceptions.InvalidTokenError("JWK not found for kid=%s" % header["kid"])
        key = RSAAlgorithm.from_jwk(json.dumps({"kty": "RSA", "n": jwk["n"], "e": jwk["e"]}))
        issuer = discovery["issuer"]
        # access tokens carry iss without the final "/": a prefix of the discovery issuer is accepted
        if unverified["iss"] and unverified["iss"] != issuer and issuer.startswith(unverified["iss"]):
            issuer = unverified["iss"]
        decoded, last_error = None, None
        for candidate in dict.fromkeys([issuer] + self.legacy_issuers):
            try:
                decoded = jwt.decode(token, key, algorithms="RS256", audience=audience, issuer=candidate)
                break
            except jwt.exceptions.InvalidIssuerError as err:
                last_error = str(err)
        if not decoded:
            raise jwt.exceptions.InvalidTokenError("failed to decode: %s" % last_error)
        decoded["vo"] = origin if origin is not None else self.clients[client_id]["vo"]
        return decoded

    def _document(self, url):
        with self._lock:
            cached = self._documents.get(url)
            if cached and time.monotonic() - cached[0] <= DOCUMENT_CACHE_SECONDS:
                return cached[1]
        data = requests.get(url, verify=self.ca_file or True, timeout=30).json()
        with self._lock:
            self._documents[url] = (time.monotonic(), data)
            self.fetches += 1
        return data


def is_production(fqans):
    return any(PRODUCTION_FQAN.match(fqan) or fqan.startswith("/atlas/usatlas/Role=production") for fqan in fqans)
