"""HTTPS server of the lab IAM. Paths, status codes and bodies copy INDIGO IAM v1.12
(``indigo-iam/iam@e998e43``); the conformance table in docs/lab-iam.md cites the class behind each.

Lab-only endpoints (not IAM's) live under ``/lab/`` and are never written to the request log:
``GET /lab/requests`` (the log), ``DELETE /lab/requests`` (clear it), ``POST /lab/clock`` (``{"advance": s}``),
``POST /lab/reset`` (back to the seed accounts, no tokens).
"""
import base64
import http.server
import json
import logging
import re
import ssl
import threading
import urllib.parse

from ..tls import TLSThreadingHTTPServer
from .model import (ADMIN_SCOPES, LABEL_NAME_RE, LABEL_PREFIX_RE, RESTRICTED_SCOPES, UNRESTRICTED_SCOPES,
                    Certificate, Label, iso_joda)

log = logging.getLogger(__name__)

SCIM_CT = "application/scim+json;charset=UTF-8"          # ScimConstants.SCIM_CONTENT_TYPE
JSON_CT = "application/json"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
USER_SCHEMAS = ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:indigo-dc:scim:schemas:IndigoUser"]
INDIGO = "urn:indigo-dc:scim:schemas:IndigoUser"
SCIM_MAX_PAGE = 100          # ScimControllerSupport.SCIM_USER_MAX_PAGE_SIZE
FIND_MAX_PAGE = 100          # FindAccountController / PagingUtils
TOKENS_MAX_PAGE = 20         # …/api/tokens/Constants.TOKENS_MAX_PAGE_SIZE
MAX_BODY = 1 << 20
JWK_CACHE = "max-age=21600, must-revalidate, no-transform"   # IAM_JWK_CACHE_LIFETIME default

NO_AUTH = ("unauthorized", "Full authentication is required to access this resource")
DENIED = ("access_denied", "Access is denied")


class Reply(Exception):
    """Raised anywhere in a handler: the reply to send."""

    def __init__(self, status, body=None, ctype=JSON_CT, headers=None):
        super().__init__(status)
        self.status, self.body, self.ctype, self.headers = status, body, ctype, headers or {}


def oauth_error(status, error, description, headers=None):
    return Reply(status, {"error": error, "error_description": description}, JSON_CT, headers)


def api_error(status, message):                      # …/api/common/ErrorDTO.java
    return Reply(status, {"error": message})


def scim_error(status, detail):                       # …/api/scim/model/ScimErrorResponse.java
    return Reply(status, {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}, SCIM_CT)


EMPTY_400 = Reply(400, None, None)                    # HttpMessageNotReadableException: empty body [I]


def _int(value, default):
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise EMPTY_400  # MethodArgumentTypeMismatchException [I]


class Caller:
    def __init__(self, token):
        self.token = token
        self.scopes = set(token.scopes)
        self.client_id = token.client_id
        self.username = token.username


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gridsec-lab-iam"

    def log_message(self, fmt, *args):
        log.debug("%s - %s", self.address_string(), fmt % args)

    # -- plumbing ---------------------------------------------------------------------------------
    def _send(self, reply):
        body = reply.body
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = body or b""
        self.send_response(reply.status)
        if data and reply.ctype:
            self.send_header("Content-Type", reply.ctype)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(data if self.command != "HEAD" else b"")
        out = b"".join(self._headers_buffer)
        self._headers_buffer = []
        self.wfile.write(out)

    def _dispatch(self):
        state = self.server.state
        url = urllib.parse.urlsplit(self.path)
        self.url_path = url.path
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self._send(Reply(413))
        self.body = self.rfile.read(length) if length else b""
        entry = None
        if not url.path.startswith("/lab/"):
            entry = {"method": self.command, "path": url.path, "query": url.query,
                     "params": {k: v[0] if len(v) == 1 else v for k, v in self.query.items()}}
        try:
            try:
                reply = self.route(state)
            except Reply as raised:
                reply = raised
        except Exception as exc:  # noqa: BLE001 - a lab bug answers 500, and the log shows it
            log.exception("lab IAM internal error")
            reply = Reply(500, {"error": "lab internal error: %s" % exc})
        if entry is not None:
            entry["body"] = _loggable_body(url.path, self.body)
            with state.lock:
                entry["status"] = reply.status
                entry["client_id"] = getattr(self, "caller_client", None)
                entry["seq"] = len(state.requests) + 1
                state.requests.append(entry)
        self._send(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def param(self, name, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def form(self):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        fields = {}
        if ctype == "application/x-www-form-urlencoded":
            fields = {k: v[0] for k, v in urllib.parse.parse_qs(self.body.decode("utf-8", "replace"),
                                                                keep_blank_values=True).items()}
        merged = {k: v[0] for k, v in self.query.items()}
        merged.update(fields)
        return merged

    def json_body(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise EMPTY_400

    def require_content_type(self, *types):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype not in types:
            raise Reply(415, None, None)  # HttpMediaTypeNotSupportedException: empty body [I]

    def require_accept(self, produced):
        accept = self.headers.get("Accept")
        if not accept:
            return
        kinds = [part.split(";")[0].strip().lower() for part in accept.split(",")]
        major = produced.split("/")[0] + "/*"
        if not any(k in ("*/*", major, produced) for k in kinds):
            raise Reply(406, None, None)  # HttpMediaTypeNotAcceptableException: empty body [I]

    # -- authentication ----------------------------------------------------------------------------
    def bearer(self, state, *scopes_any, allow_account=None):
        """OAuth2 resource-server check then ``@PreAuthorize("#iam.hasScope(...)")``."""
        auth = self.headers.get("Authorization") or ""
        if not auth.lower().startswith("bearer "):
            raise oauth_error(401, *NO_AUTH, headers={"WWW-Authenticate": 'Bearer realm="iam"'})
        value = auth[7:].strip()
        token = state.token(value)
        if token is not None and token.expiration is not None and token.expiration <= state.now():
            state.delete_token(token)      # clearExpiredAccessToken: an expired token is removed on use
            token = None
        if token is None or token.kind != "access":
            # MITREid DefaultOAuth2ProviderTokenService.loadAuthentication [I: text; it echoes the token]
            raise oauth_error(401, "invalid_token", "Invalid access token: %s" % value,
                              {"WWW-Authenticate": 'Bearer realm="iam", error="invalid_token"'})
        caller = Caller(token)
        self.caller_client = token.client_id
        self.require_scope(caller, *scopes_any, allow_account=allow_account)
        return caller

    @staticmethod
    def require_scope(caller, *scopes_any, allow_account=None):
        """``@PreAuthorize`` runs when the controller method is invoked, i.e. after the request body was
        read: an unreadable body is a 400 even for a caller without the scope [I]."""
        if scopes_any and not (caller.scopes & set(scopes_any)):
            if not (allow_account and caller.username and allow_account(caller.username)):
                raise oauth_error(403, *DENIED)

    def client_auth(self, state, fields):
        """Token-endpoint client authentication: HTTP Basic or form (``IamTokenEndointSecurityConfig``,
        ``ClientCredentialsTokenEndpointFilter``)."""
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth[6:].strip()).decode()
                cid, _, secret = raw.partition(":")
                cid, secret = urllib.parse.unquote(cid), urllib.parse.unquote(secret)
            except (ValueError, UnicodeDecodeError):
                raise oauth_error(401, "unauthorized", "Bad credentials")
            client = state.clients.get(cid)
            if client is None or client.secret != secret:
                raise oauth_error(401, "unauthorized", "Bad credentials",
                                  {"WWW-Authenticate": 'Basic realm="oauth2/client"'})
        elif "client_id" in fields:
            client = state.clients.get(fields.get("client_id"))
            if client is None or client.secret != fields.get("client_secret"):
                raise oauth_error(401, "invalid_client", "Bad client credentials")
        else:
            raise oauth_error(401, *NO_AUTH)
        self.caller_client = client.client_id
        return client

    # -- routing ---------------------------------------------------------------------------------
    def route(self, state):
        path, method = self.url_path, self.command
        if path.startswith("/lab/"):
            return self.lab(state, path, method)
        if path == "/.well-known/openid-configuration" and method == "GET":
            return Reply(200, self.discovery(state))
        if path == "/jwk" and method == "GET":
            return Reply(200, {"keys": [state.key.jwk]}, JSON_CT, {"Cache-Control": JWK_CACHE})
        if path == "/token":
            if method != "POST":
                raise Reply(405, None, None)
            return self.token_endpoint(state)
        if path == "/introspect" and method == "POST":
            return self.introspect(state)
        if path == "/userinfo" and method in ("GET", "POST"):
            return self.userinfo(state)
        if path == "/scim/Users" or path.startswith("/scim/Users/"):
            return self.scim_users(state, path[len("/scim/Users"):].strip("/"), method)
        if path.startswith("/iam/account/find/"):
            return self.find(state, path[len("/iam/account/find/"):], method)
        match = re.fullmatch(r"/iam/account/([^/]+)/labels", path)
        if match:
            return self.labels(state, urllib.parse.unquote(match.group(1)), method)
        match = re.fullmatch(r"/iam/api/(access|refresh)-tokens(?:/([^/]*))?", path)
        if match:
            return self.tokens_api(state, match.group(1), match.group(2), method)
        match = re.fullmatch(r"/iam/api/clients/([^/]+)/(enable|disable)", path)
        if match and method == "PATCH":
            return self.client_status(state, urllib.parse.unquote(match.group(1)), match.group(2))
        raise Reply(404, {"error": "Not Found"})  # [I] Spring's default for unmapped paths

    # -- discovery ---------------------------------------------------------------------------------
    def discovery(self, state):
        """``…/core/web/wellknown/IamWellKnownInfoProvider.java``."""
        base = state.base_url
        algs = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256",
                "PS384", "PS512"]
        return {
            "issuer": state.discovery_issuer,
            "authorization_endpoint": base + "/authorize",
            "token_endpoint": base + "/token",
            "userinfo_endpoint": base + "/userinfo",
            "jwks_uri": base + "/jwk",
            "registration_endpoint": base + "/iam/api/client-registration",
            "introspection_endpoint": base + "/introspect",
            "revocation_endpoint": base + "/revoke",
            "device_authorization_endpoint": base + "/devicecode",
            "scim_endpoint": base + "/scim",
            "op_policy_uri": base + "/about",
            "op_tos_uri": base + "/about",
            "response_types_supported": ["code", "token"],
            "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "client_credentials",
                                      "password", "urn:ietf:params:oauth:grant-type:token-exchange",
                                      "urn:ietf:params:oauth:grant-type:device_code"],
            "subject_types_supported": ["public", "pairwise"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                      "client_secret_jwt", "private_key_jwt", "none"],
            "claims_supported": ["sub", "name", "preferred_username", "given_name", "family_name", "middle_name",
                                 "nickname", "profile", "picture", "zoneinfo", "locale", "updated_at", "email",
                                 "email_verified", "organisation_name", "groups", "wlcg.groups", "external_authn"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "scopes_supported": [s for s in UNRESTRICTED_SCOPES if s not in RESTRICTED_SCOPES],
            "id_token_signing_alg_values_supported": algs + ["none"],
            "userinfo_signing_alg_values_supported": algs,
            "request_object_signing_alg_values_supported": algs,
            "token_endpoint_auth_signing_alg_values_supported": algs,
            "claims_parameter_supported": True,
            "request_parameter_supported": True,
            "request_uri_parameter_supported": False,
            "require_request_uri_registration": False,
        }

    # -- token endpoint ------------------------------------------------------------------------------
    def token_endpoint(self, state):
        fields = self.form()
        with state.lock:
            client = self.client_auth(state, fields)
            grant = fields.get("grant_type")
            if not grant:
                raise oauth_error(400, "invalid_request", "Missing grant type")  # Spring TokenEndpoint [I]
            if grant not in ("client_credentials", "password", "refresh_token"):
                raise oauth_error(400, "unsupported_grant_type", "Unsupported grant type: %s" % grant)  # [I]
            if not client.active:
                # RefreshTokenGranterTests (PR #814) [I for the other grants]
                raise oauth_error(401, "invalid_client", "Client is suspended: %s" % client.client_id)
            if grant not in client.grant_types:
                raise oauth_error(401, "invalid_client", "Unauthorized grant type: %s" % grant)
            requested = fields.get("scope", "").split() if fields.get("scope", "").strip() else None
            if requested is not None:
                for scope in requested:
                    if not self.scope_allowed(client, scope):
                        # ScopeMatcherOAuthRequestValidator.ERROR_MSG_FMT
                        raise oauth_error(400, "invalid_scope",
                                          "Scope '%s' not allowed for client '%s'" % (scope, client.client_id))
            scopes = requested if requested is not None else list(client.scopes)
            audience = fields.get("audience") or fields.get("aud")
            if grant == "client_credentials":
                return Reply(200, state.mint(client, None, scopes, audience=audience), JSON_CT,
                             {"Cache-Control": "no-store", "Pragma": "no-cache"})
            if grant == "password":
                account = state.account_by_username(fields.get("username", ""))
                if account is None or account.password is None or account.password != fields.get("password"):
                    raise oauth_error(400, "invalid_grant", "Bad credentials")  # [I]
                if not account.active:  # IamUserDetailsService DisabledException, wrapped as invalid_grant [I]
                    raise oauth_error(400, "invalid_grant", "User '%s' is not active." % account.username)
                return Reply(200, state.mint(client, account, scopes, audience=audience), JSON_CT,
                             {"Cache-Control": "no-store", "Pragma": "no-cache"})
            # refresh_token: …/core/oauth/granters/IamRefreshTokenGranter.java
            value = fields.get("refresh_token", "")
            refresh = state.token(value)
            if refresh is None or refresh.kind != "refresh":
                # IamRefreshTokenGranter (v1.12) -> tokenServices.getRefreshToken (MITREid) [I: text]
                raise oauth_error(401, "invalid_token", "Refresh token for value %s was not found" % value)
            account = state.account_by_username(refresh.username) if refresh.username else None
            if account is not None and not account.active:
                # DisabledException; RefreshTokenGranterTests asserts 401, `unauthorized` and the text
                raise oauth_error(401, "unauthorized", "User %s is not active." % account.username)
            # then MITREid DefaultOAuth2ProviderTokenService.refreshAccessToken [I: texts and codes]
            if refresh.client_id != client.client_id:
                state.delete_token(refresh)
                raise oauth_error(401, "invalid_client", "Client does not own the presented refresh token")
            if refresh.expiration is not None and refresh.expiration <= state.now():
                state.delete_token(refresh)    # clearExpiredRefreshToken
                raise oauth_error(401, "invalid_token", "Invalid refresh token: %s" % value)
            if account is None:
                raise oauth_error(401, "invalid_token", "Invalid refresh token: %s" % value)  # [I]
            if requested is not None and not set(requested) <= set(refresh.scopes):
                raise oauth_error(400, "invalid_scope", "Up-scoping is not allowed.")  # MITREid [I]
            scopes = requested if requested is not None else list(refresh.scopes)
            return Reply(200, state.mint(client, account, scopes, audience=audience, refresh=refresh), JSON_CT,
                         {"Cache-Control": "no-store", "Pragma": "no-cache"})

    @staticmethod
    def scope_allowed(client, scope):
        """ScopeMatcherOAuthRequestValidator: a registered scope matches itself; ``wlcg.groups`` also
        matches ``wlcg.groups:/<group>`` (structured scope matcher)."""
        if scope in client.scopes:
            return True
        return scope.startswith("wlcg.groups:") and "wlcg.groups" in client.scopes

    def introspect(self, state):
        """MITREid IntrospectionEndpoint as deployed by IAM: DB lookup, **no account-status check**
        (indigo-iam/iam #1157). Reply members from MITREid's DefaultIntrospectionResultAssembler [I]."""
        fields = self.form()
        with state.lock:
            self.client_auth(state, fields)
            token = state.token(fields.get("token", ""))
            if token is None or (token.expiration is not None and token.expiration <= state.now()):
                return Reply(200, {"active": False})
            out = {"active": True, "scope": " ".join(token.scopes), "client_id": token.client_id,
                   "token_type": "Bearer" if token.kind == "access" else "refresh_token"}
            if token.expiration is not None:
                out["exp"] = int(token.expiration)
                out["expires_at"] = iso_joda(token.expiration)
            if token.username:
                account = state.account_by_username(token.username)
                out["sub"] = account.id if account else token.username
                out["user_id"] = token.username
            else:
                out["sub"] = token.client_id
            out["iss"] = state.discovery_issuer
            return Reply(200, out)

    def userinfo(self, state):
        """MITREid UserInfoEndpoint: DB-backed bearer check (a deleted token is a 401 invalid_token) [I]."""
        with state.lock:
            caller = self.bearer(state, "openid")
            account = state.account_by_username(caller.username) if caller.username else None
            if account is None:
                raise oauth_error(403, *DENIED)
            out = {"sub": account.id}
            if "profile" in caller.scopes:
                out.update(name=account.name, preferred_username=account.username, given_name=account.given_name,
                           family_name=account.family_name, organisation_name="gridsec-lab",
                           groups=list(account.groups))
            if "email" in caller.scopes:
                out.update(email=account.email, email_verified=True)
            return Reply(200, out)

    # -- SCIM users --------------------------------------------------------------------------------
    def user_json(self, state, account):
        """``…/api/scim/converter/UserConverter.java`` dtoFromEntity (NON_EMPTY members)."""
        base = state.base_url
        indigo = {}
        if account.oidc_ids:
            indigo["oidcIds"] = [dict(item) for item in account.oidc_ids]
        if account.certificates:
            indigo["certificates"] = [{"primary": c.primary, "subjectDn": c.subject_dn, "issuerDn": c.issuer_dn,
                                       "display": c.display or account.username,
                                       "created": iso_joda(c.created or account.created),
                                       "lastModified": iso_joda(c.last_modified or account.created),
                                       "hasProxyCertificate": False} for c in account.certificates]
        indigo["serviceAccount"] = account.service_account
        out = {"id": account.id,
               "meta": {"created": iso_joda(account.created), "lastModified": iso_joda(account.last_modified),
                        "location": "%s/scim/Users/%s" % (base, account.id), "resourceType": "User"},
               "schemas": list(USER_SCHEMAS), "userName": account.username,
               "name": {"familyName": account.family_name, "formatted": account.name,
                        "givenName": account.given_name},
               "displayName": account.username, "active": account.active,
               "emails": [{"type": "work", "value": account.email, "primary": True}]}
        if account.groups:
            out["groups"] = [{"display": g.split("/")[-1], "value": _group_uuid(g),
                              "$ref": "%s/scim/Groups/%s" % (base, _group_uuid(g))} for g in account.groups]
        out[INDIGO] = indigo
        return out

    def filter_attributes(self, item):
        """``attributes=a,b``: keep those top-level members plus ``schemas`` and ``id``; split on ``,``
        and ``.`` (ScimUserController)."""
        attrs = self.param("attributes")
        if not attrs:
            return item
        keep = set(re.split(r"[,.]", attrs)) | {"schemas", "id"}
        return {k: v for k, v in item.items() if k in keep}

    def scim_users(self, state, user_id, method):
        """``…/api/scim/controller/ScimUserController.java`` + ``ScimUserProvisioning``."""
        read = method in ("GET", "HEAD")
        with state.lock:
            if method in ("PATCH", "PUT"):          # 401, then 415 (handler mapping), then the body, then 403
                caller = self.bearer(state)
                self.require_content_type("application/scim+json")
                self.json_body()
                self.require_scope(caller, "scim:write")
            else:
                self.bearer(state, "scim:read" if read else "scim:write")
            if not user_id:
                if method == "GET":
                    self.require_accept(SCIM_CT.split(";")[0])
                    return self.scim_list(state)
                if method == "POST":
                    raise Reply(501, {"error": "POST /scim/Users is not served by the lab IAM"})
                raise Reply(405, None, None)
            account = state.accounts.get(user_id)
            if method == "GET":
                self.require_accept(SCIM_CT.split(";")[0])
                if account is None:
                    raise scim_error(404, "No user mapped to id '%s'" % user_id)
                return Reply(200, self.filter_attributes(self.user_json(state, account)), SCIM_CT)
            if method == "DELETE":
                if account is None:
                    raise scim_error(404, "No user mapped to id '%s'" % user_id)
                # DefaultIamAccountService.deleteAccount: deletes the user's tokens too
                for token in [t for t in state.tokens.values() if t.username == account.username]:
                    state.delete_token(token)
                del state.accounts[user_id]
                return Reply(204, None, None)
            if method == "PATCH":
                self.require_content_type("application/scim+json")
                return self.scim_patch(state, user_id, account)
            if method == "PUT":
                self.require_content_type("application/scim+json")
                return self.scim_put(state, user_id, account)
            raise Reply(405, None, None)

    def scim_list(self, state):
        """ScimControllerSupport paging: count absent -> 100, > 100 -> 100, < 0 -> 0; startIndex < 1 -> 1;
        count=0 -> totalResults only."""
        count = _int(self.param("count"), SCIM_MAX_PAGE)
        count = max(0, min(count, SCIM_MAX_PAGE))
        start = max(1, _int(self.param("startIndex"), 1))
        accounts = list(state.accounts.values())
        if count == 0:
            return Reply(200, {"totalResults": len(accounts), "schemas": [LIST_SCHEMA], "Resources": []}, SCIM_CT)
        page = accounts[start - 1:start - 1 + count]
        return Reply(200, {"totalResults": len(accounts), "itemsPerPage": len(page), "startIndex": start,
                           "schemas": [LIST_SCHEMA],
                           "Resources": [self.filter_attributes(self.user_json(state, a)) for a in page]}, SCIM_CT)

    def scim_patch(self, state, user_id, account):
        """ScimUserPatchRequest (lower-case ``operations``, ``@NotEmpty``, null check) and
        DefaultAccountUpdaterFactory; a no-op still answers 204 (ScimUserProvisioning.update)."""
        body = self.json_body()
        if not isinstance(body, dict):
            raise EMPTY_400
        operations = body.get("operations")           # unknown members ("Operations") are ignored
        if operations is None or not isinstance(operations, list):
            raise EMPTY_400                            # Preconditions.checkNotNull -> not readable [I]
        for op in operations:
            if not isinstance(op, dict) or op.get("op") not in ("add", "remove", "replace"):
                raise EMPTY_400                        # enum op, lower case only [I]
            if op.get("value") is not None and not isinstance(op.get("value"), dict):
                raise EMPTY_400                        # value must be a user object [I]
        if not operations:
            raise scim_error(400, "Invalid Scim Patch Request: [scimUserPatchRequest.operations : "
                                  "must not be empty]")
        if account is None:
            raise scim_error(404, "No user mapped to id '%s'" % user_id)
        changes = []
        for op in operations:
            value = op.get("value") or {}
            updaters = self.updaters(state, account, op["op"], value)
            if not updaters:
                raise scim_error(400, "%s operation not supported" % op["op"])
            changes.append(updaters)
        changed = False
        for updaters in changes:
            for apply in updaters:
                changed = apply() or changed
        if changed:
            account.last_modified = state.now()
        return Reply(204, None, None)

    def updaters(self, state, account, op, value):
        """Updaters built from the non-null members of ``value`` (DefaultAccountUpdaterFactory, Replacers):
        each returns True only if it changed something."""
        out = []
        indigo = value.get(INDIGO) or {}

        def setter(attr, new, mail=None):
            def apply():
                if getattr(account, attr) == new:
                    return False
                setattr(account, attr, new)
                if mail:
                    state.mails.append({"to": account.email, "template": mail(new), "username": account.username})
                return True
            return apply

        if op in ("replace", "add") and value.get("active") is not None:
            if not isinstance(value["active"], bool):
                raise EMPTY_400
            out.append(setter("active", value["active"],
                              mail=lambda new: "accountRestored.ftl" if new else "accountSuspended.ftl"))
        if op == "replace":
            name = value.get("name") or {}
            if name.get("givenName") is not None:
                out.append(setter("given_name", name["givenName"]))
            if name.get("familyName") is not None:
                out.append(setter("family_name", name["familyName"]))
            if value.get("userName") is not None:
                other = state.account_by_username(value["userName"])
                if other is not None and other is not account:
                    raise scim_error(409, "username %s already assigned to another user" % value["userName"])
                out.append(setter("username", value["userName"]))
            if value.get("password") is not None:
                out.append(setter("password", value["password"]))
            if value.get("emails"):
                out.append(setter("email", value["emails"][0].get("value")))
            if indigo.get("serviceAccount") is not None:
                out.append(setter("service_account", bool(indigo["serviceAccount"])))
        if op == "add":
            for cert in indigo.get("x509Certificates") or []:
                dn = cert.get("subjectDn")
                if dn:
                    def add_cert(dn=dn, cert=cert):
                        if any(c.subject_dn == dn for c in account.certificates):
                            return False
                        now = state.now()
                        account.certificates.append(Certificate(dn, cert.get("issuerDn") or Certificate.issuer_dn,
                                                                cert.get("display"), False, now, now))
                        return True
                    out.append(add_cert)
            for oidc in indigo.get("oidcIds") or []:
                def add_oidc(oidc=oidc):
                    item = {"issuer": oidc.get("issuer"), "subject": oidc.get("subject")}
                    if item in account.oidc_ids:
                        return False
                    account.oidc_ids.append(item)
                    return True
                out.append(add_oidc)
        if op == "remove":
            for cert in indigo.get("x509Certificates") or []:
                def rm_cert(dn=cert.get("subjectDn")):
                    before = len(account.certificates)
                    account.certificates = [c for c in account.certificates if c.subject_dn != dn]
                    return len(account.certificates) != before
                out.append(rm_cert)
            for oidc in indigo.get("oidcIds") or []:
                def rm_oidc(item={"issuer": oidc.get("issuer"), "subject": oidc.get("subject")}):
                    if item not in account.oidc_ids:
                        return False
                    account.oidc_ids.remove(item)
                    return True
                out.append(rm_oidc)
        return out

    def scim_put(self, state, user_id, account):
        """ScimUserProvisioning.replace: 404, NewUserValidation, 409 on a taken username/e-mail, the account
        rebuilt from the body (certificates come from the INPUT key ``x509Certificates``)."""
        body = self.json_body()
        if not isinstance(body, dict):
            raise EMPTY_400
        if account is None:
            raise scim_error(404, "No user mapped to id '%s'" % user_id)
        errors = []
        name = body.get("name") or {}
        if not body.get("userName"):
            errors.append("scimUser.userName : must not be blank")
        if not body.get("emails"):
            errors.append("scimUser.emails : must not be empty")
        if not name.get("givenName"):
            errors.append("scimUser.name.givenName : must not be blank")
        if not name.get("familyName"):
            errors.append("scimUser.name.familyName : must not be blank")
        if errors:
            raise scim_error(400, "Invalid Scim User: [%s]" % ", ".join(errors))
        other = state.account_by_username(body["userName"])
        if other is not None and other is not account:
            raise scim_error(409, "username %s already assigned to another user" % body["userName"])
        email = body["emails"][0].get("value")
        for other in state.accounts.values():
            if other is not account and other.email == email:
                raise scim_error(409, "email %s already assigned to another user" % email)
        indigo = body.get(INDIGO) or {}
        now = state.now()
        account.username = body["userName"]
        account.email = email
        account.given_name, account.family_name = name["givenName"], name["familyName"]
        if body.get("active") is not None:
            account.active = bool(body["active"])
        account.certificates = [Certificate(c.get("subjectDn"), c.get("issuerDn") or Certificate.issuer_dn,
                                            c.get("display"), bool(c.get("primary")), now, now)
                                for c in indigo.get("x509Certificates") or [] if c.get("subjectDn")]
        account.oidc_ids = [{"issuer": o.get("issuer"), "subject": o.get("subject")}
                            for o in indigo.get("oidcIds") or []]
        account.last_modified = now
        return Reply(200, self.user_json(state, account), SCIM_CT)

    # -- finders ------------------------------------------------------------------------------------
    def find(self, state, what, method):
        """``…/api/account/find/FindAccountController.java`` (class-level iam:admin.read),
        DefaultFindAccountService, FindUtils.responseFromOptional, PagingUtils."""
        with state.lock:
            self.bearer(state, "iam:admin.read")
            if method != "GET":
                raise Reply(405, None, None)
            self.require_accept(SCIM_CT.split(";")[0])   # produces = ScimConstants.SCIM_CONTENT_TYPE
            accounts = list(state.accounts.values())
            if what.startswith("byuuid/"):
                wanted = urllib.parse.unquote(what[len("byuuid/"):])
                return self.single(state, [a for a in accounts if a.id == wanted])
            if what == "byusername":
                wanted = self.required("username")
                return self.single(state, [a for a in accounts if a.username == wanted])
            if what == "byemail":
                wanted = self.required("email")
                return self.single(state, [a for a in accounts if a.email == wanted])
            if what == "bycertsubject":
                wanted = self.required("certificateSubject")
                hits = [a for a in accounts if any(c.subject_dn == wanted for c in a.certificates)]
                if len(hits) > 1:  # Optional from a query with two rows: IncorrectResultSize -> 500 [I]
                    raise Reply(500, {"error": "query did not return a unique result: %d" % len(hits)})
                return self.single(state, hits)
            if what == "bylabel":
                name = self.required("name")
                value = self.param("value")
                # PagingUtils.buildPageRequest: count <0 -> 0, >100 -> 100; startIndex <0 -> 1 (0 stays 0)
                count = max(0, min(_int(self.param("count"), FIND_MAX_PAGE), FIND_MAX_PAGE))
                start = _int(self.param("startIndex"), 1)
                start = 1 if start < 0 else start
                if count < 1 or start < 1:   # OffsetPageable checkArgument -> unmapped exception -> 500 [I]
                    raise Reply(500, {"error": "Internal Server Error"})
                # IamAccountRepository: label.prefix is null and label.name = :name and label.value = :value
                hits = [a for a in accounts if any(l.prefix is None and l.name == name and value is not None
                                                   and l.value == value for l in a.labels)]
                page = hits[start - 1:start - 1 + count]
                return Reply(200, {"totalResults": len(hits), "itemsPerPage": len(page), "startIndex": start,
                                   "schemas": [LIST_SCHEMA],
                                   "Resources": [self.user_json(state, a) for a in page]}, SCIM_CT)
            raise Reply(404, {"error": "Not Found"})

    def required(self, name):
        value = self.param(name)
        if value is None:
            raise EMPTY_400  # MissingServletRequestParameterException [I]
        return value

    def single(self, state, hits):
        if not hits:  # FindUtils.responseFromOptional: no totalResults, never 404
            return Reply(200, {"schemas": [LIST_SCHEMA], "Resources": []}, SCIM_CT)
        # ListResponseDTO.Builder.singleResource (docs example for byusername)
        return Reply(200, {"totalResults": 1, "itemsPerPage": 10, "startIndex": 1, "schemas": [LIST_SCHEMA],
                           "Resources": [self.user_json(state, hits[0])]}, SCIM_CT)

    # -- labels -------------------------------------------------------------------------------------
    def labels(self, state, account_id, method):
        """``…/api/account/labels/AccountLabelsController.java``; LabelDTO validation before the lookup."""
        with state.lock:
            if method == "GET":
                def own(username):
                    account = state.accounts.get(account_id)
                    return account is not None and account.username == username
                self.bearer(state, "iam:admin.read", allow_account=own)
                account = self.account_or_404(state, account_id)
                return Reply(200, [label.as_dict() for label in account.labels])
            if method == "PUT":
                caller = self.bearer(state)
                body = self.json_body()
                self.require_scope(caller, "iam:admin.write")
                if not isinstance(body, dict):
                    raise EMPTY_400
                label = self.validate_label(body)
                account = self.account_or_404(state, account_id)
                for existing in account.labels:
                    if existing.prefix == label.prefix and existing.name == label.name:   # IamLabel.equals
                        existing.value = label.value
                        break
                else:
                    account.labels.append(label)
                return Reply(200, None, None)
            if method == "DELETE":
                self.bearer(state, "iam:admin.write")
                # the LabelDTO is bound from the request parameters and validated like PUT's body
                label = self.validate_label(self.form())
                account = self.account_or_404(state, account_id)
                account.labels = [l for l in account.labels                      # IamLabel.equals: prefix+name
                                  if not (l.name == label.name and l.prefix == label.prefix)]
                return Reply(204, None, None)
            raise Reply(405, None, None)

    @staticmethod
    def account_or_404(state, account_id):
        account = state.accounts.get(account_id)
        if account is None:  # …/api/common/error/NoSuchAccountError.java
            raise api_error(404, "Account not found for id '%s'" % account_id)
        return account

    @staticmethod
    def validate_label(body):
        """``…/api/common/LabelDTO.java`` bean validation: every violated constraint is reported (Java
        gives no order; the lab uses declaration order [I]), joined by ``,`` (ValidationErrorUtils)."""
        errors = []
        prefix, name, value = body.get("prefix"), body.get("name"), body.get("value")
        if prefix is not None:
            if len(prefix) > 256:
                errors.append("invalid prefix length")
            if not re.match(LABEL_PREFIX_RE, prefix):
                errors.append("invalid prefix (does not match with regexp: '%s')" % LABEL_PREFIX_RE)
        if name is None or not name.strip():
            errors.append("name is required")
        if name is not None:
            if len(name) > 64:
                errors.append("invalid name length")
            if not re.match(LABEL_NAME_RE, name):
                errors.append("invalid name (does not match with regexp: '%s')" % LABEL_NAME_RE)
        if value is not None:
            if len(value) > 64:
                errors.append("invalid value length")
            if "\n" in value or "\r" in value:   # NoNewLineOrCarriageReturn default message
                errors.append("The string must not contain any new line or carriage return")
        if errors:
            raise api_error(400, "Invalid label: %s" % ",".join(errors))
        return Label(name=name, value=value or None, prefix=prefix or None)

    # -- tokens API -----------------------------------------------------------------------------------
    def token_json(self, state, token):
        """``…/api/tokens/converter/TokensConverter.java`` (``value`` never set; NON_EMPTY members)."""
        client = state.clients.get(token.client_id)
        out = {"id": token.id}
        if token.kind == "access":
            out["scopes"] = list(token.scopes)
        if token.expiration is not None:
            out["expiration"] = int(token.expiration * 1000)   # java.util.Date -> epoch ms [I]
        if client is not None:
            ref = {"id": client.numeric_id, "clientId": client.client_id}
            if client.client_name:
                ref["clientName"] = client.client_name
            if client.contacts:
                ref["contacts"] = list(client.contacts)
            if client.client_uri:
                ref["$ref"] = client.client_uri
            out["client"] = ref
        if token.username:
            account = state.account_by_username(token.username)
            if account is None:
                raise api_error(500, "Account for %s not found" % token.username)
            out["user"] = {"id": account.id, "userName": account.username,
                           "$ref": "%s/scim/Users/%s" % (state.base_url, account.id)}
        return out

    def tokens_api(self, state, kind, token_id, method):
        """``…/api/tokens/AccessTokensController.java`` / ``RefreshTokensController.java``."""
        with state.lock:
            if method == "GET":
                self.bearer(state, "iam:admin.read")
            elif method == "DELETE":
                self.bearer(state, "iam:admin.write")
            else:
                raise Reply(405, None, None)
            if token_id is None or token_id == "":
                if method == "DELETE":         # tokenRepository.deleteAll(): every token of the instance
                    state.delete_all_tokens(kind)
                    return Reply(204, None, None)
                return self.token_list(state, kind)
            try:
                numeric = int(token_id)
            except ValueError:
                raise EMPTY_400
            token = state.tokens.get((kind, numeric))
            if token is None:                  # TokenNotFoundException handler
                raise api_error(404, "Token with id = %s not found" % token_id)
            if method == "GET":
                return Reply(200, self.token_json(state, token))
            state.delete_token(token)
            return Reply(204, None, None)

    def token_list(self, state, kind):
        count = _int(self.param("count"), TOKENS_MAX_PAGE)
        count = max(0, min(count, TOKENS_MAX_PAGE))
        start = max(1, _int(self.param("startIndex"), 1))
        user, client = self.param("userId"), self.param("clientId")
        items = state.valid_tokens(kind)
        if user is not None:                   # the USERNAME, exact (AccessTokenGetListTests)
            items = [t for t in items if t.username == user]
        if client is not None:
            items = [t for t in items if t.client_id == client]
        if user is None and client is None and kind == "access":
            items = [t for t in items if not ({"registration-token", "resource-token"} & set(t.scopes))]
        if count == 0:
            return Reply(200, {"totalResults": len(items), "itemsPerPage": 0, "startIndex": 1, "Resources": []})
        page = items[start - 1:start - 1 + count]
        resources = [self.token_json(state, t) for t in page]
        attrs = self.param("attributes")
        if attrs:
            keep = {a.strip() for a in re.split(r"[.,]", attrs) if a.strip()} | {"id"}   # parseAttributes
            resources = [{k: v for k, v in r.items() if k in keep} for r in resources]
        return Reply(200, {"totalResults": len(items), "itemsPerPage": len(page), "startIndex": start,
                           "Resources": resources})

    def client_status(self, state, client_id, action):
        """ClientManagementAPIController: updateClientStatus runs only for a USER caller
        (AccountUtils.getAuthenticatedUserAccount().ifPresent); a client-credentials caller gets a silent
        no-op [I for the 200]."""
        with state.lock:
            caller = self.bearer(state, "iam:admin.write")
            if caller.username:          # the client is looked up only for a user caller
                client = state.clients.get(client_id)
                if client is None:
                    raise api_error(404, "Client not found")  # [I]
                client.active = action == "enable"
            return Reply(200, None, None)   # void method, no @ResponseStatus: 200, empty

    # -- lab-only ----------------------------------------------------------------------------------
    def lab(self, state, path, method):
        with state.lock:
            if path == "/lab/requests" and method == "GET":
                return Reply(200, list(state.requests))
            if path == "/lab/requests" and method == "DELETE":
                state.requests.clear()
                return Reply(204, None, None)
            if path == "/lab/mails" and method == "GET":
                return Reply(200, list(state.mails))
            if path == "/lab/clock" and method == "POST":
                body = self.json_body() if self.body else {}
                state.clock_offset += float(body.get("advance", 0))
                return Reply(200, {"offset": state.clock_offset, "now": state.now()})
            if path == "/lab/reset" and method == "POST":
                state.reset()
                return Reply(204, None, None)
        raise Reply(404, {"error": "Not Found"})


def _mask(value):
    if isinstance(value, dict):
        return {k: "********" if k.lower() == "password" else _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _loggable_body(path, body):
    """The JSON body of an admin API call (SCIM, account, tokens APIs), passwords masked; None elsewhere
    (the token endpoint's form carries secrets and is never kept), for bodies that are not JSON, or empty."""
    if not body or not (path.startswith("/scim/") or path.startswith("/iam/")):
        return None
    try:
        return _mask(json.loads(body.decode("utf-8")))
    except (UnicodeDecodeError, ValueError):
        return {"unparsed_bytes": len(body)}


def _group_uuid(name):
    import uuid
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "gridsec-lab-group:" + name))


class _HTTPServer(TLSThreadingHTTPServer):
    def __init__(self, addr, ctx, state):
        self.state = state
        super().__init__(addr, ctx, _Handler)


class IamServer:
    """One lab IAM on ``https://localhost:<port>``. ``state`` is set up by the caller (see lab.py)."""

    def __init__(self, cert, key, port=0, host="127.0.0.1"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert, key)
        ctx.verify_mode = ssl.CERT_NONE   # IAM sits behind nginx; no client certificate on the API
        self._ctx = ctx
        self._addr = (host, port)
        self.httpd = None
        self.thread = None

    def bind(self, state):
        self.httpd = _HTTPServer(self._addr, self._ctx, state)
        return self.httpd.server_address[1]

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="lab-iam", daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


__all__ = ["IamServer", "ADMIN_SCOPES"]
