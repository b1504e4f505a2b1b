# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The DN filters and the dn_equal test refuse a misspelt attribute type in a DN the user gives (issue 14 item 4)
and read DNs from a server (``stored=true``, the tested value of the dn_equal test) whatever their types."""

import pytest

from ansible.module_utils import _internal as module_utils_internal

WAS_CONTROLLER = module_utils_internal.is_controller

from ansible.errors import AnsibleFilterError  # noqa: E402 pylint: disable=wrong-import-position

from ansible_collections.gridsec.ops.plugins.filter.dn import FilterModule  # noqa: E402 pylint: disable=wrong-import-position
from ansible_collections.gridsec.ops.plugins.test.dn import TestModule as DnTests  # noqa: E402 pylint: disable=wrong-import-position

# see test_dn_filters.py: importing controller code flips a process-wide flag that module tests rely on
module_utils_internal.is_controller = WAS_CONTROLLER

FILTERS = FilterModule().filters()
EQUAL_TEST = DnTests().tests()["dn_equal"]
JOHN = "/DC=org/DC=example/CN=John Doe"
TYPO = "/DC=org/DC=example/CM=John Doe"
STORED_TYPO = "CM=John Doe,DC=example,DC=org"


@pytest.mark.parametrize("name,args", [
    ("dn_to_openssl", (TYPO,)),
    ("dn_to_openssl", (STORED_TYPO,)),
    ("dn_to_rfc2253", (TYPO,)),
    ("dn_to_rfc2253", (TYPO, "pap")),
    ("dn_equal", (TYPO, JOHN)),
    ("dn_equal", (JOHN, TYPO)),
    ("dn_equal", (STORED_TYPO, TYPO, True)),   # stored=true covers the first DN only
])
def test_filters_refuse_a_misspelt_type(name, args):
    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS[name](*args)
    assert name in str(caught.value)
    assert "unknown attribute type 'CM'" in str(caught.value) and "did you mean CN" in str(caught.value)


def test_filters_accept_lower_case_aliases_and_oids():
    assert FILTERS["dn_to_openssl"]("cn=John Doe,dc=example,dc=org") == "/dc=org/dc=example/cn=John Doe"
    assert FILTERS["dn_to_rfc2253"]("/DC=org/OID.2.5.4.3=x") == "OID.2.5.4.3=x,DC=org"
    assert FILTERS["dn_equal"](JOHN + "/E=a@example.org", JOHN + "/emailAddress=a@example.org") is True
    assert FILTERS["dn_equal"](JOHN, "/DC=org/DC=example/2.5.4.3=John Doe") is True


def test_stored_true_reads_a_dn_read_back_from_a_server():
    assert FILTERS["dn_to_openssl"](STORED_TYPO, stored=True) == TYPO
    assert FILTERS["dn_to_rfc2253"](STORED_TYPO, "pap", True) == STORED_TYPO
    assert FILTERS["dn_equal"](STORED_TYPO, JOHN, stored=True) is False


def test_dn_equal_test_checks_the_reference_but_not_the_tested_value():
    with pytest.raises(AnsibleFilterError, match="unknown attribute type 'CM'"):
        EQUAL_TEST(JOHN, TYPO)
    # a stored rule with a misspelt type is simply another DN: listed, compared, not an error
    assert EQUAL_TEST(STORED_TYPO, JOHN) is False
    assert [v for v in [STORED_TYPO, "CN=John Doe,DC=example,DC=org"] if EQUAL_TEST(v, JOHN)] == \
        ["CN=John Doe,DC=example,DC=org"]
