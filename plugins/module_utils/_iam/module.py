# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Base class of the INDIGO IAM modules.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``IamModule`` adds to the shared ``GridsecModule`` (``_module_base.py``: argument spec with ``TLS_SPEC``, the
``GridsecError`` to ``fail_json`` path) the IAM options ``IAM_SPEC`` (documented by the ``_iam`` doc fragment),
their validation, one ``IamClient`` per run (the admin token is fetched once and cached for the run) and the IAM
keys of a failure (``changed`` and ``operations``: the writes that completed before it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.basic import env_fallback

from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, dn_key, parse_dn
from ansible_collections.gridsec.ops.plugins.module_utils._errors import RemoteError
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import validate_tls_options
from ansible_collections.gridsec.ops.plugins.module_utils._iam.client import ADMIN_SCOPES, IamClient, user_extension
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import GridsecModule, jsonable

IAM_SPEC = dict(
    iam_url=dict(type="str", fallback=(env_fallback, ["IAM_URL"])),
    client_id=dict(type="str", fallback=(env_fallback, ["IAM_CLIENT_ID"])),
    client_secret=dict(type="str", no_log=True, fallback=(env_fallback, ["IAM_CLIENT_SECRET"])),
    bearer_token=dict(type="str", no_log=True, fallback=(env_fallback, ["IAM_BEARER_TOKEN"])),
    iam_issuer=dict(type="str"),
)

_URL = re.compile(r"^https://[^/\s?#]+(/[^\s?#]*)?$", re.I)


def check_iam_url(url, what="iam_url"):
    """Message when ``url`` cannot be IAM's base URL, else None (HTTPS only: the admin token travels on it)."""
    text = (url or "").strip()
    if not text:
        return "%s is required (IAM's base URL, such as https://iam.example.org; or set IAM_URL)" % what
    if not _URL.match(text):
        if "://" not in text:
            return "%s %r has no scheme: write it as https://%s" % (what, url, text.lstrip("/"))
        return "%s %r must be an https:// URL with a host, such as https://iam.example.org" % (what, url)
    return None


class IamModule(GridsecModule):
    """``GridsecModule`` with the IAM connection options and a lazily built ``IamClient``."""

    def __init__(self, argument_spec=None, scopes=ADMIN_SCOPES, **kwargs):
        super(IamModule, self).__init__(connection_specs=(IAM_SPEC,), argument_spec=argument_spec, **kwargs)
        self.scopes = scopes
        self.done_operations = []  # the writes that completed, as text (reported also on a failure)
        problems = validate_tls_options(timeout=self.params.get("timeout"), retries=self.params.get("retries"))
        url_problem = check_iam_url(self.params.get("iam_url"))
        if url_problem:
            problems.insert(0, url_problem)
        if self.params.get("iam_issuer"):
            issuer_problem = check_iam_url(self.params.get("iam_issuer"), "iam_issuer")
            if issuer_problem:
                problems.append(issuer_problem)
        has_client = bool(self.params.get("client_id") and self.params.get("client_secret"))
        if not self.params.get("bearer_token") and not has_client:
            problems.append("IAM authentication: give bearer_token (or IAM_BEARER_TOKEN), or client_id and "
                            "client_secret of an admin client (or IAM_CLIENT_ID and IAM_CLIENT_SECRET)")
        if problems:
            self.fail_json(msg="invalid options: %s" % "; ".join(problems), changed=False, operations=[], requests=[])

    @property
    def base_url(self):
        return self.params["iam_url"].strip().rstrip("/")

    @property
    def server_label(self):
        return self.base_url.split("://", 1)[-1].split("/", 1)[0]

    def client(self):
        """The ``IamClient`` of this run (built once; the admin token is requested on the first call)."""
        if self._client is None:
            # No grid-environment credential: IAM's admin API authenticates with the OAuth token; an X.509
            # client certificate is sent only when client_cert/proxy_file are given explicitly.
            transport = self.new_transport(HttpTransport, self.base_url, server_label=self.server_label,
                                           credential_fallback=False)
            self._client = self.run_guarded(
                IamClient, transport, server_label=self.server_label, client_id=self.params.get("client_id"),
                client_secret=self.params.get("client_secret"), bearer_token=self.params.get("bearer_token"),
                scopes=self.scopes, issuer=self.params.get("iam_issuer"))
        return self._client

    def prepare_failure(self, result):
        """The IAM keys of a failure: ``changed`` is whether a write completed, ``operations`` those writes."""
        result.setdefault("changed", bool(self.done_operations))
        result.setdefault("operations", jsonable(list(self.done_operations)))
        return result


# -- selecting accounts ---------------------------------------------------------------------------------------
SELECTOR_KEYS = ("uuid", "username", "dn", "issuer")


def _same_issuer(a, b):
    return (a or "").strip().rstrip("/") == (b or "").strip().rstrip("/")


def check_selector(params):
    """Message for a selector that cannot be used (checked before anything is sent), else None."""
    for key in ("uuid", "username", "dn", "subject"):
        value = params.get(key)
        if value is not None and not str(value).strip():
            return "%s must not be empty" % key
    if params.get("issuer") is not None:
        issuer = str(params["issuer"])
        if not issuer.strip():
            return "issuer must not be empty"
        if not issuer.lower().startswith("https://") or not issuer[8:].split("/", 1)[0]:
            return "issuer %r is not an https:// URL (token issuers are HTTPS URLs)" % (issuer,)
        if any(c.isspace() for c in issuer):
            return "issuer %r contains white space" % (issuer,)
        if params.get("subject") is None:
            return "issuer needs subject (the token's sub claim)"
    elif params.get("subject") is not None:
        return "subject needs issuer"
    if params.get("dn") is not None:
        try:
            parse_dn(params["dn"])
        except DNError as err:
            return "dn is not a DN: %s" % err.msg
    return None


def _cert_matches(user, dn):
    ext = user_extension(user)
    certificates = ext.get("certificates") or []
    if not isinstance(certificates, list):
        raise RemoteError("reply is not a SCIM user: certificates is %s, not a list" % type(certificates).__name__)
    for cert in certificates:
        subject = cert.get("subjectDn") if isinstance(cert, dict) else None
        if not subject:
            continue
        try:
            if dn_key(subject) == dn:
                return True
        except DNError:
            continue
    return False


def find_accounts(client, params):
    """``(accounts, how)``: the SCIM users the selector in ``params`` designates (possibly none or several) and a
    short text saying how they were found. Values are compared literally (never as patterns)."""
    if params.get("uuid"):
        user = client.get_user(params["uuid"])
        return ([user] if user else []), "SCIM user id"
    if params.get("username"):
        return client.find_by_username(params["username"]), "find/byusername"
    if params.get("dn"):
        wanted = parse_dn(params["dn"])
        key = wanted.canonical()
        hits = []
        try:
            hits = client.find_by_cert_subject(wanted.to_rfc2253())
        except RemoteError as err:
            if int(err.details.get("status") or 0) < 500:
                raise
            # IAM's bycertsubject fails with a server error when two accounts hold the subject: scan instead
        hits = [user for user in hits if _cert_matches(user, key)]
        if hits:
            return hits, "find/bycertsubject (RFC 2253 %s)" % wanted.to_rfc2253()
        # another spelling of the same DN (slash form stored, other escaping): compare semantically
        return [user for user in client.iter_users() if _cert_matches(user, key)], "semantic DN scan of /scim/Users"
    issuer, subject = params["issuer"], params["subject"]
    if _same_issuer(issuer, client.issuer):
        # a token of this IAM: sub is the account UUID
        if "/" in subject or subject.strip() in (".", ".."):
            return [], "sub of this IAM"
        user = client.get_user(subject)
        return ([user] if user else []), "sub of this IAM (account UUID)"
    found = []
    for user in client.iter_users():
        ext = user_extension(user)
        oidc_ids = ext.get("oidcIds") or []
        if not isinstance(oidc_ids, list):
            raise RemoteError("reply is not a SCIM user: oidcIds is %s, not a list" % type(oidc_ids).__name__)
        for oidc in oidc_ids:
            if (isinstance(oidc, dict) and _same_issuer(oidc.get("issuer"), issuer)
                    and oidc.get("subject") == subject):
                found.append(user)
                break
    return found, "linked OIDC identity scan of /scim/Users"


def selector_text(params):
    for key in ("uuid", "username", "dn"):
        if params.get(key):
            return "%s %r" % (key, params[key])
    return "issuer %r subject %r" % (params.get("issuer"), params.get("subject"))
