# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The PanDA user names (ban keys) of one person: the X.509 name and the token names.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

PanDA bans a user name, not a credential: the front door looks up ``clean_user_id(SSL_CLIENT_S_DN)`` in the
ban list (panda-server 1.0.4 ``pandaserver/server/panda.py`` ``pre_validate_request``), and job submission
reads ``users.status`` under the same name (``checkBanUser``). For a token request the server synthesises
``SSL_CLIENT_S_DN`` from the token itself (``pandaserver/srvcore/panda_request.py`` ``decode_token``), with a
capitalisation rule that differs from the certificate CN, so one person can need up to three keys.
Every helper that bans a PanDA user (``panda_user_ban``, the sync's PanDA target, the incident flow) asks this
file for the keys.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gridsec.ops.plugins.module_utils._dn_proxy import PROXY_CN_VALUES
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError


# -- the user-name rule of panda-server ------------------------------------------------------------------
_PANDA_DROP_TYPES_RE = re.compile(r"/(?:DC|OU|O|C|L)=[^/]+")
_PANDA_NUMERIC_CN_RE = re.compile(r"/CN=[0-9]+")
_PANDA_SPACE_NUMBER_RE = re.compile(r" [0-9]+")
_PANDA_UNDERSCORE_NUMBER_RE = re.compile(r"_[0-9]+")
_PANDA_ROBOT_RE = re.compile(r"/CN=(?:Robot|nickname):[^/]*")
_PANDA_LAST_CN_PAIR_RE = re.compile(r"^.*/CN=([^/]+)/CN=([^/]+)")
_PANDA_LIMITED_PROXY_RE = re.compile(r"^.*(limited.*proxy)")
# step 4 of clean_user_id: the proxy CNs of PROXY_CN_VALUES (numeric ones went in step 2), then a stray marker
_PANDA_PROXY_MARKERS = tuple("/CN=" + value for value in PROXY_CN_VALUES) + ("limited proxy",)
_PANDA_TRAILING_EMAIL_RE = re.compile(r"\s+[A-Za-z0-9][\w.+-]*@[\w-]+(?:\.[\w-]+)+\s*$")


def clean_user_id(dn):
    """The PanDA user name (``prodUserName``, ``users.name``, ban-list key) for a DN, as panda-server's
    ``clean_user_id`` computes it (reimplemented from ``pandaserver/srvcore/CoreUtils.py`` ``clean_user_id``).

    The result is case-sensitive. Input in RFC 2253 comma form is not understood by PanDA and comes back
    unchanged, as on the server: convert it with ``parse_dn(dn).to_openssl()`` first. Any failure returns the
    input unchanged (step 11).
    """
    try:
        name = dn
        # 1. drop DC, O, OU, C and L components (type is case-sensitive, like PanDA)
        name = _PANDA_DROP_TYPES_RE.sub("", name)
        # 2. drop "/CN=<digits>" (only the digits: "/CN=123abc" leaves "abc")
        name = _PANDA_NUMERIC_CN_RE.sub("", name)
        # 3. drop " <digits>" and "_<digits>" anywhere
        name = _PANDA_SPACE_NUMBER_RE.sub("", name)
        name = _PANDA_UNDERSCORE_NUMBER_RE.sub("", name)
        # 4. proxy markers
        for marker in _PANDA_PROXY_MARKERS:
            name = name.replace(marker, "")
        # 5. robot and token nickname components
        name = _PANDA_ROBOT_RE.sub("", name)
        # 6. two consecutive CNs left: the value of the last one; otherwise remove the CN markers
        match = _PANDA_LAST_CN_PAIR_RE.match(name)
        if match:
            name = match.group(2)
        else:
            name = name.replace("/CN=", "")
        # 7. cut at "/email" (any case) unless it is at the very start
        cut = name.lower().find("/email")
        if cut > 0:
            name = name[:cut]
        # 8. degenerate "limited ... proxy" leftovers
        match = _PANDA_LIMITED_PROXY_RE.match(name)
        if match:
            name = match.group(1)
        # 9. brackets and apostrophes
        for char in "()'":
            name = name.replace(char, "")
        # 10. a trailing e-mail word goes when a "first last" name remains
        shortened = _PANDA_TRAILING_EMAIL_RE.sub("", name).strip()
        if " " in shortened:
            name = shortened
        return name
    except Exception:  # pylint: disable=broad-except
        # 11. PanDA returns its input unchanged on any error
        return dn


# -- the keys of one person ----------------------------------------------------------------------------------
def resolve_user_name(user=None, dn=None):
    """``(panda_user_name, slash_form_dn_or_None)`` from a user name or a DN.

    Every DN is parsed strictly first (``parse_dn``: a misspelt attribute type such as ``CM=`` is refused, or
    ``clean_user_id`` would make a junk user name of it); one in RFC 2253 comma form is converted to OpenSSL
    slash form (the server's ``clean_user_id`` returns comma-form input unchanged), a slash-form one is kept as
    given. Raises ``ConfigError`` (or ``DNError``) when the DN is malformed or cleans to an empty name.
    """
    if user is not None:
        if not user.strip():
            raise ConfigError("user must not be empty", operation="resolve user")
        return user, None
    text = (dn or "").strip()
    if not text:
        raise ConfigError("dn must not be empty", operation="resolve user")
    # imported here: a run that names the user directly does not compile the DN parser
    from ansible_collections.gridsec.ops.plugins.module_utils._dn import parse_dn

    dn = parse_dn(text)
    if not text.startswith("/"):
        text = dn.to_openssl()
    return x509_key(text, shown=dn), text


def x509_key(slash_dn, shown=None):
    """The PanDA name of an already parsed DN in OpenSSL slash form: ``clean_user_id`` (panda-server
    ``pandaserver/srvcore/CoreUtils.py`` ``clean_user_id``, applied by the front door to ``SSL_CLIENT_S_DN``).
    Raises ``ConfigError`` when it gives no name (every component removed) or does not understand the DN (returned
    unchanged, e.g. RFC 2253 form)."""
    shown = slash_dn if shown is None else shown
    name = clean_user_id(slash_dn)
    if not name or not name.strip():
        raise ConfigError("DN %r gives an empty PanDA user name (clean_user_id removes every component of it): "
                          "pass the PanDA user name with the user option instead" % (shown,), operation="resolve user")
    if name == slash_dn:
        raise ConfigError("DN %r is not understood by clean_user_id (it stays unchanged): give it in OpenSSL slash "
                          "form or pass the PanDA user name with the user option" % (shown,), operation="resolve user")
    return name


def token_display_name(name_claim):
    """The ``SSL_CLIENT_S_DN`` panda-server 1.0.4 builds from a token's ``name`` claim (before the
    ``/CN=nickname:`` suffix): split on whitespace, each word's first character upper-cased and the rest
    lower-cased, joined by one space (``pandaserver/srvcore/panda_request.py`` ``decode_token``, l.131-132).

    So "Jean-Luc Dupont" becomes "Jean-luc Dupont" and "Ronald McDonald" "Ronald Mcdonald", while the
    certificate keeps the CN as written: the two paths give different keys for one person.
    """
    return " ".join(word[:1].upper() + word[1:].lower() for word in str(name_claim).split())


def token_name_key(name_claim):
    """Ban key of a token that carries ``name``: ``clean_user_id`` of the synthesised DN. The server appends
    ``/CN=nickname:<preferred_username>``, which ``clean_user_id`` removes again (step 5;
    ``pandaserver/srvcore/CoreUtils.py`` ``clean_user_id``), so the key does not depend on it; the other steps do
    apply ("John Doe 2" -> "John Doe", "Sean O'brien" -> "Sean Obrien")."""
    display = token_display_name(name_claim)
    if not display:
        raise ConfigError("token_name %r has no word: PanDA would derive an empty user name from it (give "
                          "token_subject alone when the token carries no name claim)" % (name_claim,),
                          operation="resolve user")
    return clean_user_id(display)


def token_subject_key(subject):
    """Ban key of a token without ``name``: the server uses ``str(sub)`` as the DN (``decode_token`` l.136) and
    the ban lookup applies ``clean_user_id`` to it like to any DN (for an IAM UUID it changes nothing)."""
    text = str(subject or "").strip()
    if not text:
        raise ConfigError("token_subject must not be empty", operation="resolve user")
    return clean_user_id(text)


def panda_ban_keys(dn=None, token_name=None, token_subject=None):
    """Ordered list of the distinct PanDA user names to ban for one person (contract C1).

    - ``dn``: the certificate DN (slash or RFC 2253 form) -> the X.509 name (``resolve_user_name``);
    - ``token_name``: the token's ``name`` claim -> the token-path name (``token_name_key``);
    - ``token_subject``: the token's ``sub`` -> the name PanDA uses for tokens without ``name``
      (``token_subject_key``). It is banned even when ``token_name`` is given: the same person's client may
      send a token without the claim (IAM access tokens carry ``name`` only with
      ``IAM_ACCESS_TOKEN_INCLUDE_AUTHN_INFO``).

    Names are case-sensitive and compared exactly; the same name from two sources is listed once. Raises
    ``ConfigError`` when nothing is given or an input gives no usable name.
    """
    keys = []
    if dn is not None:
        keys.append(resolve_user_name(dn=dn)[0])
    if token_name is not None:
        keys.append(token_name_key(token_name))
    if token_subject is not None:
        keys.append(token_subject_key(token_subject))
    if not keys:
        raise ConfigError("no identity given: dn, token_name or token_subject is needed", operation="resolve user")
    out = []
    for key in keys:
        if key not in out:
            out.append(key)
    return out
