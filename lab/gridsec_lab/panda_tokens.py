"""PanDA token users in the lab: the OIDC settings both PanDA backends get, and tokens to present to them.

Both the lab PanDA (``gridsec_lab.panda``) and the real panda-server 1.0.4 tier (``gridsec_lab.panda_real``)
accept bearer tokens from the lab IAM (``gridsec_lab.iam``) through the **same** configuration, written
here in panda-server's own format (ENFORCERS.md section 2.3, ``pandaserver/config/panda_config.py``
l.121-160): a directory of ``<vo>_auth_config.json`` files, each naming the OAuth client ids whose tokens
are accepted (``client_id``, ``secondary_ids``), the issuer's discovery URL (``oidc_config_url``), the VO
and the JWT profile (``wlcg``: groups in ``wlcg.groups``). The real server reads that directory through
``auth_config`` in ``panda_server.cfg`` and fetches the discovery document and JWKS with ``requests``
(trusting ``REQUESTS_CA_BUNDLE``); the lab PanDA reads the same files (``gridsec_lab.panda.tokens``).

:class:`PandaTokenConfig` is what a launcher needs; :class:`TokenMinter` signs tokens with the lab IAM's
key for any (issuer, subject, name) - or none of them - so a test can present exactly the claims it means.
Tokens the lab IAM issues through its token endpoint (``IamLab.token_for``) are accepted the same way.
"""
import dataclasses
import json
import os
import shutil
import uuid
from typing import Optional

AUTH_CONFIG_SUFFIX = "_auth_config.json"
DEFAULT_VO = "atlas"
_UNSET = object()


@dataclasses.dataclass
class PandaTokenConfig:
    """OIDC settings for a PanDA backend (lab or real)."""

    auth_dir: str                 # directory of <vo>[.<role>]_auth_config.json files (panda-server format)
    ca_file: str                  # PEM bundle that verifies the issuer's HTTPS (discovery + JWKS)
    vo: str = DEFAULT_VO          # the VO the files configure (the Origin header value token users send)
    issuer: Optional[str] = None  # for information: the issuer the files point at
    client_ids: tuple = ()        # for information: the accepted client ids (aud / client_id / sub)

    def auth_files(self):
        return sorted(f for f in os.listdir(self.auth_dir) if f.endswith(AUTH_CONFIG_SUFFIX))

    def copy_to(self, directory):
        """Copy the auth files into ``directory`` (a server's own config tree); return ``directory``."""
        os.makedirs(directory, exist_ok=True)
        for name in self.auth_files():
            shutil.copyfile(os.path.join(self.auth_dir, name), os.path.join(directory, name))
        return directory

    def as_dict(self):
        data = dataclasses.asdict(self)
        data["client_ids"] = list(self.client_ids)
        return data


def write_auth_config(directory, discovery_url, client_ids, ca_file, vo=DEFAULT_VO, roles=(), jwt_profile="wlcg",
                      issuer=None):
    """Write ``<vo>_auth_config.json`` (and ``<vo>.<role>_auth_config.json`` per role, which a token user needs
    to send ``Origin: <vo>:<role>``) accepting tokens of ``client_ids`` from the issuer at ``discovery_url``.
    Return a :class:`PandaTokenConfig`."""
    client_ids = list(client_ids)
    if not client_ids:
        raise ValueError("at least one client id is needed (panda-server indexes the auth files by client_id)")
    os.makedirs(directory, exist_ok=True)
    data = {"client_id": client_ids[0], "oidc_config_url": discovery_url, "vo": vo, "jwt_profile": jwt_profile}
    if client_ids[1:]:
        data["secondary_ids"] = client_ids[1:]
    for stem in [vo] + ["%s.%s" % (vo, role) for role in roles]:
        path = os.path.join(directory, stem + AUTH_CONFIG_SUFFIX)
        with open(path + ".tmp", "w") as handle:
            json.dump(data, handle, indent=2)
        os.replace(path + ".tmp", path)
    return PandaTokenConfig(auth_dir=directory, ca_file=ca_file, vo=vo, issuer=issuer, client_ids=tuple(client_ids))


def config_for_iam(iam_lab, directory, vo=DEFAULT_VO, roles=("production",), client_roles=("user",)):
    """Auth files accepting the lab IAM's tokens issued to its PanDA client (``IamLab.clients["user"]``,
    client id ``panda-client``): ID tokens carry it as ``aud``, access tokens as ``client_id``."""
    client_ids = [iam_lab.clients[role].client_id for role in client_roles]
    return write_auth_config(directory, iam_lab.url + "/.well-known/openid-configuration", client_ids,
                             iam_lab.ca_file, vo=vo, roles=roles, issuer=iam_lab.issuer)


def config_from_iam_json(iam_json, directory, vo=DEFAULT_VO, roles=("production",)):
    """Like :func:`config_for_iam` for a lab IAM running elsewhere, from the ``iam.json`` it wrote (CLIs)."""
    with open(iam_json) as handle:
        info = json.load(handle)
    return write_auth_config(directory, info["url"] + "/.well-known/openid-configuration",
                             [info["clients"]["user"]["client_id"]], info["ca_file"], vo=vo, roles=roles,
                             issuer=info.get("issuer"))


def bearer_headers(token, origin=DEFAULT_VO):
    """What panda-client sends with ``PANDA_AUTH=oidc`` (``Authorization: Bearer``; ``Origin: <vo>[:<role>]``,
    left out when ``origin`` is None)."""
    headers = {"Authorization": "Bearer %s" % token, "Accept": "application/json"}
    if origin is not None:
        headers["Origin"] = origin
    return headers


class TokenMinter:
    """Signs ID-token-shaped JWTs with the lab IAM's key (RS256, ``kid`` of its JWKS).

    ``mint(subject, name=..., issuer=..., ...)`` -> the serialized token. Defaults are those of an IAM ID
    token for the PanDA client (``../iam/IAM.md`` section 8): ``iss`` = the discovery issuer (with ``/``),
    ``aud`` = the client id (a string), ``wlcg.groups`` = ``["/<vo>"]``. ``name=None`` leaves the ``name``
    claim out (PanDA then names the user by ``sub``). Anything else goes through ``extra`` (a value of None
    removes the claim)."""

    def __init__(self, iam_lab, client_role="user", vo=DEFAULT_VO):
        self.iam = iam_lab
        self.client_id = iam_lab.clients[client_role].client_id
        self.vo = vo

    @property
    def issuer(self):
        return self.iam.issuer

    @property
    def discovery_issuer(self):
        return self.iam.discovery_issuer

    def claims(self, subject=None, name=None, preferred_username=None, issuer=None, audience=_UNSET,
               groups=_UNSET, lifetime=3600, extra=None):
        now = int(self.iam.state.now())
        claims = {"iss": issuer or self.discovery_issuer, "sub": subject or str(uuid.uuid4())}
        claims["aud"] = self.client_id if audience is _UNSET else audience
        claims.update({"exp": now + lifetime, "iat": now, "jti": str(uuid.uuid4())})
        if name is not None:
            claims["name"] = name
            if preferred_username is not None:
                claims["preferred_username"] = preferred_username
        claims["wlcg.groups"] = ["/" + self.vo] if groups is _UNSET else groups
        claims["wlcg.ver"] = "1.0"
        for key, value in (extra or {}).items():
            if value is None:
                claims.pop(key, None)
            else:
                claims[key] = value
        return {k: v for k, v in claims.items() if v is not None}

    def mint(self, subject=None, name=None, preferred_username=None, issuer=None, audience=_UNSET, groups=_UNSET,
             lifetime=3600, extra=None):
        return self.iam.state.key.sign(self.claims(subject, name, preferred_username, issuer, audience, groups,
                                                   lifetime, extra))
