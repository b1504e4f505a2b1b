# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
# PRIVATE doc fragment of the gridsec.ops collection: it may change at any time, without notice.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Pairs with RUCIO_SPEC in plugins/module_utils/_rucio/module.py
    DOCUMENTATION = r"""
options:
  rucio_url:
    description:
      - Base URL of the Rucio server REST API, for example V(https://rucio-server.example.org).
      - Must be an C(https://) URL (the password and the auth token travel in request headers); C(http://) is
        refused.
      - If not set, the environment variable E(RUCIO_URL) is used.
    type: str
    required: true
  rucio_auth_type:
    description:
      - How the module logs in. V(userpass) sends O(rucio_username) and O(rucio_password) to C(GET /auth/userpass);
        V(x509) presents the client certificate (O(client_cert)/O(client_key) or O(proxy_file)) to C(GET /auth/x509).
      - One login per task run; the token is kept in memory only and never returned or logged.
    type: str
    choices: [userpass, x509]
    default: userpass
  rucio_account:
    description:
      - Rucio account to act as (C(X-Rucio-Account)). It must be V(root) or have the account attribute C(admin)
        (Rucio's generic permission policy for changing an account's status).
      - If not set, the environment variable E(RUCIO_ACCOUNT) is used.
    type: str
    default: root
  rucio_username:
    description:
      - User name of the userpass identity of O(rucio_account). Environment variable E(RUCIO_USERNAME).
    type: str
  rucio_password:
    description:
      - Password of that identity. Environment variable E(RUCIO_PASSWORD). Never returned or logged.
    type: str
"""

    ACTIONGROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/gridsec.ops.rucio) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - gridsec.ops.rucio
"""
