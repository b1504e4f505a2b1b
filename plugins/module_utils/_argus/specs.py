# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The PAP connection options of every Argus module (``ARGUS_SPEC``, documented by the ``_argus`` doc fragment)
and the PAP's default port and path.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

No imports, on purpose: ``suspension_list_sync`` and ``suspension_status`` declare these options on every run,
with or without an Argus target, and as Ansible runs a module every module_util it imports is compiled anew (the
PAP client, SOAP and lxml stay out of runs that do not talk to a PAP).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

#: argus-pap's defaults (its ``Pap`` class: ``DEFAULT_PORT``, ``DEFAULT_SERVICES_ROOT_PATH``)
DEFAULT_PORT = 8150
DEFAULT_PATH = "/pap/services"

ARGUS_SPEC = dict(
    pap_host=dict(type="str", default="localhost"),
    pap_port=dict(type="int", default=DEFAULT_PORT),
    pap_path=dict(type="str", default=DEFAULT_PATH),
)
