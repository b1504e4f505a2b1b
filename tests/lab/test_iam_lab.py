"""The lab IAM against INDEPENDENT clients: PyJWT (token verification against the JWKS), Authlib's
OAuth2Session (client credentials, password and refresh grants) and plain ``requests`` for SCIM and the
IAM APIs. Every trap of IAM.md §11.4 has a test here (``test_trap_*``). Nothing from plugins/ is used."""
import json
import os
import stat
import subprocess
import sys

import jwt
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

SCIM = "application/scim+json"
PATCH_OFF = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "operations": [{"op": "replace", "value": {"active": False}}]}
PATCH_ON = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "operations": [{"op": "replace", "value": {"active": True}}]}


# -- helpers ---------------------------------------------------------------------------------------------
def _session(lab, role="admin", **kwargs):
    client = lab.clients[role]
    sess = OAuth2Session(client.client_id, client.secret, **kwargs)
    sess.verify = lab.ca_file
    sess.trust_env = False   # REQUESTS_CA_BUNDLE in the environment would override session.verify
    return sess


def _admin_token(lab, role="admin", scope=None):
    sess = _session(lab, role, scope=scope)
    return sess.fetch_token(lab.url + "/token", grant_type="client_credentials")["access_token"]


class Api:
    """Plain requests with a bearer token."""

    def __init__(self, lab, token, base=None):
        self.base, self.session = base or lab.url, requests.Session()
        self.session.verify = lab.ca_file
        self.session.trust_env = False
        self.session.headers["Authorization"] = "Bearer " + token

    def __getattr__(self, method):
        def call(path, **kwargs):
            return self.session.request(method.upper(), self.base + path, timeout=10, **kwargs)
        return call


@pytest.fixture
def admin(iam):
    return Api(iam, _admin_token(iam))


def _jwks_client(lab):
    import ssl
    return jwt.PyJWKClient(lab.url + "/jwk", ssl_context=ssl.create_default_context(cafile=lab.ca_file))


def _verify(lab, token, audience=None, issuer=None):
    key = _jwks_client(lab).get_signing_key_from_jwt(token)
    options = {"require": ["exp", "iat", "iss", "sub", "jti"]}
    if audience is None:
        options["verify_aud"] = False
    return jwt.decode(token, key.key, algorithms=["RS256"], issuer=issuer or lab.issuer, audience=audience,
                      options=options)


def _patch(api, user_id, body, ctype=SCIM):
    return api.patch("/scim/Users/%s" % user_id, data=json.dumps(body), headers={"Content-Type": ctype})


# -- discovery and keys ----------------------------------------------------------------------------------
def test_discovery_issuer_has_slash_and_lists_endpoints(iam):
    doc = requests.get(iam.url + "/.well-known/openid-configuration", verify=iam.ca_file, timeout=10).json()
    assert doc["issuer"] == iam.url + "/" and not iam.issuer.endswith("/")
    for key, path in (("token_endpoint", "/token"), ("jwks_uri", "/jwk"), ("introspection_endpoint", "/introspect"),
                      ("userinfo_endpoint", "/userinfo"), ("revocation_endpoint", "/revoke"),
                      ("scim_endpoint", "/scim")):
        assert doc[key] == iam.url + path
    assert {"client_credentials", "refresh_token", "password"} <= set(doc["grant_types_supported"])
    assert "client_secret_basic" in doc["token_endpoint_auth_methods_supported"]
    assert {"wlcg.groups", "preferred_username"} <= set(doc["claims_supported"])
    assert not {"scim:read", "scim:write", "iam:admin.read", "iam:admin.write"} & set(doc["scopes_supported"])


def test_jwks_cache_control_and_key(iam):
    resp = requests.get(iam.url + "/jwk", verify=iam.ca_file, timeout=10)
    assert resp.headers["Cache-Control"] == "max-age=21600, must-revalidate, no-transform"
    (key,) = resp.json()["keys"]
    assert key["kty"] == "RSA" and key["kid"] == "rsa1" and "d" not in key


# -- token endpoint ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials_token_verifies_with_jwks(iam, auth_method):
    sess = _session(iam, token_endpoint_auth_method=auth_method)
    reply = sess.fetch_token(iam.url + "/token", grant_type="client_credentials")
    assert reply["token_type"] == "Bearer" and 3590 <= reply["expires_in"] <= 3600
    assert "refresh_token" not in reply
    assert set(reply["scope"].split()) == {"scim:read", "scim:write", "iam:admin.read", "iam:admin.write"}
    claims = _verify(iam, reply["access_token"])
    assert claims["iss"] == iam.issuer and claims["sub"] == iam.admin.client_id == claims["client_id"]
    assert jwt.get_unverified_header(reply["access_token"]) == {"kid": "rsa1", "alg": "RS256"}


def test_token_endpoint_errors(iam):
    url = iam.url + "/token"
    adm = iam.admin
    form = requests.post(url, data={"grant_type": "client_credentials", "client_id": adm.client_id,
                                    "client_secret": "wrong"}, verify=iam.ca_file, timeout=10)
    assert form.status_code == 401
    assert form.json() == {"error": "invalid_client", "error_description": "Bad client credentials"}
    basic = requests.post(url, data={"grant_type": "client_credentials"}, auth=(adm.client_id, "wrong"),
                          verify=iam.ca_file, timeout=10)
    assert basic.status_code == 401
    assert basic.json() == {"error": "unauthorized", "error_description": "Bad credentials"}
    scope = requests.post(url, data={"grant_type": "client_credentials", "scope": "scim:read openid"},
                          auth=(adm.client_id, adm.secret), verify=iam.ca_file, timeout=10)
    assert scope.status_code == 400
    assert scope.json() == {"error": "invalid_scope",
                            "error_description": "Scope 'openid' not allowed for client 'gridsec-admin'"}
    grant = requests.post(url, data={"grant_type": "password", "username": "asmith", "password": "x"},
                          auth=(adm.client_id, adm.secret), verify=iam.ca_file, timeout=10)
    assert grant.status_code == 401
    assert grant.json() == {"error": "invalid_client", "error_description": "Unauthorized grant type: password"}


def test_narrowed_scope_is_what_the_token_carries(iam):
    token = _admin_token(iam, scope="scim:read")
    assert _verify(iam, token)["scope"] == "scim:read"
    api = Api(iam, token)
    assert api.get("/scim/Users").status_code == 200
    resp = _patch(api, iam.users["asmith"].id, PATCH_OFF)
    assert resp.status_code == 403
    assert resp.json() == {"error": "access_denied", "error_description": "Access is denied"}


def test_user_token_claims_wlcg_profile(iam):
    user = iam.users["jmcdonald"]
    sess = _session(iam, "user", scope="openid profile offline_access wlcg.groups")
    reply = sess.fetch_token(iam.url + "/token", grant_type="password", username=user.username,
                             password=user.password, audience="https://panda.lab.gridsec.test")
    claims = _verify(iam, reply["access_token"], audience="https://panda.lab.gridsec.test")
    assert claims["aud"] == "https://panda.lab.gridsec.test"          # one audience: a string, not a list
    assert claims["sub"] == user.id and claims["client_id"] == "panda-client"
    assert claims["name"] == "Jean-Luc McDonald" and claims["preferred_username"] == "jmcdonald"
    assert claims["wlcg.groups"] == ["/atlas", "/atlas/production"] and claims["wlcg.ver"] == "1.0"
    assert claims["scope"] == "openid profile offline_access wlcg.groups"
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    assert "refresh_token" in reply


def test_trap_8_access_token_iss_without_slash_id_token_with(iam):
    reply = iam.token_for("asmith")
    assert jwt.decode(reply["access_token"], options={"verify_signature": False})["iss"] == iam.issuer
    id_claims = _verify(iam, reply["id_token"], audience="panda-client", issuer=iam.discovery_issuer)
    assert id_claims["iss"] == iam.url + "/" and id_claims["sub"] == iam.users["asmith"].id
    with pytest.raises(jwt.InvalidIssuerError):  # a relying party comparing strings sees two issuers
        _verify(iam, reply["access_token"], issuer=iam.discovery_issuer)


def test_token_without_profile_has_no_name_and_iam_profile(iam):
    claims = jwt.decode(iam.token_for("ttoken", scope="openid")["access_token"],
                        options={"verify_signature": False})
    assert "name" not in claims and claims["sub"] == iam.users["ttoken"].id
    assert claims["aud"] == "https://wlcg.cern.ch/jwt/v1/any"
    iam_claims = _verify(iam, iam.token_for("jmcdonald", scope="openid profile", client="iam_profile")
                         ["access_token"])
    assert iam_claims["groups"] == ["atlas", "atlas/production"] and "wlcg.groups" not in iam_claims
    assert "aud" not in iam_claims and "wlcg.ver" not in iam_claims


def test_refresh_refused_for_disabled_user_and_allowed_after_restore(iam, admin):
    user = iam.users["asmith"]
    sess = _session(iam, "user", scope="openid profile offline_access")
    first = sess.fetch_token(iam.url + "/token", grant_type="password", username=user.username,
                             password=user.password)
    again = sess.refresh_token(iam.url + "/token", refresh_token=first["refresh_token"])
    assert again["access_token"] != first["access_token"]
    assert _patch(admin, user.id, PATCH_OFF).status_code == 204
    resp = requests.post(iam.url + "/token", data={"grant_type": "refresh_token",
                                                   "refresh_token": first["refresh_token"]},
                         auth=(iam.clients["user"].client_id, iam.clients["user"].secret), verify=iam.ca_file,
                         timeout=10)
    assert resp.status_code == 401
    assert resp.json() == {"error": "unauthorized", "error_description": "User asmith is not active."}
    # the refresh token stays stored while the account is disabled, and works again after restore
    assert admin.get("/iam/api/refresh-tokens", params={"userId": "asmith"}).json()["totalResults"] == 1
    assert _patch(admin, user.id, PATCH_ON).status_code == 204
    assert "access_token" in sess.refresh_token(iam.url + "/token", refresh_token=first["refresh_token"])


def test_password_grant_for_disabled_user(iam):
    with pytest.raises(Exception) as err:
        iam.token_for("bwayne")
    assert err.value.code == 400
    assert json.loads(err.value.read()) == {"error": "invalid_grant",
                                            "error_description": "User 'bwayne' is not active."}


# -- authentication of API calls -------------------------------------------------------------------------------
def test_api_auth_errors(iam):
    anon = requests.get(iam.url + "/scim/Users", verify=iam.ca_file, timeout=10)
    assert anon.status_code == 401
    assert anon.json() == {"error": "unauthorized",
                           "error_description": "Full authentication is required to access this resource"}
    openid = Api(iam, _admin_token(iam, "openid"))
    for call in (openid.get("/scim/Users"), openid.get("/iam/account/find/byusername",
                                                        params={"username": "asmith"}),
                 openid.get("/iam/api/access-tokens")):
        assert call.status_code == 403
        assert call.json() == {"error": "access_denied", "error_description": "Access is denied"}
    # the body is read before @PreAuthorize: unreadable -> 400 empty even without the scope
    uid = iam.users["asmith"].id
    assert openid.patch("/scim/Users/" + uid, data=b"{", headers={"Content-Type": SCIM}).status_code == 400
    assert _patch(openid, uid, PATCH_OFF).status_code == 403 and iam.account("asmith").active
    reader = Api(iam, _admin_token(iam, "reader"))
    assert reader.get("/iam/api/access-tokens").status_code == 200
    assert reader.delete("/iam/api/access-tokens/1").status_code == 403
    bogus = Api(iam, "not-a-token").get("/scim/Users")
    assert bogus.status_code == 401 and bogus.json()["error"] == "invalid_token"


# -- SCIM users ---------------------------------------------------------------------------------------------------
def test_scim_get_user_shape(iam, admin):
    user = iam.users["asmith"]
    resp = admin.get("/scim/Users/" + user.id)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/scim+json;charset=UTF-8"
    body = resp.json()
    assert body["id"] == user.id and body["userName"] == "asmith" and body["displayName"] == "asmith"
    assert body["active"] is True and body["name"]["formatted"] == "Anna Smith"
    assert body["emails"] == [{"type": "work", "value": user.email, "primary": True}]
    ext = body["urn:indigo-dc:scim:schemas:IndigoUser"]
    assert [c["subjectDn"] for c in ext["certificates"]] == user.certificate_dns
    assert user.certificate_dns[0] == "CN=Anna Smith,OU=Users,DC=gridsec-lab,DC=test"
    assert ext["oidcIds"] == user.oidc_ids and ext["serviceAccount"] is False
    assert "labels" not in ext


def test_scim_404_and_content_negotiation(iam, admin):
    resp = admin.get("/scim/Users/no-such-id")
    assert resp.status_code == 404
    assert resp.json() == {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404",
                           "detail": "No user mapped to id 'no-such-id'"}
    assert admin.get("/scim/Users", headers={"Accept": "application/json"}).status_code == 406
    wrong = _patch(admin, iam.users["asmith"].id, PATCH_OFF, ctype="application/json")
    assert wrong.status_code == 415 and wrong.content == b""
    assert iam.account("asmith").active


def test_scim_list_paging(iam, admin):
    for i in range(7):
        iam.add_user("pager%02d" % i, "Page", "User%d" % i)
    total = len(iam.state.accounts)
    page = admin.get("/scim/Users", params={"startIndex": 3, "count": 4}).json()
    assert (page["totalResults"], page["itemsPerPage"], page["startIndex"]) == (total, 4, 3)
    assert page["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    seen, start = [], 1
    while True:
        chunk = admin.get("/scim/Users", params={"startIndex": start, "count": 5}).json()
        seen += [u["id"] for u in chunk["Resources"]]
        start += chunk["itemsPerPage"]
        if start > chunk["totalResults"]:
            break
    assert sorted(seen) == sorted(iam.state.accounts)
    only = admin.get("/scim/Users", params={"count": 0}).json()
    assert only == {"totalResults": total, "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "Resources": []}
    assert admin.get("/scim/Users", params={"count": 500}).json()["itemsPerPage"] == total  # capped at 100
    attrs = admin.get("/scim/Users", params={"count": 1, "attributes": "userName,active"}).json()
    assert set(attrs["Resources"][0]) == {"id", "schemas", "userName", "active"}


def test_patch_suspend_is_204_empty_and_idempotent(iam, admin):
    user = iam.users["jmcdonald"]
    for _ in range(2):
        resp = _patch(admin, user.id, PATCH_OFF)
        assert resp.status_code == 204 and resp.content == b"" and "Content-Type" not in resp.headers
    assert admin.get("/scim/Users/" + user.id).json()["active"] is False
    assert [m["template"] for m in iam.mails()] == ["accountSuspended.ftl"]   # no mail for the no-op
    assert _patch(admin, user.id, PATCH_ON).status_code == 204
    assert admin.get("/scim/Users/" + user.id).json()["active"] is True


def test_trap_1_capital_operations_is_400_empty(iam, admin):
    body = {"schemas": PATCH_OFF["schemas"], "Operations": PATCH_OFF["operations"]}
    resp = _patch(admin, iam.users["asmith"].id, body)
    assert resp.status_code == 400 and resp.content == b""
    assert iam.account("asmith").active


def test_trap_2_path_style_patch_is_400_empty(iam, admin):
    for op in ({"op": "replace", "path": "active", "value": False}, {"op": "Replace", "value": {"active": False}}):
        resp = _patch(admin, iam.users["asmith"].id, {"schemas": PATCH_OFF["schemas"], "operations": [op]})
        assert resp.status_code == 400 and resp.content == b""
    # path is ignored when value is an object
    ok = {"op": "replace", "path": "active", "value": {"active": False}}
    assert _patch(admin, iam.users["asmith"].id, {"operations": [ok]}).status_code == 204
    assert not iam.account("asmith").active


def test_patch_validation_errors(iam, admin):
    uid = iam.users["asmith"].id
    empty = _patch(admin, uid, {"operations": []})
    assert empty.status_code == 400 and empty.json()["detail"] == (
        "Invalid Scim Patch Request: [scimUserPatchRequest.operations : must not be empty]")
    noop = _patch(admin, uid, {"operations": [{"op": "replace", "value": {}}]})
    assert noop.status_code == 400 and noop.json()["detail"] == "replace operation not supported"
    missing = _patch(admin, "no-such-id", PATCH_OFF)
    assert missing.status_code == 404 and missing.json()["detail"] == "No user mapped to id 'no-such-id'"
    garbage = admin.patch("/scim/Users/" + uid, data=b"{not json", headers={"Content-Type": SCIM})
    assert garbage.status_code == 400 and garbage.content == b""


def test_put_rebuilds_the_account_from_the_body(iam, admin):
    user = iam.users["asmith"]
    body = admin.get("/scim/Users/" + user.id).json()
    body["name"]["givenName"] = "Annie"
    resp = admin.put("/scim/Users/" + user.id, data=json.dumps(body), headers={"Content-Type": SCIM})
    assert resp.status_code == 200 and resp.json()["name"]["givenName"] == "Annie"
    # the output key is `certificates`, the input key `x509Certificates`: a GET-then-PUT drops them
    assert "certificates" not in resp.json()["urn:indigo-dc:scim:schemas:IndigoUser"]
    assert iam.account("asmith").certificates == []
    bad = admin.put("/scim/Users/" + user.id, data=json.dumps({"userName": "asmith"}),
                    headers={"Content-Type": SCIM})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("Invalid Scim User: [")
    body["userName"] = "jmcdonald"
    clash = admin.put("/scim/Users/" + user.id, data=json.dumps(body), headers={"Content-Type": SCIM})
    assert clash.status_code == 409 and clash.json()["detail"] == "username jmcdonald already assigned to another user"


# -- finders ---------------------------------------------------------------------------------------------------
def test_single_result_finders(iam, admin):
    user = iam.users["jmcdonald"]
    hit = admin.get("/iam/account/find/byusername", params={"username": "jmcdonald"}).json()
    assert hit["totalResults"] == 1 and [u["id"] for u in hit["Resources"]] == [user.id]
    for path, params in (("byusername", {"username": "nobody"}), ("byemail", {"email": "x@y"}),
                         ("bycertsubject", {"certificateSubject": "CN=Nobody"}), ("byuuid/0000", {})):
        miss = admin.get("/iam/account/find/" + path, params=params)
        assert miss.status_code == 200
        assert miss.json() == {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "Resources": []}
    dn = user.certificate_dns[0]
    assert admin.get("/iam/account/find/bycertsubject",
                     params={"certificateSubject": dn}).json()["Resources"][0]["id"] == user.id
    # exact string compare: the slash form and a spelling with spaces after commas do not match
    for other in (user.certificate_dns_slash[0], dn.replace(",", ", ")):
        assert admin.get("/iam/account/find/bycertsubject",
                         params={"certificateSubject": other}).json()["Resources"] == []
    assert admin.get("/iam/account/find/byuuid/" + user.id).json()["Resources"][0]["userName"] == "jmcdonald"
    assert admin.get("/iam/account/find/byemail", params={"email": user.email}).json()["totalResults"] == 1
    assert admin.get("/iam/account/find/byusername", params={"username": "asmith"},
                     headers={"Accept": "application/json"}).status_code == 406
    assert admin.get("/iam/account/find/byusername").status_code == 400       # required parameter


def test_trap_4_bylabel_ignores_prefixed_labels_and_needs_a_value(iam, admin):
    uid = iam.users["ttoken"].id
    assert admin.put("/iam/account/%s/labels" % uid, json={"name": "gridsec.suspended", "value": "INC-1"}
                     ).status_code == 200
    assert admin.put("/iam/account/%s/labels" % uid, json={"prefix": "gridsec.org", "name": "held", "value": "INC-1"}
                     ).status_code == 200
    found = admin.get("/iam/account/find/bylabel", params={"name": "gridsec.suspended", "value": "INC-1"}).json()
    assert (found["totalResults"], found["itemsPerPage"], found["startIndex"]) == (1, 1, 1)
    assert found["Resources"][0]["id"] == uid
    assert admin.get("/iam/account/find/bylabel", params={"name": "held", "value": "INC-1"}).json()["Resources"] == []
    assert admin.get("/iam/account/find/bylabel", params={"name": "gridsec.suspended"}).json()["totalResults"] == 0
    for params, status in (({"startIndex": -5}, 200), ({"startIndex": 0}, 500), ({"count": 0}, 500),
                           ({"count": -1}, 500)):
        paged = admin.get("/iam/account/find/bylabel",
                          params={"name": "gridsec.suspended", "value": "INC-1", **params})
        assert paged.status_code == status, params
    prefix = admin.put("/iam/account/%s/labels" % uid, json={"prefix": "gridsec", "name": "suspended"})
    assert prefix.status_code == 400 and prefix.json()["error"].startswith("Invalid label: invalid prefix")


# -- labels ----------------------------------------------------------------------------------------------------
def test_labels_api(iam, admin):
    uid = iam.users["asmith"].id
    put = admin.put("/iam/account/%s/labels" % uid, json={"name": "gridsec.suspended", "value": "INC-1"})
    assert put.status_code == 200 and put.content == b""
    admin.put("/iam/account/%s/labels" % uid, json={"name": "gridsec.suspended", "value": "INC-2"})
    assert admin.get("/iam/account/%s/labels" % uid).json() == [{"name": "gridsec.suspended", "value": "INC-2"}]
    bad = admin.put("/iam/account/no-such/labels", json={"name": "1bad"})
    assert bad.status_code == 400    # validation runs before the account lookup
    assert bad.json() == {"error": "Invalid label: invalid name (does not match with regexp: "
                                   "'^[a-zA-Z][a-zA-Z0-9-_.]*$')"}
    missing = admin.put("/iam/account/no-such/labels", json={"name": "ok"})
    assert missing.status_code == 404 and missing.json() == {"error": "Account not found for id 'no-such'"}
    assert admin.put("/iam/account/%s/labels" % uid, json={"name": "x", "value": "v" * 65}).json() == {
        "error": "Invalid label: invalid value length"}
    for _ in range(2):
        gone = admin.delete("/iam/account/%s/labels" % uid, params={"name": "gridsec.suspended"})
        assert gone.status_code == 204
    assert admin.get("/iam/account/%s/labels" % uid).json() == []
    noname = admin.delete("/iam/account/%s/labels" % uid)
    assert noname.status_code == 400 and noname.json()["error"].startswith("Invalid label: name is required")
    # the account itself may read its labels
    own = Api(iam, iam.token_for("asmith", scope="openid")["access_token"])
    assert own.get("/iam/account/%s/labels" % uid).status_code == 200
    assert own.get("/iam/account/%s/labels" % iam.users["jmcdonald"].id).status_code == 403


# -- tokens API ----------------------------------------------------------------------------------------------
def _mint(iam, username, n, scope="openid offline_access"):
    return [iam.token_for(username, scope=scope) for _ in range(n)]


def test_token_listing_shape_and_trap_3_userid_is_the_username(iam, admin):
    _mint(iam, "jmcdonald", 2)
    user = iam.users["jmcdonald"]
    by_name = admin.get("/iam/api/access-tokens", params={"userId": "jmcdonald"}).json()
    assert set(by_name) == {"totalResults", "itemsPerPage", "startIndex", "Resources"}
    assert by_name["totalResults"] == 2
    item = by_name["Resources"][0]
    assert "value" not in item and item["scopes"] == ["openid", "offline_access"]
    assert item["user"] == {"id": user.id, "userName": "jmcdonald", "$ref": "%s/scim/Users/%s" % (iam.url, user.id)}
    assert item["client"]["clientId"] == "panda-client" and isinstance(item["expiration"], int)
    by_uuid = admin.get("/iam/api/access-tokens", params={"userId": user.id})
    assert by_uuid.status_code == 200 and by_uuid.json()["totalResults"] == 0 and by_uuid.json()["Resources"] == []
    refresh = admin.get("/iam/api/refresh-tokens", params={"userId": "jmcdonald"}).json()
    assert refresh["totalResults"] == 2 and "scopes" not in refresh["Resources"][0]
    count = admin.get("/iam/api/access-tokens", params={"userId": "jmcdonald", "count": 0}).json()
    assert count == {"totalResults": 2, "itemsPerPage": 0, "startIndex": 1, "Resources": []}


def test_token_pages_hold_20_and_only_unexpired(iam, admin):
    _mint(iam, "ttoken", 23, scope="openid")
    first = admin.get("/iam/api/access-tokens", params={"userId": "ttoken", "count": 50}).json()
    assert (first["totalResults"], first["itemsPerPage"], len(first["Resources"])) == (23, 20, 20)
    second = admin.get("/iam/api/access-tokens", params={"userId": "ttoken", "startIndex": 21}).json()
    assert second["itemsPerPage"] == 3
    iam.advance_clock(3601)
    assert admin.get("/iam/api/access-tokens", params={"userId": "ttoken"}).status_code == 401  # admin token expired
    fresh = Api(iam, _admin_token(iam))
    assert fresh.get("/iam/api/access-tokens", params={"userId": "ttoken"}).json()["totalResults"] == 0
    assert len(iam.tokens("ttoken")) == 23   # still stored, just not listed


def test_token_get_and_delete_by_id(iam, admin):
    _mint(iam, "asmith", 1, scope="openid")
    (item,) = admin.get("/iam/api/access-tokens", params={"userId": "asmith"}).json()["Resources"]
    assert admin.get("/iam/api/access-tokens/%d" % item["id"]).json()["id"] == item["id"]
    gone = admin.delete("/iam/api/access-tokens/%d" % item["id"])
    assert gone.status_code == 204 and gone.content == b""
    again = admin.delete("/iam/api/access-tokens/%d" % item["id"])
    assert again.status_code == 404 and again.json() == {"error": "Token with id = %d not found" % item["id"]}
    assert admin.get("/iam/api/refresh-tokens/999").json() == {"error": "Token with id = 999 not found"}


def test_trap_5_deleting_while_paging_forward_leaves_tokens(iam, admin):
    _mint(iam, "ttoken", 25, scope="openid")
    start = 1
    while True:   # the wrong client: startIndex moves forward while the list shrinks
        page = admin.get("/iam/api/access-tokens", params={"userId": "ttoken", "startIndex": start}).json()
        if not page["Resources"]:
            break
        for item in page["Resources"]:
            admin.delete("/iam/api/access-tokens/%d" % item["id"])
        start += page["itemsPerPage"]
    left = admin.get("/iam/api/access-tokens", params={"userId": "ttoken"}).json()["totalResults"]
    assert left == 5
    while True:   # the right one: startIndex stays 1 until the page is empty
        page = admin.get("/iam/api/access-tokens", params={"userId": "ttoken"}).json()
        if not page["Resources"]:
            break
        for item in page["Resources"]:
            admin.delete("/iam/api/access-tokens/%d" % item["id"])
    assert admin.get("/iam/api/access-tokens", params={"userId": "ttoken"}).json()["totalResults"] == 0


def test_idless_delete_wipes_every_token_and_is_logged(iam, admin):
    _mint(iam, "asmith", 2)
    _mint(iam, "ttoken", 1)
    assert iam.delete_all_calls() == []
    resp = admin.delete("/iam/api/refresh-tokens")
    assert resp.status_code == 204 and iam.tokens(kind="refresh") == []
    assert len(iam.tokens(kind="access")) == 4   # 3 user tokens + the admin token
    assert admin.delete("/iam/api/access-tokens").status_code == 204
    assert iam.tokens(kind="access") == []       # the caller's own token too
    assert [(c["method"], c["path"]) for c in iam.delete_all_calls()] == [
        ("DELETE", "/iam/api/refresh-tokens"), ("DELETE", "/iam/api/access-tokens")]


def test_trap_6_access_token_outlives_disable_and_deletion(iam, admin):
    user = iam.users["jmcdonald"]
    token = iam.token_for("jmcdonald", scope="openid profile")["access_token"]
    uc = iam.clients["user"]

    def introspect():
        return requests.post(iam.url + "/introspect", data={"token": token}, auth=(uc.client_id, uc.secret),
                             verify=iam.ca_file, timeout=10).json()

    assert _patch(admin, user.id, PATCH_OFF).status_code == 204
    assert _verify(iam, token)["sub"] == user.id            # offline validation unaffected
    assert introspect()["active"] is True                    # IAM #1157: status not checked
    assert Api(iam, token).get("/userinfo").status_code == 200
    (item,) = admin.get("/iam/api/access-tokens", params={"userId": "jmcdonald"}).json()["Resources"]
    assert admin.delete("/iam/api/access-tokens/%d" % item["id"]).status_code == 204
    assert _verify(iam, token)["sub"] == user.id            # still a valid JWT until exp
    assert introspect() == {"active": False}
    info = Api(iam, token).get("/userinfo")
    assert info.status_code == 401 and info.json()["error"] == "invalid_token"


def test_trap_7_client_disable_with_client_credentials_is_a_noop(iam, admin):
    resp = admin.patch("/iam/api/clients/panda-client/disable")
    assert resp.status_code == 200 and resp.content == b""
    assert admin.patch("/iam/api/clients/no-such-client/disable").status_code == 200
    assert iam.state.clients["panda-client"].active
    assert "access_token" in iam.token_for("ttoken", scope="openid")


def test_request_log_order(iam, admin):
    iam.clear_requests()
    admin.get("/iam/account/find/byusername", params={"username": "asmith"})
    _patch(admin, iam.users["asmith"].id, PATCH_OFF)
    log = iam.requests()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/iam/account/find/byusername", 200), ("PATCH", "/scim/Users/" + iam.users["asmith"].id, 204)]
    assert log[0]["params"] == {"username": "asmith"} and log[0]["client_id"] == "gridsec-admin"
    assert log[1]["body"] == PATCH_OFF and log[0]["body"] is None
    over_http = requests.get(iam.url + "/lab/requests", verify=iam.ca_file, timeout=10).json()
    assert [e["seq"] for e in over_http] == [1, 2]


# -- command line ------------------------------------------------------------------------------------------
def test_cli_background_start_and_stop(tmp_path, iam_pki):
    env = dict(os.environ)
    lab_root = os.path.join(os.path.dirname(__file__), "..", "..", "lab")
    env["PYTHONPATH"] = os.path.abspath(lab_root)
    workdir = str(tmp_path / "iam")
    started = subprocess.run([sys.executable, "-m", "gridsec_lab", "iam", "--workdir", workdir, "--background",
                              "--pki-dir", iam_pki.directory],
                             env=env, capture_output=True, text=True, timeout=90)
    assert started.returncode == 0, started.stderr
    try:
        path = os.path.join(workdir, "iam.json")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path) as handle:
            info = json.load(handle)
        assert info["admin"]["client_secret"] not in started.stdout
        assert set(info["users"]) >= {"jmcdonald", "asmith", "bwayne", "ttoken"}
        token = requests.post(info["token_endpoint"], data={"grant_type": "client_credentials"},
                              auth=(info["admin"]["client_id"], info["admin"]["client_secret"]),
                              verify=info["ca_file"], timeout=10).json()["access_token"]
        uid = info["users"]["jmcdonald"]["id"]
        user = requests.get(info["url"] + "/scim/Users/" + uid, headers={"Authorization": "Bearer " + token},
                            verify=info["ca_file"], timeout=10).json()
        assert user["urn:indigo-dc:scim:schemas:IndigoUser"]["certificates"][0]["subjectDn"] == \
            info["users"]["jmcdonald"]["certificate_dns"][0]
    finally:
        stopped = subprocess.run([sys.executable, "-m", "gridsec_lab", "iam", "stop", "--workdir", workdir],
                                 env=env, capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0 and not os.path.exists(os.path.join(workdir, "iam.pid"))


def test_refresh_token_errors(iam):
    uc, other = iam.clients["user"], iam.clients["iam_profile"]
    url = iam.url + "/token"

    def refresh(value, client=uc, **extra):
        return requests.post(url, data={"grant_type": "refresh_token", "refresh_token": value, **extra},
                             auth=(client.client_id, client.secret), verify=iam.ca_file, timeout=10)

    unknown = refresh("no-such-token")
    assert unknown.status_code == 401
    assert unknown.json() == {"error": "invalid_token",
                              "error_description": "Refresh token for value no-such-token was not found"}
    value = iam.token_for("ttoken", scope="openid offline_access")["refresh_token"]
    upscope = refresh(value, scope="openid profile")
    assert upscope.status_code == 400 and upscope.json()["error_description"] == "Up-scoping is not allowed."
    stolen = refresh(value, client=other)
    assert stolen.status_code == 401 and stolen.json() == {
        "error": "invalid_client", "error_description": "Client does not own the presented refresh token"}
    assert refresh(value).status_code == 401          # and MITREid removed it
    expiring = iam.token_for("ttoken", scope="openid offline_access")["refresh_token"]
    iam.advance_clock(2592001)
    expired = refresh(expiring)
    assert expired.status_code == 401 and expired.json()["error"] == "invalid_token"
    iam.state.clients["panda-client"].active = False
    suspended = refresh("anything")
    assert suspended.status_code == 401 and suspended.json() == {
        "error": "invalid_client", "error_description": "Client is suspended: panda-client"}


def test_fault_proxy_in_front_of_the_lab_iam(iam, admin, iam_pki):
    """gridsec_lab.faults.FaultProxy fronts the lab IAM for the client's fault tests: a reset after the PATCH
    was forwarded leaves the account suspended although the client saw no reply; a rule answers 500."""
    from gridsec_lab.faults import FaultProxy

    port = int(iam.url.rsplit(":", 1)[1])
    uid = iam.users["jmcdonald"].id
    with FaultProxy("127.0.0.1", port, server_cred=iam_pki.host("iam"), upstream_ca=iam.ca_file) as proxy:
        via = Api(iam, _admin_token(iam), base="https://localhost:%d" % proxy.port)
        proxy.set("http", rules=[(lambda op, path, body: b"operations" in (body or b""), {"reset_after": 0})])
        with pytest.raises(requests.exceptions.ConnectionError):
            _patch(via, uid, PATCH_OFF)
        assert iam.account("jmcdonald").active is False          # applied, reply lost
        proxy.set("http", rules=[("*", {"respond": (500, "application/json", b'{"error":"boom"}'), "times": 1})])
        assert via.get("/scim/Users/" + uid).status_code == 500
        assert via.get("/scim/Users/" + uid).json()["active"] is False


def test_one_dn_on_two_accounts_breaks_bycertsubject(iam, admin):
    dn = "CN=Shared Robot,OU=Robots,DC=gridsec-lab,DC=test"
    iam.add_user("robot1", "Shared", "Robot", certificate_dns=[dn], raw_dns=True)
    iam.add_user("robot2", "Shared", "Robot", certificate_dns=[dn], raw_dns=True, email="robot2@x.test")
    assert admin.get("/iam/account/find/bycertsubject", params={"certificateSubject": dn}).status_code == 500
    iam.reset()
    assert "robot1" not in iam.users and iam.account("robot1") is None
