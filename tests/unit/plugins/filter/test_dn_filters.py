# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The DN filters: conversions, semantic comparison, clear errors, and one real playbook run through FQCNs."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible.module_utils import _internal as module_utils_internal

WAS_CONTROLLER = module_utils_internal.is_controller

from ansible.errors import AnsibleFilterError  # noqa: E402 pylint: disable=wrong-import-position

from ansible_collections.gridsec.ops.plugins.filter.dn import FilterModule  # noqa: E402 pylint: disable=wrong-import-position
from ansible_collections.gridsec.ops.plugins.test.dn import TestModule as DnTests  # noqa: E402 pylint: disable=wrong-import-position

# Importing controller code (ansible.errors) sets a process-wide flag that makes AnsibleModule.warn() print warnings
# instead of returning them. Module unit tests that run later in the same pytest process expect the managed-node
# behaviour, so the flag is put back; the filters themselves do not depend on it.
module_utils_internal.is_controller = WAS_CONTROLLER

FILTERS = FilterModule().filters()
to_rfc2253 = FILTERS["dn_to_rfc2253"]
to_openssl = FILTERS["dn_to_openssl"]
equal = FILTERS["dn_equal"]
equal_test = DnTests().tests()["dn_equal"]


def collections_path():
    """Directory holding ``ansible_collections/`` that this test imported the collection from."""
    from ansible_collections.gridsec.ops.plugins.module_utils import _dn
    parts = os.path.abspath(_dn.__file__).split(os.sep)
    index = len(parts) - 1 - parts[::-1].index("ansible_collections")
    return os.sep.join(parts[:index])


def ansible_playbook():
    """The ansible-playbook next to this Python, else on PATH; skips the test when there is none."""
    candidate = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    found = candidate if os.path.exists(candidate) else shutil.which("ansible-playbook")
    if not found:
        pytest.skip("ansible-playbook not found next to %s nor on PATH" % sys.executable)
    return found


CANARY_STORED = ("CN=0badc0de, CN=20260101, CN=Test Subject, CN=000001, CN=tsubject, OU=Users, "
                 "OU=Organic Units, DC=cern, DC=ch")
CANARY_SLASH = ("/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=tsubject/CN=000001/CN=Test Subject/"
                "CN=20260101/CN=0badc0de")


def test_filter_names():
    assert sorted(FILTERS) == ["dn_equal", "dn_to_openssl", "dn_to_rfc2253"]


@pytest.mark.parametrize("slash, rfc", [
    ("/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdoe/CN=123456/CN=John Doe",
     "CN=John Doe,CN=123456,CN=jdoe,OU=Users,OU=Organic Units,DC=cern,DC=ch"),
    ("/O=Example/CN=Doe, John", "CN=Doe\\, John,O=Example"),
    ("/DC=org/CN=John Doe+UID=jdoe", "CN=John Doe+UID=jdoe,DC=org"),
    ("/DC=org/CN=x/emailAddress=x@example.org", "emailAddress=x@example.org,CN=x,DC=org"),
    ("/DC=org/CN=host/foo.example.org", "CN=host/foo.example.org,DC=org"),
    ("/DC=org/CN=a < b & \"c\" > 'd'", "CN=a \\< b & \\\"c\\\" \\> 'd',DC=org"),
    (CANARY_SLASH, CANARY_STORED.replace(", ", ",")),
])
def test_conversions_both_ways(slash, rfc):
    assert to_rfc2253(slash) == rfc
    assert to_openssl(rfc) == slash
    assert to_openssl(slash) == slash
    assert to_rfc2253(rfc) == rfc


def test_canary_stored_form_converts_to_slash_form():
    assert to_openssl(CANARY_STORED) == CANARY_SLASH


@pytest.mark.parametrize("value", ["<", ">", "&", '"', "'", "a<b>&\"'c", "&lt;", "]]>"])
def test_xml_metacharacters_round_trip_unchanged(value):
    slash = "/DC=org/CN=" + value
    assert to_openssl(to_rfc2253(slash)) == slash
    assert to_rfc2253(slash, style="pap") == "CN=" + value + ",DC=org"
    assert equal(slash, to_rfc2253(slash))


def test_pap_style_escapes_only_commas():
    assert to_rfc2253("/O=a, b/CN=C++ dev;x", style="pap") == "CN=C++ dev;x,O=a\\, b"
    assert to_rfc2253("/O=a, b/CN=C++ dev;x") == "CN=C\\+\\+ dev\\;x,O=a\\, b"
    with pytest.raises(AnsibleFilterError, match="style"):
        to_rfc2253("/O=a", style="ldap")


@pytest.mark.parametrize("a, b, expected", [
    (CANARY_STORED, CANARY_SLASH, True),
    ("/DC=ch/CN=John Doe", "cn=JOHN  doe, dc=ch", True),
    ("/DC=org/E=x@example.org", "emailAddress=x@example.org,DC=org", True),
    ("/DC=org/CN=a+UID=b", "UID=b+CN=a,DC=org", True),
    ("/DC=ch/DC=cern/CN=x", "/DC=cern/DC=ch/CN=x", False),
    ("/DC=ch/CN=John Doe", "/DC=ch/CN=Jane Doe", False),
])
def test_dn_equal(a, b, expected):
    assert equal(a, b) is expected


@pytest.mark.parametrize("bad", ["", "John Doe", "/CN=a//CN=b", "CN=a\\", "CN=a,,O=b", "/CN=a\x00", None, 5])
def test_malformed_input_raises_filter_error(bad):
    for func in (to_rfc2253, to_openssl):
        with pytest.raises(AnsibleFilterError) as info:
            func(bad)
        assert func.__name__ in str(info.value)
    with pytest.raises(AnsibleFilterError, match="dn_equal"):
        equal("/DC=org/CN=x", bad)
    with pytest.raises(AnsibleFilterError, match="dn_equal"):
        equal(bad, "/DC=org/CN=x")


def test_error_message_says_what_is_wrong():
    with pytest.raises(AnsibleFilterError, match="malformed DN.*empty RDN"):
        to_rfc2253("/DC=org//CN=x")


def test_filters_in_a_playbook(tmp_path):
    """The filters resolve by FQCN in a real ansible-playbook run and keep metacharacters intact."""
    playbook = tmp_path / "play.yml"
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  vars:
    slash: "/DC=org/O=Tom & Jerry, Inc./CN=<b>\\"x\\"</b>"
    broken: 'CN=broken\\'
  tasks:
    - ansible.builtin.copy:
        dest: "{{ out }}"
        content: "{{ {'rfc': slash | gridsec.ops.dn_to_rfc2253,
                      'pap': slash | gridsec.ops.dn_to_rfc2253(style='pap'),
                      'back': slash | gridsec.ops.dn_to_rfc2253 | gridsec.ops.dn_to_openssl,
                      'eq': slash | gridsec.ops.dn_equal(slash | gridsec.ops.dn_to_rfc2253),
                      'ne': slash | gridsec.ops.dn_equal('/DC=org/CN=other')} | to_json }}"
    - name: a malformed DN fails the task with the filter's message
      ansible.builtin.debug:
        msg: "{{ broken | gridsec.ops.dn_to_openssl }}"
      register: bad
      ignore_errors: true
    - ansible.builtin.copy:
        dest: "{{ out }}.err"
        content: "{{ bad.msg }}"
""")
    out = tmp_path / "out.json"
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = collections_path()
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "false"
    proc = subprocess.run([ansible_playbook(), str(playbook),
                           "-e", "out=%s" % out, "-e", "ansible_python_interpreter=%s" % sys.executable],
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result == {
        "rfc": 'CN=\\<b\\>\\"x\\"\\</b\\>,O=Tom & Jerry\\, Inc.,DC=org',
        "pap": 'CN=<b>"x"</b>,O=Tom & Jerry\\, Inc.,DC=org',
        "back": '/DC=org/O=Tom & Jerry, Inc./CN=<b>"x"</b>',
        "eq": True,
        "ne": False,
    }
    err = (tmp_path / "out.json.err").read_text()
    assert "dn_to_openssl: malformed DN" in err and "trailing backslash" in err


# ---- the dn_equal test plugin (for select/reject) ----------------------------------------------------

def test_dn_equal_test_selects_stored_literals_in_any_form():
    wanted = "/DC=test/OU=Users/CN=O'Neil \"Bob\" <b&b> Smith"
    stored = ["CN=O'Neil \"Bob\" <b&b> Smith,OU=Users,DC=test", "CN=Other,OU=Users,DC=test", None, "/dteam",
              "garbage", 42]
    assert [v for v in stored if equal_test(v, wanted)] == [stored[0]]
    assert equal_test("cn=o'neil \\\"bob\\\" \\<b&b\\> smith, ou=users, dc=TEST", wanted)
    assert equal(stored[0], wanted) is True  # the filter reads PAP literals too


@pytest.mark.parametrize("reference", ["not a DN", None, 7, "CN=a\\"])
def test_dn_equal_test_refuses_a_malformed_reference(reference):
    with pytest.raises(AnsibleFilterError, match="dn_equal"):
        equal_test("/DC=org/CN=x", reference)
