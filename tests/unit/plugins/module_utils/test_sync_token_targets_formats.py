# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The hostile-identity table of ENFORCERS.md section 8, checked for the htcondor_ce, dcache and arc sync targets
with INDEPENDENT parsers written from each enforcer's grammar (not from our renderers):

* HTCondor map files (ENFORCERS 4.2, ``MapFile::ParseCanonicalization``/``ParseField``, security.rst): files in
  lexical order, first matching line wins, ``"…"`` = exact string, ``/…/`` = regex (Python ``re`` stands in for
  PCRE2: the escapes used here mean the same in both), authenticated names ``<iss>,<sub>`` and ``<DN>[,<FQAN>…]``;
* the gPlazma ban plugin (ENFORCERS 5.2/5.3, ``BanFilePlugin.java``): stripped lines, ``alias``/``ban`` only,
  ``ban <type>:<value>`` split at the first ``:``, ``oidc`` split at the last ``@``; optionally the pre-#7947
  behaviour (last line per type wins);
* ARC (ENFORCERS 6.1, ``arc.conf.reference``, ``auth_otokens.cpp``): ``[authgroup:…]`` rules in order,
  ``authtokens`` five fields, ``*`` = anything, else exact; ``subject`` exact.

The authenticated names of each DN are the literal strings the enforcer computes (ENFORCERS 8, reproduced with
OpenSSL 3.0 / canl), written out in the table, so a renderer bug cannot hide behind its own inverse.
"""
import os
import re

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN, FQAN, TOKEN, Entry
from ansible_collections.gridsec.ops.plugins.module_utils._sync.arc_ce import ArcCeTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.dcache import DcacheTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.htcondor_ce import HtcondorCeTarget

ISS = "https://iam.example"

# (list entry as a user writes it, OpenSSL one-line form [HTCondor SSL, ARC], canl slash form [dCache])
DNS = [
    (r'CN=Doe\, \"J\" \<x\>\; a\+b\\c ' + u"\u00e9" + ",OU=Users/Staff,DC=example,DC=org",
     r'/DC=org/DC=example/OU=Users\/Staff/CN=Doe, "J" <x>; a\+b\c \xC3\xA9',
     r'/DC=org/DC=example/OU=Users/Staff/CN=Doe, "J" <x>; a+b\c \xC3\xA9'),
    ("/DC=org/CN=a.b*c", "/DC=org/CN=a.b*c", "/DC=org/CN=a.b*c"),
    ("/DC=org/CN=(x)|[y]{z}^$?", "/DC=org/CN=(x)|[y]{z}^$?", "/DC=org/CN=(x)|[y]{z}^$?"),
    ("/DC=org/CN=John Doe 2", "/DC=org/CN=John Doe 2", "/DC=org/CN=John Doe 2"),
    ("/DC=org/CN=Doe", "/DC=org/CN=Doe", "/DC=org/CN=Doe"),
]
# authenticated names of people who are NOT on the list (near misses of the ones above)
OTHER_DNS = [
    r'/DC=org/DC=example/OU=Users\/Staff/CN=Doe, "J" <x>; a\+b\c \xC3\xA8',
    r'/DC=org/DC=example/OU=Users/Staff/CN=Doe, "J" <x>; a+b\c \xC3\xA8',
    "/DC=org/CN=aXb*c", "/DC=org/CN=a.bbbbc", "/DC=org/CN=a.b*cd", "/DC=org/CN=xa.b*c",
    "/DC=org/CN=x", "/DC=org/CN=John Doe 23", "/DC=org/CN=John Doe", "/DC=org/CN=Doe, Jr", "/DC=org/CN=Doe2",
    "/DC=org/CN=Doe/CN=proxy-of-someone-else-x", "/DC=org", "/DC=org/CN=Do",
]
SUBS = ["e1eb758b-b73c-4761-bfff-adc793da409c", ".*", "*", "a b", 'q"uote', "back\\slash", "semi;colon<>", "trailing9",
        "a@b"]
OTHER_SUBS = ["anything", "e1eb758b-b73c-4761-bfff-adc793da409d", "trailing", "trailing99", "a", "b", "", "x.y", "**",
              "back\\\\slash", "q\"uote\"", "a@b@c"]
OTHER_ISSUERS = ["https://iam.example.evil", "https://iam.example//", "https://other.example", "http://iam.example"]
UNEXPRESSIBLE_ARC = {"*", "a b", 'q"uote'}


class FakeCtx(object):
    sync_name = "hostile"
    check_mode = False
    params = {}

    def __init__(self):
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)


def _entries():
    entries = [Entry(DN, dn) for dn, _one, _canl in DNS]
    entries += [Entry(TOKEN, (ISS, sub)) for sub in SUBS]
    entries.append(Entry(FQAN, "/atlas/Role=pilot"))
    return dict((e.key, e) for e in entries)


def _write(cls, tmp_path, **extra):
    spec = dict(name="t", path=str(tmp_path / "00-gridsec-ban.conf"), mode="0644", **extra)
    target = cls(spec, FakeCtx())
    wanted = dict((k, e) for k, e in _entries().items() if e.kind in cls.KINDS)
    data = target.sync(wanted, False)
    with open(spec["path"], encoding="utf-8") as handle:
        return handle.read(), data


# -- HTCondor map file ----------------------------------------------------------------------------------------------
def _condor_field(text, pos):
    """One map-file field from ``pos``: ``(kind, value, next pos)``; kind ``literal``/``regex``/``word``."""
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    if pos >= len(text):
        return None, None, pos
    close = text[pos]
    if close not in '"/':
        end = pos
        while end < len(text) and text[end] not in " \t":
            end += 1
        return "word", text[pos:end], end
    out, pos = [], pos + 1
    while pos < len(text) and text[pos] != close:
        if text[pos] == "\\" and pos + 1 < len(text) and text[pos + 1] in (close, "\\"):
            out.append(text[pos + 1])
            pos += 2
            continue
        out.append(text[pos])
        pos += 1
    pos += 1
    if close == "/":
        while pos < len(text) and text[pos] in "iU":
            pos += 1
    return ("literal" if close == '"' else "regex"), "".join(out), pos


def condor_lookup(files, method, name):
    """The canonical name HTCondor maps ``name`` to: first match over ``files`` (texts in lexical order)."""
    for text in files:
        for line in text.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            meth, rest = stripped.split(None, 1)
            kind, principal, pos = _condor_field(rest, 0)
            _k, canonical, _p = _condor_field(rest, pos)
            if meth != method or canonical is None:
                continue
            if kind == "literal" and principal == name:
                return canonical
            if kind == "regex":
                try:
                    if re.search(principal, name):
                        return canonical
                except re.error:
                    continue  # HTCondor skips a regex that does not compile
            if kind == "word" and re.search(principal, name):
                return canonical
    return None


def test_htcondor_bans_exactly_the_listed_identities(tmp_path):
    text, data = _write(HtcondorCeTarget, tmp_path)
    permissive = "SCITOKENS /^https:\\/\\/iam\\.example\\/?,/ user@users.htcondor.org\nSSL /.*/ anyone@users.htcondor.org\n"
    files = [text, permissive]  # 00-gridsec-ban.conf sorts before the site's 10-*.conf
    for _dn, oneline, _canl in DNS:
        for name in (oneline, oneline + ",/atlas/Role=NULL/Capability=NULL", oneline + ",/cms"):
            assert condor_lookup(files, "SSL", name).endswith("@banned.htcondor.org"), name
    for name in OTHER_DNS + [d[2] for d in DNS if d[1] != d[2]]:
        assert condor_lookup(files, "SSL", name) == "anyone@users.htcondor.org", name
    for sub in SUBS:
        for iss in (ISS, ISS + "/"):
            assert condor_lookup(files, "SCITOKENS", "%s,%s" % (iss, sub)).endswith("@banned.htcondor.org")
    for iss in [ISS, ISS + "/"] + OTHER_ISSUERS:
        for sub in OTHER_SUBS:
            assert not (condor_lookup(files, "SCITOKENS", "%s,%s" % (iss, sub)) or "").endswith("banned.htcondor.org")
    for sub in SUBS:
        for iss in OTHER_ISSUERS:
            assert not (condor_lookup(files, "SCITOKENS", "%s,%s" % (iss, sub)) or "").endswith("banned.htcondor.org")
    assert "not_expressible" not in data


def test_htcondor_token_lines_are_quoted_literals(tmp_path):
    text, _data = _write(HtcondorCeTarget, tmp_path)
    token_lines = [line for line in text.splitlines() if line.startswith("SCITOKENS")]
    assert len(token_lines) == 2 * len(SUBS)
    assert all(line.split(None, 1)[1].startswith('"') for line in token_lines)


# -- gPlazma ban file -----------------------------------------------------------------------------------------------
# principal classes with a one-String constructor in dCache 11 (``Class.forName`` in Subjects.principalsFromArgs),
# as the built-in type whose principal they build; any other class name fails every login. The jglobus-1 name
# org.globus.gsi.jaas.GlobusPrincipal is deliberately absent: dCache deleted it in 2.14.
GPLAZMA_CLASSES = {"org.globus.gsi.gssapi.jaas.GlobusPrincipal": "dn", "org.dcache.auth.FQANPrincipal": "fqan",
                   "org.dcache.auth.UserNamePrincipal": "username", "org.dcache.auth.LoginNamePrincipal": "name",
                   "javax.security.auth.kerberos.KerberosPrincipal": "kerberos"}


def gplazma_bans(text, last_line_wins=False):
    """The set of banned principals ``(type, value)`` the plugin builds, or raises ValueError (every login fails)."""
    builtin = {"dn", "kerberos", "fqan", "name", "username", "user", "uid", "gid", "group", "email", "origin", "oidc"}
    aliases, bans, last = {}, set(), {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word = line.split()[0]
        if word == "alias":
            match = re.match(r"^alias\s+([^:]+)=(.*)$", line)
            if not match:
                raise ValueError(line)
            aliases[match.group(1)] = match.group(2)
        elif word == "ban":
            match = re.match(r"^ban\s+([^:]+):(.*)$", line)
            if not match:
                raise ValueError(line)
            kind, value = aliases.get(match.group(1), match.group(1)), match.group(2)
            if kind in GPLAZMA_CLASSES:
                kind = GPLAZMA_CLASSES[kind]
            elif kind not in builtin:
                raise ValueError(kind)
            if kind == "oidc":
                sub, at, op = value.rpartition("@")
                if not at or any(ord(c) > 127 for c in sub) or len(sub) > 255:
                    raise ValueError(value)
                value = (sub, op)
            bans.add((kind, value))
            last[kind] = (kind, value)
        else:
            raise ValueError(line)
    return set(last.values()) if last_line_wins else bans


def test_dcache_bans_exactly_the_listed_identities(tmp_path):
    text, data = _write(DcacheTarget, tmp_path, dcache_op_aliases={ISS + "/": "IAM"})
    bans = gplazma_bans(text)
    for _dn, _one, canl in DNS:
        assert ("dn", canl) in bans
    for name in OTHER_DNS + [d[1] for d in DNS if d[1] != d[2]]:
        assert ("dn", name) not in bans, name
    for sub in SUBS:
        assert ("oidc", (sub, "IAM")) in bans
    for sub in OTHER_SUBS:
        assert ("oidc", (sub, "IAM")) not in bans
    assert ("fqan", "/atlas/Role=pilot") in bans
    assert len(bans) == len(DNS) + len(SUBS) + 1  # nothing else is banned
    assert "not_expressible" not in data


def test_dcache_token_without_op_alias_is_reported_not_written(tmp_path):
    text, data = _write(DcacheTarget, tmp_path, dcache_op_aliases={"https://other.example": "OTHER"})
    assert not [b for b in gplazma_bans(text) if b[0] == "oidc"]
    assert data["not_expressible"]["count"] == len(SUBS)


def test_dcache_7947_affected_version_is_refused_and_the_file_untouched(tmp_path):
    from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
    path = tmp_path / "00-gridsec-ban.conf"
    path.write_text(u"ban dn:/DC=org/CN=site-own\n")
    with pytest.raises(ConfigError) as err:
        _write(DcacheTarget, tmp_path, dcache_op_aliases={ISS: "IAM"}, dcache_version="10.2.19")
    assert "7947" in str(err.value) and "10.2.20" in str(err.value)
    assert path.read_text() == u"ban dn:/DC=org/CN=site-own\n"
    # why: the old plugin would enforce one DN of the list only
    text, _data = _write(DcacheTarget, tmp_path, dcache_op_aliases={ISS: "IAM"}, dcache_version="10.2.20")
    assert len([b for b in gplazma_bans(text, last_line_wins=True) if b[0] == "dn"]) == 1
    assert len([b for b in gplazma_bans(text) if b[0] == "dn"]) == len(DNS) + 1


def test_file_target_gplazma_format_loads_in_the_plugin_and_bans_every_dn(tmp_path):
    # why: its alias line once named org.globus.gsi.jaas.GlobusPrincipal, which dCache >= 2.14 does not have: the
    # plugin then refuses every login
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.files import FileTarget
    path = str(tmp_path / "ban.conf")
    entries = dict((e.key, e) for e in [Entry(DN, dn) for dn, _one, _canl in DNS[1:]]
                   + [Entry(FQAN, "/atlas/Role=pilot")])
    FileTarget(dict(name="g", path=path, format="gplazma"), FakeCtx()).sync(entries, False)
    with open(path, encoding="utf-8") as handle:
        bans = gplazma_bans(handle.read())
    assert bans == set([("dn", canl) for _dn, _one, canl in DNS[1:]] + [("fqan", "/atlas/Role=pilot")])


def test_dcache_refuses_a_site_line_naming_a_class_dcache_deleted(tmp_path):
    from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
    path = tmp_path / "00-gridsec-ban.conf"
    site = u"alias dn=org.globus.gsi.jaas.GlobusPrincipal\nban dn:/DC=org/CN=site-own\n"
    path.write_text(site)
    with pytest.raises(ValueError):
        gplazma_bans(site)
    with pytest.raises(ConfigError) as err:
        _write(DcacheTarget, tmp_path, dcache_op_aliases={ISS: "IAM"})
    assert "org.globus.gsi.gssapi.jaas.GlobusPrincipal" in str(err.value)
    assert path.read_text() == site


# -- ARC ------------------------------------------------------------------------------------------------------------
def _arc_fields(value):
    fields, pos = [], 0
    while pos < len(value):
        if value[pos] == " ":
            pos += 1
            continue
        if value[pos] == '"':
            end = value.index('"', pos + 1)
            fields.append(value[pos + 1:end])
            pos = end + 1
        else:
            end = value.find(" ", pos)
            end = len(value) if end < 0 else end
            fields.append(value[pos:end])
            pos = end
    return fields


def arc_member(text, group, subject_dn=None, token=None):
    """Does the identity belong to ``[authgroup:<group>]``? (first matching rule decides; no rule -> no)."""
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line[1:-1]
            continue
        if section != "authgroup:" + group or not line or line.startswith("#"):
            continue
        key, _eq, value = (part.strip() for part in line.partition("="))
        if key == "subject" and subject_dn is not None and value == subject_dn:
            return True
        if key == "authtokens" and token is not None:
            fields = _arc_fields(value)
            assert len(fields) == 5, line
            sub, iss = token
            if all(f == "*" or f == v for f, v in zip(fields[:2], (sub, iss))):
                return True
    return False


def test_arc_bans_exactly_the_listed_identities_or_reports_them(tmp_path):
    text, data = _write(ArcCeTarget, tmp_path)
    skipped = set(item["value"] for item in data["not_expressible"]["entries"])
    for dn, oneline, _canl in DNS:
        expected = '"' not in oneline
        assert arc_member(text, "gridsec-banned", subject_dn=oneline) is expected, oneline
        if not expected:
            assert Entry(DN, dn).value in skipped
    for name in OTHER_DNS:
        assert not arc_member(text, "gridsec-banned", subject_dn=name), name
    for sub in SUBS:
        for iss in (ISS, ISS + "/"):
            assert arc_member(text, "gridsec-banned", token=(sub, iss)) is (sub not in UNEXPRESSIBLE_ARC), sub
    for sub in OTHER_SUBS:
        for iss in [ISS, ISS + "/"] + OTHER_ISSUERS:
            assert not arc_member(text, "gridsec-banned", token=(sub, iss)), (sub, iss)
    assert set("%s %s" % (ISS, s) for s in UNEXPRESSIBLE_ARC) <= skipped


def test_fixture_texts_are_what_enforcers_md_prints():
    # the authenticated names above are ENFORCERS.md section 8, byte for byte
    here = os.path.dirname(os.path.abspath(__file__))
    # tests/unit/plugins/module_utils -> the repository -> ../shared/reference (as test_dn.py finds it)
    reference = os.environ.get("GRIDSEC_SHARED_REFERENCE",
                               os.path.join(here, *([os.pardir] * 4 + [os.pardir, "shared", "reference"])))
    ref = os.path.join(reference, "tokens", "ENFORCERS.md")
    if not os.path.exists(ref):
        pytest.skip("reference notes not present")
    with open(ref, encoding="utf-8") as handle:
        notes = handle.read()
    assert DNS[0][1] in notes
    assert DNS[0][2] in notes


# -- properties: any valid subject and any DN value, banned exactly -------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

SUBJECT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), min_size=1, max_size=30).filter(
    lambda s: s == s.strip())
CN = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e, blacklist_characters="/+=\\,\"<>;#"),
             min_size=1, max_size=20).filter(lambda s: s == s.strip())


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(SUBJECT, min_size=1, max_size=4, unique=True), SUBJECT, CN, CN)
def test_random_identities_are_banned_exactly(tmp_path_factory, subs, other, cn, other_cn):
    tmp = tmp_path_factory.mktemp("prop")
    wanted = [Entry(TOKEN, (ISS, s)) for s in subs] + [Entry(DN, "/DC=org/CN=" + cn)]
    wanted = dict((e.key, e) for e in wanted)
    dn_name = "/DC=org/CN=" + cn  # these CNs have no character that any rendering escapes
    spec = dict(name="t", mode="0644", dcache_op_aliases={ISS: "IAM"})
    texts = {}
    for cls in (HtcondorCeTarget, DcacheTarget, ArcCeTarget):
        path = str(tmp / cls.TYPE)
        applicable = dict((k, e) for k, e in wanted.items() if e.kind in cls.KINDS)
        cls(dict(spec, path=path), FakeCtx()).sync(applicable, False)
        with open(path, encoding="utf-8") as handle:
            texts[cls.TYPE] = handle.read()
    bans = gplazma_bans(texts["dcache"])
    for sub in subs + [other]:
        listed = sub in subs
        for iss in (ISS, ISS + "/"):
            hit = condor_lookup([texts["htcondor_ce"]], "SCITOKENS", "%s,%s" % (iss, sub))
            assert (hit is not None) is listed, sub
            arc_expected = listed and sub != "*" and not re.search(r'[\s"]', sub)
            assert arc_member(texts["arc"], "gridsec-banned", token=(sub, iss)) is arc_expected, sub
        assert (("oidc", (sub, "IAM")) in bans) is listed
    for name, listed in ((dn_name, True), ("/DC=org/CN=" + other_cn, other_cn == cn), (dn_name + "x", False)):
        assert (condor_lookup([texts["htcondor_ce"]], "SSL", name) is not None) is listed, name
        assert (("dn", name) in bans) is listed
        assert arc_member(texts["arc"], "gridsec-banned", subject_dn=name) is listed


@pytest.mark.parametrize("value", ["https://iam.example e1eb758b-b73c-4761-bfff-adc793da409c", 'q"uote', "back\\slash",
                                   "del\x7f", "tab\there", u"\u00e9t\u00e9", "/DC=org/CN=a.b*c", "", "new\nline"])
def test_entry_comment_names_the_entry_as_json(value):
    # why: later runs read the comment back with json.loads to name what they remove; the fast path must give the
    # bytes json.dumps gives
    import json
    import types
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.filewrite import entry_comment
    assert entry_comment(types.SimpleNamespace(kind="token", value=value)) == "# gridsec token %s" % json.dumps(value)
