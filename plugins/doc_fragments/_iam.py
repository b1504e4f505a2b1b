# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
# PRIVATE doc fragment of the gridsec.ops collection: it may change at any time, without notice.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Pairs with IAM_SPEC in plugins/module_utils/_iam/module.py
    DOCUMENTATION = r"""
notes:
  - "IAM authentication: either O(bearer_token), an access token with the scopes C(scim:read scim:write
    iam:admin.read iam:admin.write) used as it is, or O(client_id) and O(client_secret) of an admin client
    registered for those scopes, with which the module gets a token by the client-credentials grant once per
    run (HTTP Basic client authentication at C(<iam_url>/token))."
  - The grid credential environment (E(X509_USER_PROXY), ...) is not used towards IAM; O(client_cert) or
    O(proxy_file) are sent only when given.
  - The client secret and tokens are never returned, logged or shown in a diff.
options:
  iam_url:
    description:
      - Base URL of the INDIGO IAM instance, for example V(https://wlcg.cloud.cnaf.infn.it). It must start with
        V(https://).
      - If not set, the environment variable E(IAM_URL) is used.
    type: str
  client_id:
    description:
      - Client id of the admin client used for the client-credentials grant.
      - If not set, the environment variable E(IAM_CLIENT_ID) is used.
    type: str
  client_secret:
    description:
      - Secret of O(client_id).
      - If not set, the environment variable E(IAM_CLIENT_SECRET) is used.
    type: str
  bearer_token:
    description:
      - An IAM access token with the admin scopes, used instead of O(client_id)/O(client_secret).
      - If not set, the environment variable E(IAM_BEARER_TOKEN) is used.
    type: str
  iam_issuer:
    description:
      - IAM's issuer (C(iss) of its tokens) when it differs from O(iam_url), used when an account is selected by
        C(issuer) and C(subject). With or without the trailing C(/), both spellings are the same issuer.
    type: str
"""

    ACTIONGROUP_IAM = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/gridsec.ops.iam) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - gridsec.ops.iam
"""
