# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
# PRIVATE doc fragment of the gridsec.ops collection: it may change at any time, without notice.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Pairs with PANDA_SPEC in plugins/module_utils/_panda/module.py
    DOCUMENTATION = r"""
options:
  panda_url:
    description:
      - Base URL of the PanDA server, for example V(https://pandaserver.cern.ch:25443).
      - It must start with V(https://) (or V(http://)); a URL without a scheme fails before anything is sent.
      - The HTTP API v1 is reached under C(<panda_url>/api/v1/). A trailing C(/api/v1) is accepted and ignored.
      - The legacy C(/server/panda) API was removed in panda-server 1.0.0 and is not used.
      - Required by every operation that talks to the PanDA API.
    type: str
  oidc_token:
    description:
      - "OIDC ID token sent as C(Authorization: Bearer <token>) instead of (or on top of) an X.509 credential."
      - If not set, the environment variable E(PANDA_AUTH_ID_TOKEN) is used.
      - The token is never returned or logged.
    type: str
  oidc_vo:
    description:
      - Virtual organisation sent in the C(Origin) header with O(oidc_token), for example V(atlas).
      - If not set, the environment variable E(PANDA_AUTH_VO) is used.
    type: str
  oidc_role:
    description:
      - "Role sent with O(oidc_vo) as C(Origin: <vo>:<role>), for example V(production) to act with the
        production role."
    type: str
"""
