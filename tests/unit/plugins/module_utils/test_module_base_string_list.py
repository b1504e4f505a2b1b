# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""string_list: the one check of a raw option that takes a list of strings (DNs, FQANs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import string_list


def test_lists_pass_and_none_is_empty():
    assert string_list(["CN=John Doe,OU=Users,DC=org", "/DC=org/CN=x"], "subjects") == \
        ["CN=John Doe,OU=Users,DC=org", "/DC=org/CN=x"]
    assert string_list(("a",), "subjects") == ["a"]
    assert string_list([], "subjects") == []
    assert string_list(None, "subjects") == []


@pytest.mark.parametrize("value, expected", [
    ("CN=John Doe,OU=Users,DC=org", "subjects must be a list, not the string 'CN=John Doe,OU=Users,DC=org': a "
                                    "string with commas is ambiguous"),
    (b"CN=John Doe,DC=org", "subjects must be a list, not the string 'CN=John Doe,DC=org'"),
    ("/DC=org/CN=x", "Write subjects: ['/DC=org/CN=x']"),
    ("", "Write subjects: ['/DC=org/CN=example']"),
    (5, "subjects must be a list of strings, got int"),
    ({"dn": "x"}, "subjects must be a list of strings, got dict"),
    (["/DC=org/CN=x", None], "subjects[1] must be a string, got NoneType None"),
    ([["CN=a"]], "subjects[0] must be a string, got list"),
])
def test_everything_else_is_refused_saying_what_to_write(value, expected):
    with pytest.raises(ConfigError) as info:
        string_list(value, "subjects", "/DC=org/CN=example")
    assert expected in info.value.msg
    assert str(info.value) == info.value.msg  # no server or operation prefix: a check of the task
