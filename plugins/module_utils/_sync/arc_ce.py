# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Sync target ``arc``: an ARC-CE ``[authgroup:<name>]`` block with ``authtokens`` and ``subject`` lines.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Facts (``nordugrid/arc@9788343 src/doc/arc.conf.reference``,
``src/hed/shc/legacy/auth_otokens.cpp``):

* ``authtokens = <subject> <issuer> <audience> <scope> <group>``: five blank-separated fields, ``*`` matches
  anything, otherwise exact string equality, no trailing-slash normalisation: one line per issuer spelling. A
  subject ``*`` would therefore match everybody: such an entry is left out and reported;
* ``subject = <DN>``: the exact certificate subject in slash form (OpenSSL one-line form here), no patterns;
* the quoting rules of ARC's configuration parser were not verified: an identity with a
  blank or a ``"`` in a field, or a DN ending in a blank, is left out and reported rather than written in a
  form that might name someone else;
* an object must be defined before it is used: a new block goes before the first block that may reference it;
* ``denyaccess`` / ``allowaccess`` in ``[arex/ws/jobs]``, ``[gridftpd/jobs]``, ``[arex/ws/publicinfo]`` and each
  ``[queue:…]`` are evaluated in order and the first matching one decides: ``denyaccess = <group>`` must come
  first. The target does not edit those blocks (they are the site's); it reports every block where the deny is
  missing or comes after an ``allowaccess``. ``[authtokens]`` must exist, or no token rule is evaluated;
* A-REX reads ``arc.conf`` at start: ``reload_command`` (e.g. ``arcctl service restart -a``) runs after a write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gridsec.ops.plugins.module_utils._dn import to_openssl_oneline
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN, TOKEN, issuer_spellings
from ansible_collections.gridsec.ops.plugins.module_utils._sync.filewrite import (
    BlockFileTarget,
    FileScan,
    Unexpressible,
    entry_dn,
)
from ansible_collections.gridsec.ops.plugins.module_utils._sync import specs

_GROUP_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SECTION_RE = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_ACCESS_BLOCK_RE = re.compile(r"^(arex/ws/jobs|arex/ws/publicinfo|gridftpd/jobs|queue:.*)$")
_ACCESS_RE = re.compile(r"^\s*(allowaccess|denyaccess)\s*=\s*(.*)$")
_BLANK_OR_QUOTE = re.compile(r'[\s"]')


def sections(lines, keep_section=None):
    """``[(section name, [lines])]`` of an arc.conf in file order (lines before the first section: name None);
    the lines are kept only for the access-controlled blocks and the section named ``keep_section`` (the sync's own
    block can hold hundreds of thousands of lines: it is read only when asked for)."""
    reader = Sections(keep_section)
    reader.feed(lines)
    return reader.out


class Sections(object):
    """``sections`` fed piece by piece (``feed(lines)``; ``out``: the sections so far)."""

    def __init__(self, keep_section=None):
        self.keep_section = keep_section
        self.out = [(None, [])]
        self.keep = False

    def feed(self, lines):
        out, keep, keep_section = self.out, self.keep, self.keep_section
        for line in lines:
            match = _SECTION_RE.match(line) if "[" in line else None  # the regex only for candidate lines
            if match:
                name = match.group(1).strip()
                keep = name == keep_section or bool(_ACCESS_BLOCK_RE.match(name))
                out.append((name, []))
            elif keep:
                out[-1][1].append(line)
        self.keep = keep


class _ArcScan(FileScan):
    """``inspect`` piece by piece: a piece of the block that opens no section and is not kept is not split."""

    def __init__(self, target):
        super(_ArcScan, self).__init__(target)
        self.sections = Sections()

    def feed(self, text):
        if self.sections.keep or "[" in text:
            self.sections.feed(text.splitlines())

    def stamp(self):
        self.sections.feed(["#"])  # a comment line: no section, no access statement

    def finish(self, stamp, data):
        self.target.report_access(self.sections.out, data)
        return []  # ArcCeTarget has no check_text


def access_order_problems(parsed, group):
    """The access-controlled blocks where ``denyaccess = <group>`` is missing or not the first access statement
    (``parsed``: the ``sections`` of the file)."""
    found = []
    for name, lines in parsed:
        if name is None or not _ACCESS_BLOCK_RE.match(name):
            continue
        statements = [m.groups() for m in (_ACCESS_RE.match(line) for line in lines) if m]
        first_deny = next((i for i, (verb, groups) in enumerate(statements)
                           if verb == "denyaccess" and group in groups.split()), None)
        if first_deny is None:
            found.append("[%s]: no 'denyaccess = %s'" % (name, group))
        elif any(verb == "allowaccess" for verb, _groups in statements[:first_deny]):
            found.append("[%s]: 'denyaccess = %s' comes after an allowaccess (the first match decides)"
                         % (name, group))
    return found


class ArcCeTarget(BlockFileTarget):
    TYPE = "arc"
    KINDS = frozenset([DN, TOKEN])
    DEFAULT_PATH = "/etc/arc.conf"
    OPTIONS = specs.ARC_OPTIONS

    def __init__(self, spec, ctx):
        super(ArcCeTarget, self).__init__(spec, ctx)
        self._spellings = {}  # issuer -> its two spellings (a list holds thousands of subjects of a few issuers)

    @classmethod
    def spec_problems(cls, spec):
        group = spec.get("arc_authgroup") or "gridsec-banned"
        if not _GROUP_RE.match(group):
            return ["target %s: arc_authgroup %r must be 1-64 letters, digits, '.', '_' or '-'"
                    % (spec.get("name"), group)]
        return []

    @property
    def group(self):
        return self.spec.get("arc_authgroup") or "gridsec-banned"

    def block_header(self):
        return ["[authgroup:%s]" % self.group]

    def place_new_block(self, lines):
        """Before the first block that may use the group (objects are defined before use), else at the end."""
        for index, line in enumerate(lines):
            match = _SECTION_RE.match(line)
            if match and _ACCESS_BLOCK_RE.match(match.group(1).strip()):
                return lines[:index], lines[index:]
        return lines, []

    def render_entry(self, entry):
        if entry.kind == TOKEN:
            subject = entry.subject
            if subject == "*":
                raise Unexpressible("ARC reads a subject '*' as any subject")
            if _BLANK_OR_QUOTE.search(subject):
                raise Unexpressible("ARC's quoting of blanks and '\"' in authtokens fields is not verified")
            spellings = self._spellings.get(entry.issuer)
            if spellings is None:
                spellings = self._spellings[entry.issuer] = issuer_spellings(entry.issuer)
            return ["authtokens = %s %s * * *" % (subject, iss) for iss in spellings]
        dn = to_openssl_oneline(entry_dn(entry))
        if '"' in dn or dn != dn.rstrip():
            raise Unexpressible("ARC's handling of '\"' and trailing blanks in subject values is not verified")
        return ["subject = %s" % dn]

    def inspect(self, text, data):
        self.report_access(sections(text.splitlines()), data)

    def scanner(self, before, after):
        return _ArcScan(self)

    def report_access(self, parsed, data):
        """What ``inspect`` reports from the ``sections`` of the new file."""
        notes = access_order_problems(parsed, self.group)
        if not any(name == "authtokens" for name, _lines in parsed):
            notes.insert(0, "no [authtokens] block: A-REX evaluates no authtokens rule")
        data["access_problems"] = notes
        if notes:
            self.ctx.warn("%s: the bans of [authgroup:%s] are not enforced everywhere: %s"
                          % (self.label, self.group, "; ".join(notes)))

    def enforced(self, text):
        """The ``subject`` and ``authtokens`` lines of ``[authgroup:<group>]`` (exact strings, as A-REX compares
        them); a deny missing or after an allow in an access-controlled block is a problem."""
        subjects, tokens = set(), set()
        parsed = sections(text.splitlines(), keep_section="authgroup:%s" % self.group)
        for name, lines in parsed:
            if name != "authgroup:%s" % self.group:
                continue
            for line in lines:
                key, sep, value = line.partition("=")
                if not sep:
                    continue
                key, value = key.strip(), value.strip()
                if key == "subject":
                    subjects.add(value)
                elif key == "authtokens" and len(value.split()) == 5 and value.split()[2:] == ["*", "*", "*"]:
                    tokens.add(tuple(value.split()[:2]))
        problems = access_order_problems(parsed, self.group)

        def holds(entry):
            if entry.kind == TOKEN:
                return all((entry.subject, iss) in tokens for iss in issuer_spellings(entry.issuer))
            return to_openssl_oneline(entry_dn(entry)) in subjects

        return len(subjects) + len(set((sub, iss.rstrip("/")) for sub, iss in tokens)), holds, problems
