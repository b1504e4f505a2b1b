# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The PanDA option specs (``PANDA_SPEC``, ``PANDA_DB_SPEC``) as plain dicts.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Apart from ``_panda/module.py`` (which re-exports them) so that ``suspension_list_sync`` builds its argument
spec without importing the PanDA client and database backends (compiled again on every AnsiballZ run).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

PANDA_SPEC = dict(
    panda_url=dict(type="str"),
    oidc_token=dict(type="str", no_log=True, fallback=(env_fallback, ["PANDA_AUTH_ID_TOKEN"])),
    oidc_vo=dict(type="str", fallback=(env_fallback, ["PANDA_AUTH_VO"])),
    oidc_role=dict(type="str"),
)

PANDA_DB_SPEC = dict(
    db_backend=dict(type="str", default="postgresql", choices=["postgresql", "oracle"]),
    db_dsn=dict(type="str", no_log=True),
    db_host=dict(type="str"),
    db_port=dict(type="int"),
    db_name=dict(type="str"),
    db_user=dict(type="str"),
    db_password=dict(type="str", no_log=True),
    db_meta_schema=dict(type="str"),
    db_panda_schema=dict(type="str"),
    db_deft_schema=dict(type="str"),
)
