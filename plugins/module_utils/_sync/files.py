# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Sync target ``file``: a ban file (LCAS ``ban_users.db``, dCache gPlazma, plain DN list, or a line template).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

A format is one small object in ``FORMATS`` (``BanFileFormat``: its default header, whether it holds FQANs by
default, how it renders an entry as one line and how it reads a line back); adding a format is one class and one
line of ``FORMATS`` here, plus its name in the module's ``format`` choices documentation.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat

from ansible_collections.gridsec.ops.plugins.module_utils._argus.ids import SYNC_OWNER_MARK as OWNER_MARK
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._files import write_atomic
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN, FQAN, Entry, sort_key
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncTarget, TargetResult, entry_lines
from ansible_collections.gridsec.ops.plugins.module_utils._sync import specs
from ansible_collections.gridsec.ops.plugins.module_utils._sync.freshness import (
    canary_presence,
    find_stamp,
    stamped,
    status_result,
)


def _lcas_quote(value):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def _lcas_unquote(line):
    text = line.strip()
    if not (len(text) >= 2 and text.startswith('"') and text.endswith('"')):
        return text
    if "\\" not in text:  # the common line: nothing escaped
        return text[1:-1]
    out = []
    index = 1
    while index < len(text) - 1:
        char = text[index]
        if char == "\\" and index + 1 < len(text) - 1:
            out.append(text[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


class BanFileFormat(object):
    """One ban-file format: the default ``header`` (lines after the ownership comment), whether FQANs are
    written by default (``fqans_by_default``), ``render(entry, template)`` -> one line, and ``parse(text)`` ->
    ``(kind, value)`` of a non-comment line (how removed lines are reported)."""

    header = None
    fqans_by_default = False
    needs_template = False

    def render(self, entry, template):
        raise NotImplementedError

    def parse(self, text):
        return ("line", text)


class LcasFormat(BanFileFormat):
    """LCAS ``ban_users.db``: one quoted slash DN per line (``\\"`` and ``\\\\`` escaped)."""

    header = "# LCAS ban_users.db"

    def render(self, entry, template):  # pylint: disable=unused-argument
        return _lcas_quote(entry.value)

    def parse(self, text):
        value = _lcas_unquote(text)
        return (FQAN if not value.split("/")[1:2] or "=" not in value.split("/")[1] else DN, value)


class GplazmaFormat(BanFileFormat):
    """dCache gPlazma ban plugin file: ``ban dn:<DN>`` / ``ban fqan:<FQAN>`` after the two alias lines.

    The ``dn`` class is ``org.globus.gsi.gssapi.jaas.GlobusPrincipal`` (``dCache/dcache
    modules/common/src/main/java/org/globus/gsi/gssapi/jaas/GlobusPrincipal.java``); the old
    ``org.globus.gsi.jaas.GlobusPrincipal`` was deleted in dCache 2.14 and, named in an alias, makes the plugin
    refuse every login (``Subjects.principalsFromArgs``: "No matching class found"; dCache #4738)."""

    header = ("# dCache gPlazma ban file\nalias dn=org.globus.gsi.gssapi.jaas.GlobusPrincipal\n"
              "alias fqan=org.dcache.auth.FQANPrincipal")
    fqans_by_default = True

    def render(self, entry, template):  # pylint: disable=unused-argument
        return "ban %s:%s" % ("dn" if entry.kind == DN else "fqan", entry.value)

    def parse(self, text):
        if not text.startswith("ban "):
            return None
        kind, _sep, value = text[4:].strip().partition(":")
        return (DN if kind == "dn" else FQAN, value)


class PlainFormat(BanFileFormat):
    """One slash DN per line."""

    header = "# one subject DN per line"

    def render(self, entry, template):  # pylint: disable=unused-argument
        return entry.value

    def parse(self, text):
        return (DN, text)


class TemplateFormat(BanFileFormat):
    """The ``template`` option (a Python format string) rendered once per entry."""

    fqans_by_default = True
    needs_template = True

    def render(self, entry, template):
        fields = {"kind": entry.kind, "value": entry.value, "dn": entry.value if entry.kind == DN else "",
                  "dn_rfc2253": entry.rfc2253 if entry.kind == DN else "",
                  "fqan": entry.value if entry.kind == FQAN else "",
                  "lcas": _lcas_quote(entry.value)}
        for field in ("reason", "origin", "ticket", "added", "expires"):
            fields[field] = entry.meta.get(field, "")
        try:
            line = template.format(**fields)
        except (KeyError, IndexError, ValueError) as err:
            raise ConfigError("template %r cannot be rendered: %s (fields: %s)"
                              % (template, err, ", ".join(sorted(fields))),
                              operation="render template")
        if "\n" in line or "\r" in line:
            raise ConfigError("template renders a line break for %s" % entry.label(), operation="render template")
        return line


#: the ban-file formats by the name of the ``format`` option
FORMATS = {"lcas": LcasFormat(), "gplazma": GplazmaFormat(), "plain": PlainFormat(), "template": TemplateFormat()}
FILE_FORMATS = specs.FILE_FORMATS


def render_line(fmt, entry, template=None):
    """One line of a ban file for ``entry``, or None when the format does not hold that kind."""
    return FORMATS[fmt].render(entry, template)


def parse_line(fmt, line):
    """The identity a ban-file line holds: ``(kind, value)`` or None (comments, blank, unknown lines)."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    return FORMATS[fmt].parse(text)


class FileTarget(SyncTarget):
    """A ban file (``type: file``) in one of ``FORMATS``.

    Options: ``path`` (required), ``format`` (``lcas``, ``gplazma``, ``plain``, ``template``), ``template``,
    ``header``, ``include_fqans`` (default: the format's), ``mode``, ``owner``, ``group``.
    Validation: ``path`` given (``spec_problems``); the format, ``template`` for the template format and an octal
    ``mode`` when the target is built (a bad one fails this target only).
    Read: the file's bytes and ``stat`` (a missing file is an empty one). Plan: render the whole file (an
    ownership comment naming the sync, the header, one line per entry in list order), compare its lines with
    the current ones (added/removed by line; removed lines are read back with the format's ``parse``) and its
    mode/owner/group. Apply (not in check mode, only when something differs): write a temporary file in the same
    directory and rename it over the file (the old file is untouched when that fails), or only fix the
    attributes. Owns: the whole file. Never touches: any other file (no temporary file is left behind).
    Audit: ``add``/``remove`` per line.
    """

    TYPE = "file"
    kind = TYPE
    KINDS = frozenset([DN, FQAN])
    CANARY_DEFAULT = "skip"
    OPTIONS = specs.FILE_OPTIONS
    HEADER = dict((name, fmt.header) for name, fmt in FORMATS.items())

    @classmethod
    def spec_problems(cls, spec):
        return [] if spec.get("path") else ["target %s: a file target needs path" % spec["name"]]

    def __init__(self, spec, ctx):
        name, path, fmt = spec["name"], spec.get("path"), spec.get("format") or "plain"
        template, mode, include_fqans = spec.get("template"), spec.get("mode"), spec.get("include_fqans")
        if fmt not in FORMATS:
            raise ConfigError("file target %s: format %r is not one of %s" % (name, fmt, ", ".join(FILE_FORMATS)))
        if FORMATS[fmt].needs_template and not template:
            raise ConfigError("file target %s: format template needs template" % name)
        if not path:
            raise ConfigError("file target %s: path is required" % name)
        self.name = name
        self.path = path
        self.fmt = fmt
        self.ctx = ctx
        self.sync_name = ctx.sync_name
        try:
            self.mode = int(str(mode or "0640"), 8)
        except ValueError:
            raise ConfigError("file target %s: mode %r is not an octal mode such as 0640" % (name, mode))
        self.owner = spec.get("owner")
        self.group = spec.get("group")
        self.template = template
        self.header = spec.get("header")
        self.include_fqans = FORMATS[fmt].fqans_by_default if include_fqans is None else bool(include_fqans)
        self.result = TargetResult(name, self.kind)
        self.result.data["path"] = path
        self.result.data["format"] = fmt

    @property
    def label(self):
        return "file target %s (%s)" % (self.name, self.path)

    def render(self, wanted, old_lines=()):
        """``(file bytes, {line: entry})``; the stamp line (``freshness``) after the ownership comment keeps its old
        serial and time when nothing else changes (``old_lines``: the current file's lines)."""
        lines = ["# Managed by %s (%s): do not edit, changes are overwritten." % (OWNER_MARK, self.sync_name)]
        header = self.header if self.header is not None else self.HEADER.get(self.fmt)
        if header:
            lines.extend(header.splitlines())
        body = {}
        for entry in sorted(wanted.values(), key=sort_key):
            if entry.kind == FQAN and not self.include_fqans:
                continue
            line = render_line(self.fmt, entry, self.template)
            if line is not None:
                body[line] = entry
        lines.extend(body)
        lines = stamped(lines, 1, list(old_lines), self.ctx)
        return ("\n".join(lines) + "\n").encode("utf-8"), body

    def _ids(self):
        uid = gid = None
        try:
            if self.owner is not None:
                uid = int(self.owner) if str(self.owner).isdigit() else pwd.getpwnam(self.owner).pw_uid
            if self.group is not None:
                gid = int(self.group) if str(self.group).isdigit() else grp.getgrnam(self.group).gr_gid
        except KeyError as err:
            raise ConfigError("file target %s: unknown owner/group %s" % (self.name, err), operation="resolve owner")
        return uid, gid

    def _read(self):
        """``(bytes, stat)`` of the file, ``(None, None)`` when it does not exist."""
        try:
            with open(self.path, "rb") as handle:
                existing = handle.read()
            return existing, os.stat(self.path)
        except (IOError, OSError) as err:
            if getattr(err, "errno", None) != 2:
                raise ConfigError("cannot read %s: %s" % (self.path, err), server=self.label, operation="read")
            return None, None

    def sync(self, wanted, check_mode):
        data = self.result.data
        uid, gid = self._ids()
        existing, st = self._read()
        content, body = self.render(wanted, () if existing is None else existing.decode("utf-8", "replace").splitlines())
        data["reads"] = 1
        before_lines = []
        if existing is not None:
            before_lines = [line for line in existing.decode("utf-8", "replace").splitlines()
                            if line.strip() and not line.lstrip().startswith("#") and not line.startswith("alias ")]
        before = set(before_lines)
        added = [body[line] for line in body if line not in before]
        removed_lines = [line for line in before_lines if line not in body]
        removed = []
        for line in removed_lines:
            parsed = parse_line(self.fmt, line)
            removed.append({"kind": parsed[0], "value": parsed[1]} if parsed else {"kind": "line", "value": line})
        data.update(before_count=len(before), added_count=len(added), removed_count=len(removed),
                    kept_count=len(before) - len(removed), after_count=len(body))
        data["added"] = entry_lines(added)
        data["removed"] = sorted(removed, key=lambda d: (d["kind"], d["value"]))
        content_changed = existing != content
        attrs = []
        if st is not None:
            if stat.S_IMODE(st.st_mode) != self.mode:
                attrs.append("mode")
            if uid is not None and st.st_uid != uid:
                attrs.append("owner")
            if gid is not None and st.st_gid != gid:
                attrs.append("group")
        data["changed"] = content_changed or bool(attrs)
        data["attributes_changed"] = attrs
        data["mode"] = "%04o" % self.mode
        if check_mode or not data["changed"]:
            return data
        try:
            if content_changed:
                write_atomic(self.path, content, self.mode, uid, gid)
                data["operations"].append({"operation": "write", "path": self.path})
            else:
                os.chmod(self.path, self.mode)
                if uid is not None or gid is not None:
                    os.chown(self.path, -1 if uid is None else uid, -1 if gid is None else gid)
                data["operations"].append({"operation": "set_attributes", "path": self.path, "attributes": attrs})
        except (IOError, OSError) as err:
            raise ConfigError("cannot write %s: %s (the old file is untouched)" % (self.path, err),
                              server=self.label, operation="write")
        data["writes"] = 1
        return data

    # -- status (contract C2) -------------------------------------------------------------------------------------
    def status(self, canary):
        """The identities the file holds, read with the format's grammar (``parse_line``; a template file by its
        rendered lines), the stamp of the last applied change and whether every canary identity is in it."""
        existing, _st = self._read()
        if existing is None:
            return status_result(problems=["%s does not exist" % self.path], canary_present=False if canary else None)
        lines = existing.decode("utf-8", "replace").splitlines()
        _index, (serial, applied) = find_stamp(lines)
        parsed = {}
        for line in lines:
            identity = parse_line(self.fmt, line)
            if identity is not None and not line.startswith("alias "):
                parsed[line.strip()] = identity
        kinds = self.KINDS if self.include_fqans else frozenset([DN])
        held = []  # the entry keys of every line, parsed only when a canary's own line is not there

        def holds(entry):
            if render_line(self.fmt, entry, self.template).strip() in parsed:
                return True
            if self.fmt == "template":
                return False
            if not held:
                held.append(set(_identity_key(identity) for identity in parsed.values()))
            return entry.key in held[0]

        present, missing = canary_presence(canary, kinds, holds)
        return status_result(serial, applied, len(parsed), present, canary_missing=missing)


def _identity_key(parsed):
    """The entry key of a ``(kind, value)`` a ban-file line holds (DNs compared as parsed DNs), or the line."""
    kind, value = parsed
    try:
        return Entry(kind, value, stored=True).key if kind in (DN, FQAN) else parsed
    except GridsecError:
        return parsed
