# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
# PRIVATE doc fragment of the gridsec.ops collection: it may change at any time, without notice.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Pairs with ARGUS_SPEC in plugins/module_utils/_argus/specs.py
    DOCUMENTATION = r"""
options:
  pap_host:
    description:
      - Host name (or IP address) of the Argus PAP, not a URL; an IPv6 address goes in brackets.
      - The PAP is reached at C(https://<pap_host>:<pap_port><pap_path>/<Service>); a value with a scheme, a port
        or a path fails validation before anything is sent.
    type: str
    default: localhost
  pap_port:
    description:
      - TCP port of the PAP SOAP services.
    type: int
    default: 8150
  pap_path:
    description:
      - Path under which the PAP serves its SOAP services.
    type: str
    default: /pap/services
"""
