"""A running lab IAM: PKI, signing key, seed accounts and clients, the HTTPS server and ``iam.json``.

``IamLab(workdir).start()`` in process (tests), or ``python -m gridsec_lab iam --workdir DIR``.
"""
import dataclasses
import json
import os
import ssl
import urllib.parse
import urllib.request

from ..pki import TestPKI, slash_to_name
from .model import ADMIN_SCOPES, Client, IamState, SigningKey, random_secret
from .server import IamServer

# The seed: a person whose token name and certificate name differ for PanDA (Jean-Luc McDonald), one
# with two certificates and a linked external OIDC identity, an already suspended account, and a plain
# token user. Certificate DNs are those the lab PKI issues for TestPKI.user(<CN>), in RFC 2253 form.
LAB_DN = "/DC=test/DC=gridsec-lab/OU=Users/CN=%s"
SEED_USERS = [
    dict(username="jmcdonald", given_name="Jean-Luc", family_name="McDonald", groups=["atlas", "atlas/production"],
         certificate_dns=[LAB_DN % "Jean-Luc McDonald"]),
    dict(username="asmith", given_name="Anna", family_name="Smith", groups=["atlas"],
         certificate_dns=[LAB_DN % "Anna Smith",
                          "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=asmith/CN=123456/CN=Anna Smith"],
         oidc_ids=[{"issuer": "https://accounts.google.com", "subject": "105440632287425289613"}]),
    dict(username="bwayne", given_name="Bruce", family_name="Wayne", groups=["cms"], active=False,
         certificate_dns=[LAB_DN % "Bruce Wayne"]),
    dict(username="ttoken", given_name="Terry", family_name="Token", groups=["atlas"]),
]


def rfc2253(slash_dn):
    """The RFC 2253 string IAM stores for a certificate added as a PEM (canl portable RFC 2253 form)."""
    return slash_to_name(slash_dn).rfc4514_string()


@dataclasses.dataclass
class LabUser:
    id: str
    username: str
    password: str
    name: str
    given_name: str
    family_name: str
    email: str
    groups: list
    certificate_dns: list         # RFC 2253, as stored (what find/bycertsubject compares)
    certificate_dns_slash: list   # OpenSSL slash form (what the lab PKI / PanDA / Argus use)
    oidc_ids: list                # linked external identities [{"issuer", "subject"}]
    token_ids: list               # the (iss, sub) pairs of tokens THIS IAM issues for the user: both spellings
    active: bool


class IamLab:
    def __init__(self, workdir, pki=None, port=0, issuer=None, include_authn_info=True, include_scope=True):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.pki = pki or TestPKI(os.path.join(self.workdir, "pki"))
        self.port = port
        self._issuer = issuer
        self._options = dict(include_authn_info=include_authn_info, include_scope=include_scope)
        self.json_path = os.path.join(self.workdir, "iam.json")
        self.server = None
        self.state = None
        self.users = {}
        self.clients = {}

    # -- life cycle ------------------------------------------------------------------------------
    def start(self):
        host = self.pki.host("iam")
        self.server = IamServer(host.cert, host.key, port=self.port)
        port = self.server.bind(None)
        self.url = "https://localhost:%d" % port
        key = SigningKey(os.path.join(self.workdir, "jwk-rsa1.pem"))
        self.state = IamState(self.url, issuer=self._issuer, key=key, **self._options)
        self.server.httpd.state = self.state
        self._seed()
        self.state.snapshot()
        self.server.start()
        self._write_json()
        return self

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _seed(self):
        state = self.state
        specs = {
            "admin": Client("gridsec-admin", random_secret(), ADMIN_SCOPES, ("client_credentials",),
                            client_name="gridsec.ops admin client"),
            "reader": Client("gridsec-reader", random_secret(), ("scim:read", "iam:admin.read"),
                             ("client_credentials",), client_name="gridsec.ops read-only client"),
            "openid": Client("gridsec-openid", random_secret(), ("openid",), ("client_credentials",),
                             client_name="a client without admin scopes"),
            # the client token users log in with (WLCG profile: it holds the `wlcg` scope)
            "user": Client("panda-client", random_secret(),
                           ("openid", "profile", "email", "offline_access", "wlcg", "wlcg.groups"),
                           ("password", "refresh_token", "client_credentials"), client_name="PanDA client",
                           contacts=("panda-admins@lab.gridsec.test",), client_uri="https://panda.lab.gridsec.test"),
            # same, IAM profile (no `wlcg` scope): `groups`, and `scope` only with IAM_ACCESS_TOKEN_INCLUDE_SCOPE
            "iam_profile": Client("iam-profile-client", random_secret(),
                                  ("openid", "profile", "email", "offline_access"),
                                  ("password", "refresh_token"), client_name="IAM-profile client"),
        }
        for role, client in specs.items():
            self.clients[role] = state.add_client(client)
        for spec in SEED_USERS:
            self.add_user(**spec)

    def add_user(self, username, given_name, family_name, *, groups=(), certificate_dns=(), oidc_ids=(),
                 active=True, labels=(), password=None, email=None, id=None, raw_dns=False):
        """Create an account (also usable by tests after start; :meth:`reset` forgets it unless it was
        added before the seed snapshot). ``certificate_dns`` are slash DNs converted to the RFC 2253 form
        IAM stores, or, with ``raw_dns=True``, strings stored verbatim (IAM stores a ``subjectDn`` given
        without a PEM as is)."""
        password = password or "pw-" + random_secret()[:16]
        stored = [dn if raw_dns else rfc2253(dn) for dn in certificate_dns]
        with self.state.lock:
            account = self.state.add_account(username, given_name, family_name, email, id=id, password=password,
                                             active=active, groups=groups, certificate_dns=stored,
                                             oidc_ids=oidc_ids, labels=labels)
        user = LabUser(id=account.id, username=username, password=password, name=account.name,
                       given_name=given_name, family_name=family_name, email=account.email, groups=list(groups),
                       certificate_dns=stored, certificate_dns_slash=[] if raw_dns else list(certificate_dns),
                       oidc_ids=[dict(o) for o in oidc_ids],
                       token_ids=[{"issuer": self.issuer, "subject": account.id},
                                  {"issuer": self.discovery_issuer, "subject": account.id}],
                       active=active)
        self.users[username] = user
        return user

    def _write_json(self):
        info = {
            "url": self.url,
            "issuer": self.issuer,
            "discovery_issuer": self.discovery_issuer,
            "token_endpoint": self.url + "/token",
            "ca_file": self.ca_file,
            "ca_dir": self.pki.ca_dir,
            "pid": os.getpid(),
            "admin": self.clients["admin"].public(),
            "clients": {role: c.public() for role, c in self.clients.items()},
            "users": {name: dataclasses.asdict(u) for name, u in self.users.items()},
            "lab": {"requests": self.url + "/lab/requests", "mails": self.url + "/lab/mails",
                    "clock": self.url + "/lab/clock", "reset": self.url + "/lab/reset"},
        }
        tmp = self.json_path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(info, handle, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.json_path)

    # -- properties --------------------------------------------------------------------------------
    @property
    def issuer(self):
        return self.state.issuer

    @property
    def discovery_issuer(self):
        return self.state.discovery_issuer

    @property
    def ca_file(self):
        return self.pki.ca_cert_path

    @property
    def ca_dir(self):
        return self.pki.ca_dir

    @property
    def admin(self):
        return self.clients["admin"]

    # -- helpers for tests ---------------------------------------------------------------------------
    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_file)

    def token_for(self, username, scope="openid profile offline_access wlcg.groups", audience=None,
                  client="user"):
        """A token reply for a test user (password grant over HTTPS, as a real client would):
        ``{"access_token", "refresh_token" (with offline_access), "id_token" (with openid), ...}``."""
        cli = self.clients[client]
        user = self.users[username]
        fields = {"grant_type": "password", "username": username, "password": user.password, "scope": scope,
                  "client_id": cli.client_id, "client_secret": cli.secret}
        if audience:
            fields["audience"] = audience
        req = urllib.request.Request(self.url + "/token", data=urllib.parse.urlencode(fields).encode(),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(req, context=self.ssl_context(), timeout=10) as resp:
            return json.loads(resp.read())

    def requests(self):
        """The request log: [{"seq", "method", "path", "query", "params", "body", "status", "client_id"}], in
        order (lab endpoints excluded; no header is kept; ``body`` is the parsed JSON body of SCIM/IAM API calls
        with passwords masked, never the token endpoint's form, so no secret is in it)."""
        with self.state.lock:
            return [dict(e) for e in self.state.requests]

    def clear_requests(self):
        with self.state.lock:
            self.state.requests.clear()

    def delete_all_calls(self):
        """The id-less DELETE /iam/api/{access,refresh}-tokens calls seen (a correct client makes none)."""
        return [e for e in self.requests() if e["method"] == "DELETE"
                and e["path"].rstrip("/") in ("/iam/api/access-tokens", "/iam/api/refresh-tokens")]

    def mails(self):
        with self.state.lock:
            return [dict(m) for m in self.state.mails]

    def advance_clock(self, seconds):
        with self.state.lock:
            self.state.clock_offset += seconds

    def reset(self):
        """Seed accounts, labels and clients back; no token; empty request log and mails; real time."""
        self.state.reset()
        extra = [name for name in self.users if self.state.account_by_username(name) is None]
        for name in extra:
            del self.users[name]

    def account(self, username):
        """White-box view of an account (Account dataclass) for assertions."""
        return self.state.account_by_username(username)

    def tokens(self, username=None, kind="access"):
        """Stored tokens (including expired, not yet cleaned ones) of ``username`` (None: all)."""
        with self.state.lock:
            return [t for (k, _), t in self.state.tokens.items()
                    if k == kind and (username is None or t.username == username)]
