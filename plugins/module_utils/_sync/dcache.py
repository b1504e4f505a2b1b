# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Sync target ``dcache``: the dCache gPlazma ban file (``ban dn:…``, ``ban fqan:…``, ``ban oidc:<sub>@<OP alias>``).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Facts (``dCache/dcache@77340d6 modules/gplazma2-banfile/…/BanFilePlugin.java``,
``modules/common/…/Subjects.java``, ``OidcSubjectPrincipal.java``):

* lines are stripped; blank and ``#`` lines skipped; the first word must be ``alias`` or ``ban`` — any other
  line, unknown type/alias or an ``oidc`` value without ``@`` makes the plugin throw on EVERY login (dCache
  #4738), so the rendered file is checked against that grammar before the rename and never installed broken;
* ``ban <type>:<value>``: type up to the first ``:``, value the rest of the line verbatim (no quoting);
* ``oidc:<sub>@<OP>``: split at the last ``@``; ``<OP>`` is the site's alias of the issuer
  (``gplazma.oidc.provider!<ALIAS>``), so the target needs the issuer -> alias map (``dcache_op_aliases``);
* ``dn:`` compares with canl's slash form of the certificate DN (``_dn.to_canl_slash``);
* dCache #7947: from 7.1 until 9.2.44 / 10.0.28 / 10.1.22 / 10.2.20 / 11.0.9 / 11.1.4 (11.2.0 and later fixed)
  only the LAST ``ban`` line per principal type is enforced. On a version the site declares affected, a file
  that needs more than one line of a type is refused (no rewriting can fix it: ``oidc`` has no second class
  name); without a declared version such a file is written with a warning;
* the plugin re-reads the file only when its mtime is newer than its last read: the mtime is moved to now
  (and past the old file's) after the rename.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gridsec.ops.plugins.module_utils._dn import to_canl_slash
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN, FQAN, TOKEN, normalize_issuer
from ansible_collections.gridsec.ops.plugins.module_utils._sync.filewrite import (
    BlockFileTarget,
    FileScan,
    Unexpressible,
    entry_dn,
)
from ansible_collections.gridsec.ops.plugins.module_utils._sync import specs

BUILTIN_TYPES = frozenset(["dn", "kerberos", "fqan", "name", "username", "user", "uid", "gid", "group", "email",
                           "origin", "oidc"])
# first release of each line with the fix of dCache #7947 (912691890e and its backports)
FIXED_IN = {(9, 2): 44, (10, 0): 28, (10, 1): 22, (10, 2): 20, (11, 0): 9, (11, 1): 4}
FIXED_LIST = "9.2.44, 10.0.28, 10.1.22, 10.2.20, 11.0.9, 11.1.4, 11.2.0"
# deleted from dCache in 2.14 (commit c7581cf290): a file naming them makes the plugin refuse every login
# ("No matching class found", Subjects.principalsFromArgs; dCache #4738 was a Book example with the first one)
REMOVED_CLASSES = frozenset(["org.globus.gsi.jaas.GlobusPrincipal", "org.globus.gsi.jaas.SimplePrincipal"])
_ALIAS_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_VERSION_RE = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")
_BAN_RE = re.compile(r"^ban\s+([^:]+):(.*)$")
_ALIAS_LINE_RE = re.compile(r"^alias\s+([^:]+)=(.*)$")
# the principal classes of the types dn and fqan (Subjects.principalsFromArgs); a file written by hand may name
# them (``ban <class>:<value>`` or through an ``alias``) and bans the same principal
FQAN_CLASS = "org.dcache.auth.FQANPrincipal"
_TYPE_OF_CLASS = {"org.globus.gsi.gssapi.jaas.GlobusPrincipal": "dn", FQAN_CLASS: "fqan"}
_CLASS_RE = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+$")


def affected_by_7947(version):
    """True/False for a dCache version string (``10.2.13``), None when it cannot be read."""
    match = _VERSION_RE.match(str(version or ""))
    if match is None:
        return None
    major, minor, patch = int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    if (major, minor) < (7, 1):
        return False  # the Scala plugin kept every line
    if (major, minor) in FIXED_IN:
        return patch < FIXED_IN[(major, minor)]
    return (major, minor) < (11, 2)


def check_ban_file(text):
    """``(problems, {type after alias: ban line count})`` of a ban file, with the plugin's grammar: any problem
    would make every login fail."""
    lines = text.splitlines()
    check = BanFileCheck(lines)
    check.feed(lines)
    return check.result()


class BanFileCheck(object):
    """``check_ban_file`` fed line by line: the plugin reads every ``alias`` line first (``alias_lines``: the lines
    that hold them), then each ``ban`` line in order; ``feed(lines)`` takes the file's lines in order, ``result()``
    gives ``(problems, counts)``, the alias problems first. ``seen`` alias lines were fed, ``aliases`` lines were
    given beforehand: a file fed with an alias line not given beforehand needs ``check_ban_file``."""

    def __init__(self, alias_lines):
        self.aliases, self.alias_count = {}, 0
        for raw in alias_lines:
            line = raw.strip()
            if line.startswith("alias"):
                self.alias_count += 1
                match = _ALIAS_LINE_RE.match(line)
                if match is not None and line.split()[0] == "alias":
                    self.aliases[match.group(1).strip()] = match.group(2).strip()
        self.number, self.seen = 0, 0
        self.alias_problems, self.problems, self.counts = [], [], {}

    def feed(self, lines):
        aliases, counts, problems = self.aliases, self.counts, self.problems
        number = self.number
        for raw in lines:
            number += 1
            line = raw.strip()
            if not line or line[0] == "#":
                continue
            first = line.split(None, 1)[0]
            if line.startswith("alias"):
                self.seen += 1
                if _ALIAS_LINE_RE.match(line) is None or first != "alias":
                    self.alias_problems.append("line %d: malformed alias %r" % (number, line[:120]))
                if first == "alias":
                    continue
            match = _BAN_RE.match(line)
            if first != "ban" or match is None:
                problems.append("line %d: %r is neither 'alias <name>=<class>' nor 'ban <type>:<value>'"
                                % (number, line[:120]))
                continue
            kind = aliases.get(match.group(1), match.group(1))
            if kind in REMOVED_CLASSES:
                problems.append("line %d: class %s no longer exists in dCache (since 2.14; the DN class is "
                                "org.globus.gsi.gssapi.jaas.GlobusPrincipal, or use the type dn)" % (number, kind))
            elif kind not in BUILTIN_TYPES and not _CLASS_RE.match(kind):
                problems.append("line %d: unknown principal type %r" % (number, kind))
            elif kind == "oidc" and not _oidc_ok(match.group(2)):
                problems.append("line %d: oidc value %r is not <sub>@<OP> with an ASCII sub of at most 255 "
                                "characters" % (number, match.group(2)[:120]))
            counts[kind] = counts.get(kind, 0) + 1
        self.number = number

    def result(self):
        return self.alias_problems + self.problems, self.counts


class _BanScan(FileScan):
    """The grammar check fed piece by piece: the alias lines can only be in the site's lines around the block."""

    def __init__(self, target, before, after):
        super(_BanScan, self).__init__(target)
        self.check = BanFileCheck(list(before) + list(after))

    def feed(self, text):
        self.check.feed(text.splitlines())

    def stamp(self):
        self.check.feed(["#"])  # a comment line

    def proven(self):
        return self.check.seen == self.check.alias_count

    def finish(self, stamp, data):
        self.target.inspect(None, data)
        return self.target.file_problems(*self.check.result())


def _oidc_ok(value):
    sub, at, op = value.rpartition("@")
    return bool(at and sub and op) and len(sub) <= 255 and sub.isascii()


class DcacheTarget(BlockFileTarget):
    TYPE = "dcache"
    KINDS = frozenset([DN, FQAN, TOKEN])
    DEFAULT_PATH = "/etc/dcache/ban.conf"
    TOUCH = True
    OPTIONS = specs.DCACHE_OPTIONS

    def __init__(self, spec, ctx):
        super(DcacheTarget, self).__init__(spec, ctx)
        self.aliases = dict((normalize_issuer(k), v) for k, v in (spec.get("dcache_op_aliases") or {}).items())

    @classmethod
    def spec_problems(cls, spec):
        problems = []
        for issuer, alias in sorted((spec.get("dcache_op_aliases") or {}).items()):
            if not _ALIAS_RE.match(str(alias)):
                problems.append("target %s: dcache_op_aliases: alias %r of %s must be 1-64 letters, digits, '.', "
                                "'_' or '-' (the gplazma.oidc.provider!<ALIAS> name)" % (spec.get("name"), alias, issuer))
        version = spec.get("dcache_version")
        if version and affected_by_7947(version) is None:
            problems.append("target %s: dcache_version %r is not a version such as 10.2.20" % (spec.get("name"), version))
        return problems

    def render_entry(self, entry):
        if entry.kind == TOKEN:
            alias = self.aliases.get(entry.issuer)
            if alias is None:
                raise Unexpressible("no OP alias for issuer %s in dcache_op_aliases" % entry.issuer)
            return ["ban oidc:%s@%s" % (entry.subject, alias)]
        value = to_canl_slash(entry_dn(entry)) if entry.kind == DN else entry.value
        if value != value.strip():
            raise Unexpressible("the ban file strips blanks at the end of a line")
        return ["ban %s:%s" % ("dn" if entry.kind == DN else "fqan", value)]

    def check_text(self, text):
        return self.file_problems(*check_ban_file(text))

    def scanner(self, before, after):
        return _BanScan(self, before, after)

    def file_problems(self, problems, counts):
        """The problems (and warnings) of the new file from its grammar check (``check_ban_file``)."""
        multiple = sorted(kind for kind, count in counts.items() if count > 1)
        version = self.spec.get("dcache_version")
        if multiple and version and affected_by_7947(version):
            problems.append(
                "dCache %s honours only the last ban line per principal type (dCache #7947, fixed in %s) and this "
                "file needs several %s lines: upgrade dCache, or split the list over several banfile plugin "
                "instances (gplazma.banfile.path)" % (version, FIXED_LIST, "/".join(multiple)))
        elif multiple and not version:
            self.ctx.warn("%s: dCache 7.1 up to (not including) %s honours only the last ban line per principal type "
                          "(dCache #7947); set dcache_version so that an affected version is refused"
                          % (self.label, FIXED_LIST))
        fqans = counts.get("fqan", 0) + counts.get(FQAN_CLASS, 0)
        if fqans:
            # FQANPrincipal.equals compares the primary flag too; Subjects.principalsFromArgs makes only the
            # file's first "fqan:" line primary (a class-name line never is). No spelling bans an FQAN whatever
            # its flag, so an FQAN ban is partial: said on every run that writes or keeps one.
            self.ctx.warn("%s: %d FQAN ban line(s) are only partly enforced: dCache compares an FQAN ban with its "
                          "primary flag, and only the file's first 'fqan:' line is primary - it bans users holding "
                          "that FQAN as their primary FQAN, every other FQAN line users holding it as a secondary "
                          "FQAN. Suspend the people by DN or token identity (dCache guide, 'FQAN bans and the "
                          "primary FQAN')" % (self.label, fqans))
        return problems

    def inspect(self, text, data):
        if not self.file.mode & 0o004 and self.spec.get("group") is None:
            self.ctx.warn("%s: dCache reads the ban file as its own user: give group (e.g. dcache) or a mode "
                          "readable by it, or every login may fail" % self.label)

    def enforced(self, text):
        """The ``ban`` lines of the whole file (aliases resolved, as the plugin reads them); a DN is enforced when
        its canl slash form is banned, a token when ``oidc:<sub>@<alias of its issuer>`` is."""
        problems, _counts = check_ban_file(text)
        aliases, banned = {}, set()
        for raw in text.splitlines():
            line = raw.strip()
            alias = _ALIAS_LINE_RE.match(line)
            if alias is not None and line.split()[0] == "alias":
                aliases[alias.group(1).strip()] = alias.group(2).strip()
                continue
            match = _BAN_RE.match(line)
            if match is not None:
                banned.add((match.group(1), match.group(2)))
        # alias names resolve to the principal type the rendering uses (dn, fqan, oidc)
        resolved = set((_TYPE_OF_CLASS.get(aliases.get(kind, kind), aliases.get(kind, kind)), value)
                       for kind, value in banned)

        def holds(entry):
            try:
                lines = self.render_entry(entry)
            except Unexpressible:
                return False
            return all(tuple(_BAN_RE.match(line).groups()) in resolved for line in lines)

        return len(resolved), holds, problems
