# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Jinja2 filters for X.509 distinguished names: ``dn_to_rfc2253``, ``dn_to_openssl``, ``dn_equal``.

Documentation: ``dn_to_rfc2253.yml``, ``dn_to_openssl.yml`` and ``dn_equal.yml`` next to this file. The test
plugin of the same name (``plugins/test/dn.py``) is the one to use with ``select``/``reject``.

Input is read by ``parse_stored_dn``: either notation, and also the literal an Argus PAP stores for a slash-form
DN (unescaped ``"`` ``<`` ``>``), as ``argus_policy_info`` returns it in ``banned_subjects[].value``. Attribute
types are checked (known keyword or numeric OID, ``_dn.check_known_types``) unless ``stored=true`` says the input
was read back from a server, where a rule with a misspelt type must stay readable to be removed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, dn_equal, parse_stored_dn


def _parse(value, filter_name, stored=False):
    if value is None:
        raise AnsibleFilterError("%s: the input DN is missing (None)" % filter_name)
    if not isinstance(value, (str, bytes)):
        raise AnsibleFilterError("%s: expected a DN string, got %s" % (filter_name, type(value).__name__))
    try:
        return parse_stored_dn(to_text(value, errors="surrogate_or_strict"), strict=not stored)
    except DNError as err:
        raise AnsibleFilterError("%s: malformed DN: %s" % (filter_name, err.msg))


def dn_to_rfc2253(value, style="rfc4514", stored=False):
    """DN (either form) -> RFC 4514 comma form; ``style='pap'`` gives what an Argus PAP stores for it."""
    dn = _parse(value, "dn_to_rfc2253", stored)
    if style == "rfc4514":
        return dn.to_rfc2253()
    if style == "pap":
        return dn.to_pap_literal()
    raise AnsibleFilterError("dn_to_rfc2253: style must be 'rfc4514' or 'pap', got %r" % (style,))


def dn_to_openssl(value, stored=False):
    """DN (either form) -> OpenSSL slash form."""
    return _parse(value, "dn_to_openssl", stored).to_openssl()


def dn_equal_filter(value, other, stored=False):
    """True when both DNs name the same identity (semantic X.500 comparison); ``stored`` applies to ``value``
    only: the DN compared with is always checked."""
    return dn_equal(_parse(value, "dn_equal", stored), _parse(other, "dn_equal"), strict=False)


class FilterModule(object):
    """DN filters of gridsec.ops."""

    def filters(self):
        return {
            "dn_to_rfc2253": dn_to_rfc2253,
            "dn_to_openssl": dn_to_openssl,
            "dn_equal": dn_equal_filter,
        }
