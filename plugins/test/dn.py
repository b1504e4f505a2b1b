# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Jinja2 test for X.509 distinguished names: ``dn_equal`` (documentation: ``dn_equal.yml`` next to this file).

``value is gridsec.ops.dn_equal(other)``, and above all ``list | select('gridsec.ops.dn_equal', other)``: Jinja's
``select``/``reject`` take tests, not filters, so the filter of the same name cannot be used there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, parse_stored_dn


def dn_equal(value, other):
    """True when ``value`` and ``other`` name the same identity.

    ``other`` is the DN looked for: a malformed or missing one is an error, and so is an unknown attribute type
    (a typo such as ``CM=`` must not silently match nothing). ``value`` is one element of the list being
    filtered, often read back from a server: anything that is not a DN (an FQAN, None, a malformed literal
    stored by another tool) is simply not equal, and its attribute types are not checked.
    """
    if other is None or not isinstance(other, (str, bytes)):
        raise AnsibleFilterError("dn_equal: the DN to compare with must be a string, got %s" % type(other).__name__)
    try:
        wanted = parse_stored_dn(to_text(other, errors="surrogate_or_strict"), strict=True).canonical()
    except DNError as err:
        raise AnsibleFilterError("dn_equal: malformed DN to compare with: %s" % err.msg)
    if value is None or not isinstance(value, (str, bytes)):
        return False
    try:
        return parse_stored_dn(to_text(value, errors="surrogate_or_strict")).canonical() == wanted
    except (DNError, UnicodeError):
        return False


class TestModule(object):
    """DN tests of gridsec.ops."""

    def tests(self):
        return {"dn_equal": dn_equal}
