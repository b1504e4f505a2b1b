"""pap_configuration.ini and pap_authorization.ini of the lab PAP (ARGUS.md §8.1, §8.2).

Both files follow the commons-configuration INI dialect the real PAP reads: ``[section]`` headers,
``key = value`` lines, a repeated key makes a list (``ordering = a`` / ``ordering = b``), ``#``
comments. The lab rewrites them atomically when the configuration changes through the API.
"""
import os
import re

PERMISSIONS = ("POLICY_READ_LOCAL", "POLICY_READ_REMOTE", "POLICY_WRITE", "CONFIGURATION_READ",
               "CONFIGURATION_WRITE")
ANYONE_DN = "/O=PAP/OU=Internal/CN=Any authenticated user"


def atomic_write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_ini(text):
    """-> {section: [(key, value), ...]} preserving order and repeats."""
    sections = {}
    current = sections.setdefault("", [])
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith(";"):
            continue
        match = re.match(r"^\[(.+)\]$", line)
        if match:
            current = sections.setdefault(match.group(1).strip(), [])
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            current.append((key.strip(), value.strip()))
    return sections


def ini_lookup(pairs, key, default=None):
    values = [v for k, v in pairs if k == key]
    return values[-1] if values else default


def ini_list(pairs, key):
    out = []
    for k, v in pairs:
        if k == key:
            out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def truthy(value, default=False):
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes", "on")


def parse_permissions(text):
    perms = set()
    for item in re.split(r"[|,\s]+", text.strip()):
        if not item:
            continue
        item = item.upper()
        if item == "ALL":
            perms.update(PERMISSIONS)
        elif item in PERMISSIONS:
            perms.add(item)
        else:
            raise ValueError("unknown permission %r" % item)
    return perms


def format_permissions(perms):
    if set(perms) >= set(PERMISSIONS):
        return "ALL"
    return "|".join(p for p in PERMISSIONS if p in perms)


class ACL:
    """Global-context ACL: {("dn", slash_dn) | ("fqan", fqan): set(perms)}. ``ANYONE`` is stored as
    the DN the PAP uses internally for "any authenticated user"."""

    def __init__(self, entries=None):
        self.entries = dict(entries or {})

    @classmethod
    def parse(cls, text):
        entries = {}
        section = None
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            match = re.match(r"^\[(.+)\]$", line)
            if match:
                section = match.group(1).strip().lower()
                continue
            if line.startswith('"'):
                end = line.index('"', 1)
                principal, rest = line[1:end], line[end + 1:]
                rest = rest.strip()
                if not rest.startswith(":"):
                    raise ValueError("bad ACL line %r" % raw)
                perms = rest[1:]
            else:
                principal, _, perms = line.rpartition(":")
                principal = principal.strip()
            if section == "fqan":
                key = ("fqan", principal)
            else:
                key = ("dn", ANYONE_DN if principal == "ANYONE" else principal)
            entries.setdefault(key, set()).update(parse_permissions(perms))
        return cls(entries)

    def render(self):
        lines = ["# PAP service access control (written by the gridsec lab PAP)", "", "[dn]", ""]
        for (kind, name), perms in self.entries.items():
            if kind == "dn":
                shown = "ANYONE" if name == ANYONE_DN else '"%s"' % name
                lines.append("%s : %s" % (shown, format_permissions(perms)))
        lines += ["", "[fqan]", ""]
        for (kind, name), perms in self.entries.items():
            if kind == "fqan":
                lines.append("%s : %s" % (name, format_permissions(perms)))
        return "\n".join(lines) + "\n"

    def permissions_of(self, dn, fqans=()):
        perms = set(self.entries.get(("dn", ANYONE_DN), set()))
        if dn is not None:
            perms |= self.entries.get(("dn", dn), set())
        for fqan in fqans:
            perms |= self.entries.get(("fqan", fqan), set())
        return perms
