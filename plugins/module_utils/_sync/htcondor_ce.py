# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Sync target ``htcondor_ce``: an HTCondor-CE map file that maps banned identities to ``…@banned.htcondor.org``.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Facts (``htcondor/htcondor@3b6d5d0 src/condor_utils/MapFile.cpp``,
``htcondor/htcondor-ce@05a15f8 config/``): the CE reads ``/etc/condor-ce/mapfiles.d/`` in lexical order and uses
the FIRST line that matches, so the ban file must sort before the site's permissive token mappings (``10-*``;
the shipped ``90-ban.conf`` sorts after them and never fires for identities they map). With the CE's
``CERTIFICATE_MAPFILE_ASSUME_HASH_KEYS = True`` a principal in ``"…"`` is an exact string: token bans are quoted
literals (a subject ``.*`` bans only the literal ``.*``), one per issuer spelling. An SSL ban must also catch
``<DN>,<FQAN>,…`` (VOMS proxies), so it is an anchored regex with every metacharacter escaped; a regex that
does not compile is silently skipped by HTCondor, so each is compiled before the file is written.
``05-ce-auth-defaults.conf`` denies WRITE to ``*@banned.htcondor.org``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.gridsec.ops.plugins.module_utils._dn import to_openssl_oneline
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN, TOKEN, issuer_spellings
from ansible_collections.gridsec.ops.plugins.module_utils._sync.filewrite import (
    BlockFileTarget,
    FileScan,
    Unexpressible,
    entry_dn,
)
from ansible_collections.gridsec.ops.plugins.module_utils._sync import specs

BANNED_DOMAIN = "banned.htcondor.org"
_PCRE_META = set("\\^$.|?*+()[]{}")
_USER_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# HTCondor's default LOCAL_CONFIG_DIR_EXCLUDE_REGEXP skips these names in an included directory (ENFORCERS 4.5)
_EXCLUDED_NAME = re.compile(r"(^\.|~$|\.rpmsave$|\.rpmnew$)")


def quote_literal(text):
    """A map-file ``"…"`` field holding exactly ``text`` (MapFile ParseField: ``\\\\`` -> ``\\``, ``\\"`` -> ``"``)."""
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def dn_regex(oneline):
    """A ``/…/`` field matching exactly the DN ``oneline`` alone or followed by its VOMS FQANs (``,/vo…``).

    PCRE metacharacters get a ``\\``; a backslash is written ``\\x5c`` (the map parser would halve ``\\\\``); ``/`` is
    ``\\/`` (the parser gives PCRE a plain ``/``). A value's own ``/`` is ``\\/`` in the one-line DN, so ``,/`` can
    only start the FQAN list: ``(,/.*)?$`` does not match a longer DN such as ``…/CN=Doe, Jr``."""
    out = []
    for char in oneline:
        if char == "\\":
            out.append("\\x5c")
        elif char == "/":
            out.append("\\/")
        elif char in _PCRE_META:
            out.append("\\" + char)
        else:
            out.append(char)
    return "/^%s(,\\/.*)?$/" % "".join(out)


def regex_for_pcre(field):
    """What HTCondor's map parser hands PCRE for a ``/…/`` field (used to compile-check before writing)."""
    body = field[1:field.rindex("/")]
    return re.sub(r"\\(.)", lambda m: m.group(1) if m.group(1) == "/" else m.group(0), body)


class HtcondorCeTarget(BlockFileTarget):
    TYPE = "htcondor_ce"
    KINDS = frozenset([DN, TOKEN])
    DEFAULT_PATH = "/etc/condor-ce/mapfiles.d/00-gridsec-ban.conf"
    OPTIONS = specs.HTCONDOR_CE_OPTIONS

    def __init__(self, spec, ctx):
        super(HtcondorCeTarget, self).__init__(spec, ctx)
        self._users, self._token_prefixes = {}, {}  # per ticket / per issuer, made once

    @classmethod
    def spec_problems(cls, spec):
        problems = []
        user = spec.get("htcondor_ban_user") or "gridsec-banned"
        if not _USER_RE.match(user):
            problems.append("target %s: htcondor_ban_user %r must be 1-64 letters, digits, '.', '_' or '-'"
                            % (spec.get("name"), user))
        return problems

    def canonical(self, entry):
        """``<user>@banned.htcondor.org``; the entry's ticket names the user when it is a plain word (audit)."""
        ticket = entry.meta.get("ticket", "")
        user = self._users.get(ticket)
        if user is None:
            if ticket and _USER_RE.match("gridsec-" + ticket):
                user = "gridsec-%s@%s" % (ticket, BANNED_DOMAIN)
            else:
                user = "%s@%s" % (self.spec.get("htcondor_ban_user") or "gridsec-banned", BANNED_DOMAIN)
            self._users[ticket] = user
        return user

    def render_entry(self, entry):
        user = self.canonical(entry)
        if entry.kind == TOKEN:
            issuer = entry.issuer
            if "," in issuer:
                # the authenticated name is "<iss>,<sub>": an issuer with a comma would also name another pair
                raise Unexpressible("an issuer with ',' makes '<iss>,<sub>' ambiguous")
            # quote_literal escapes character by character: the quoted "<iss>," prefixes are made once per issuer
            # (a list holds thousands of subjects of a few issuers) and give the same bytes
            prefixes = self._token_prefixes.get(issuer)
            if prefixes is None:
                prefixes = self._token_prefixes[issuer] = [
                    'SCITOKENS "' + quote_literal(iss + ",")[1:-1] for iss in issuer_spellings(issuer)]
            tail = quote_literal(entry.subject)[1:] + " " + user
            return [prefix + tail for prefix in prefixes]
        return ["SSL %s %s" % (dn_regex(to_openssl_oneline(entry_dn(entry))), user)]

    def check_text(self, text):
        """Every regex of the block compiles (HTCondor skips one that does not, silently)."""
        return regex_problems(text)

    def scanner(self, before, after):
        return _MapScan(self)

    def inspect(self, text, data):
        """Files that sort before this one and map SCITOKENS/SSL identities to users win over the bans."""
        earlier = self.permissive_before()
        data["mapfiles_before"] = earlier
        if not earlier:
            return
        message = ("%s: %s sort(s) before %s and map(s) SCITOKENS/SSL identities to users: HTCondor uses the "
                   "first matching line, so a ban here never applies to an identity those files map; rename "
                   "the ban file so that it sorts first" % (self.label, ", ".join(earlier), os.path.basename(self.path)))
        if (self.spec.get("htcondor_order_check") or "refuse") == "refuse":
            raise ConfigError(message + " (or set htcondor_order_check=warn)", server=self.label,
                              operation="check map file order")
        self.ctx.warn(message)
        data.setdefault("problems", []).append(message)

    def enforced(self, text):
        """The banned-domain map lines of the whole file: a DN is enforced when an SSL regex matches its one-line
        form (the sync's own regex of it found as is, else every regex compiled and tried: one that does not
        compile bans nobody), a token when a SCITOKENS literal holds ``<iss>,<sub>`` for every issuer spelling; map
        files that sort before this one and map users are a problem (they win)."""
        fields, literals = banned_map_lines(text)
        known, compiled = set(fields), []
        tokens = set()
        for _method, literal in literals:
            iss, _sep, sub = literal.partition(",")
            tokens.add((iss.rstrip("/"), sub))
        earlier = self.permissive_before()
        problems = ["%s sort(s) before %s and map(s) identities to users: HTCondor uses the first matching line"
                    % (", ".join(earlier), os.path.basename(self.path))] if earlier else []

        def holds(entry):
            if entry.kind == TOKEN:
                return all(("SCITOKENS", "%s,%s" % (iss, entry.subject)) in literals
                           for iss in issuer_spellings(entry.issuer))
            oneline = to_openssl_oneline(entry_dn(entry))
            if dn_regex(oneline) in known:
                return True
            if not compiled:
                compiled.append(_compiled(fields))
            return any(regex.match(oneline) for regex in compiled[0])

        return len(fields) + len(tokens), holds, problems

    def permissive_before(self):
        directory = os.path.dirname(os.path.abspath(self.path))
        mine = os.path.basename(self.path)
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return []
        found = []
        for name in names:
            if name >= mine:
                break
            if _EXCLUDED_NAME.search(name) or not os.path.isfile(os.path.join(directory, name)):
                continue
            if _maps_users(os.path.join(directory, name)):
                found.append(name)
        return found


def regex_problems(text):
    """The ``SSL /…/`` map lines of ``text`` whose regex does not compile (HTCondor skips them, silently)."""
    problems = []
    if "SSL" not in text:  # the token lines of a whole piece of the block, without splitting it
        return problems
    for line in text.splitlines():
        if "SSL" not in line:  # the common token line, without splitting it
            continue
        fields = line.split(None, 1)
        if len(fields) == 2 and fields[0] == "SSL" and fields[1].startswith("/"):
            field = fields[1][:fields[1].rindex("/") + 1]
            try:
                re.compile(regex_for_pcre(field))
            except re.error as err:
                problems.append("map line %r: regex does not compile (%s)" % (line[:120], err))
    return problems


class _MapScan(FileScan):
    """``check_text`` piece by piece; the order check of ``inspect`` reads the directory, not the text."""

    def __init__(self, target):
        super(_MapScan, self).__init__(target)
        self.problems = []

    def feed(self, text):
        self.problems.extend(regex_problems(text))

    def stamp(self):
        return None  # a comment line

    def finish(self, stamp, data):
        self.target.inspect(None, data)
        return self.problems


def unquote_literal(field):
    """``(text, rest of the line)`` of a map-file ``"…"`` field (``quote_literal`` reversed), or None."""
    if not field.startswith('"'):
        return None
    out, index = [], 1
    while index < len(field):
        char = field[index]
        if char == "\\" and index + 1 < len(field):
            out.append(field[index + 1])
            index += 2
            continue
        if char == '"':
            return "".join(out), field[index + 1:].strip()
        out.append(char)
        index += 1
    return None


def banned_map_lines(text):
    """``(SSL "/…/" fields, SCITOKENS "<iss>,<sub>" literals)`` of the map lines of ``text`` whose canonical name is
    in the banned domain, read as HTCondor's map parser reads them."""
    regexes, literals = [], set()
    for raw in text.splitlines():
        fields = raw.strip().split(None, 1)
        if len(fields) != 2 or fields[0] not in ("SSL", "SCITOKENS"):
            continue
        rest = fields[1]
        if rest.startswith("/") and rest.rfind("/") > 0:
            field, canonical = rest[:rest.rindex("/") + 1], rest[rest.rindex("/") + 1:].strip()
            if canonical.endswith("@" + BANNED_DOMAIN):
                regexes.append(field)
            continue
        literal = unquote_literal(rest)
        if literal is not None and literal[1].endswith("@" + BANNED_DOMAIN):
            literals.add((fields[0], literal[0]))
    return regexes, literals


def _compiled(fields):
    """The regexes of SSL ``/…/`` fields that compile (HTCondor skips one that does not, silently)."""
    out = []
    for field in fields:
        try:
            out.append(re.compile(regex_for_pcre(field)))
        except re.error:
            continue
    return out


#: ``_maps_users`` per (path, inode, size, mtime): the status of many CE targets sharing one mapfiles.d reads each
#: earlier file once per run, not once per target (issue 19: 200 targets in one task).
_MAPS_USERS = {}


def _maps_users(path):
    """True when a map file has a SCITOKENS or SSL line whose canonical name is not in the banned domain."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    key = (path, info.st_ino, info.st_size, info.st_mtime_ns)
    if key not in _MAPS_USERS:
        if len(_MAPS_USERS) > 4096:
            _MAPS_USERS.clear()
        _MAPS_USERS[key] = _scan_maps_users(path)
    return _MAPS_USERS[key]


def _scan_maps_users(path):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError):
        return False
    if b"SCITOKENS" not in data and b"SSL" not in data:
        return False
    for line in data.decode("utf-8", "replace").splitlines():
        if "SCITOKENS" not in line and "SSL" not in line:
            continue
        fields = line.split()
        if len(fields) >= 3 and fields[0] in ("SCITOKENS", "SSL") and \
                not fields[-1].endswith("@" + BANNED_DOMAIN):
            return True
    return False
