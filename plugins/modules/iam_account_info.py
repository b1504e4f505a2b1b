#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: iam_account_info
short_description: Read INDIGO IAM accounts, their labels and token counts
version_added: 0.2.0
description:
  - Reads accounts of an INDIGO IAM instance selected by O(uuid), O(username), O(dn), O(issuer) with O(subject),
    or by a label (O(label_value), with O(label_name), default V(gridsec.suspended), that is the accounts
    suspended by M(gridsec.ops.iam_account) for one incident).
  - For each account returns whether it is active, its certificate DNs, linked OIDC identities, labels and, unless
    O(token_counts=false), how many unexpired access and refresh tokens IAM holds for it.
  - A selector matching several accounts returns all of them (RV(accounts)); none returns an empty list.
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - only the Python standard library on the host that runs the module (HTTPS to IAM's REST and SCIM APIs)
extends_documentation_fragment:
  - gridsec.ops._iam
  - gridsec.ops._tls
  - gridsec.ops._attributes
  - gridsec.ops._attributes.INFO_MODULE
  - gridsec.ops._iam.ACTIONGROUP_IAM
options:
  uuid:
    description: The account UUID (the C(sub) of the account's tokens).
    type: str
  username:
    description: The account's username (exact).
    type: str
  dn:
    description:
      - Subject DN of a linked certificate (slash form or RFC 2253), compared semantically (see
        M(gridsec.ops.iam_account)).
    type: str
  issuer:
    description: Token issuer (https URL), with O(subject); this IAM's own issuer selects by UUID.
    type: str
  subject:
    description: Token subject, with O(issuer); compared literally.
    type: str
  label_name:
    description: Label name searched with O(label_value) (IAM finds only labels without a prefix).
    type: str
    default: gridsec.suspended
  label_value:
    description: Select the accounts carrying the label O(label_name) with this value.
    type: str
  token_counts:
    description: Count each account's unexpired access and refresh tokens (two calls per account).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Who did we suspend for this incident?
  gridsec.ops.iam_account_info:
    iam_url: https://iam.example.org
    client_id: gridsec-admin
    client_secret: "{{ vault_iam_client_secret }}"
    label_value: GRIDSEC-2026-001
  register: suspended

- name: The account behind a token
  gridsec.ops.iam_account_info:
    issuer: https://iam.example.org
    subject: e1eb758b-b73c-4761-bfff-adc793da409c
"""

RETURN = r"""
accounts:
  description: The matching accounts.
  returned: success
  type: list
  elements: dict
  contains:
    uuid:
      description: "Account UUID (the C(sub) of its tokens)."
      type: str
    username:
      description: "Username."
      type: str
    active:
      description: "Whether the account is enabled."
      type: bool
    name:
      description: "Formatted name."
      type: str
    emails:
      description: "E-mail addresses."
      type: list
      elements: str
    certificate_subjects:
      description: "Subject DNs of the linked certificates, as IAM stores them."
      type: list
      elements: str
    certificates:
      description: "Linked certificates (subject, issuer)."
      type: list
      elements: dict
    oidc_ids:
      description: "Linked external OIDC identities (issuer, subject)."
      type: list
      elements: dict
    groups:
      description: "Group names."
      type: list
      elements: str
    labels:
      description: "Labels (prefix, name, value)."
      type: list
      elements: dict
    suspended_by_gridsec:
      description: "Value of the O(label_name) label (the incident), or null."
      type: str
    tokens:
      description: "Unexpired tokens IAM lists for the account (C(access), C(refresh)); absent with O(token_counts=false)."
      type: dict
selected_by:
  description: How the accounts were found.
  returned: success
  type: str
requests:
  description: Every call sent to IAM; never a secret.
  returned: always
  type: list
  elements: dict
error:
  description:
    - Why the task failed, in the same shape for every failure (also one found before any server was contacted).
    - C(type) (the error class, for example V(TLSError), V(AuthorizationError), V(ConfigError), V(MissingLibrary),
      V(ModuleFailure)), C(kind) (V(transport), V(tls), V(remote), V(authorization), V(not_found),
      V(write_refused), V(config), V(missing_library) or V(error)), C(msg), C(server) and C(operation) (null
      when no server operation failed), C(details) (dict of extra facts, never a secret).
  returned: failed
  type: dict
  sample: {"type": "AuthorizationError", "kind": "authorization", "msg": "HTTP 403 Forbidden: the server refused
    this credential", "server": "server.example.org:8443", "operation": "ban", "details": {"status": 403}}
"""

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._iam.client import READ_SCOPES, user_summary
from ansible_collections.gridsec.ops.plugins.module_utils._iam.module import IamModule, check_selector, find_accounts


def main():
    module = IamModule(
        argument_spec=dict(
            uuid=dict(type="str"),
            username=dict(type="str"),
            dn=dict(type="str"),
            issuer=dict(type="str"),
            subject=dict(type="str"),
            label_name=dict(type="str", default="gridsec.suspended"),
            label_value=dict(type="str"),
            token_counts=dict(type="bool", default=True),
        ),
        scopes=READ_SCOPES,
        mutually_exclusive=[("uuid", "username", "dn", "issuer", "label_value")],
        required_one_of=[("uuid", "username", "dn", "issuer", "label_value")],
        required_together=[("issuer", "subject")],
        supports_check_mode=True,
    )
    module.run_guarded(run, module)


def run(module):
    params = module.params
    problem = check_selector(params)
    if problem:
        raise ConfigError("invalid options: %s" % problem, operation="check options")
    client = module.client()
    if params.get("label_value") is not None:
        users = client.find_by_label(params["label_name"], params["label_value"])
        how = "find/bylabel %s=%s" % (params["label_name"], params["label_value"])
    else:
        users, how = find_accounts(client, params)
    accounts = []
    for user in users:
        account = user_summary(user)
        labels = client.get_labels(account["uuid"])
        account["labels"] = labels
        account["suspended_by_gridsec"] = None
        for label in labels:
            if isinstance(label, dict) and not label.get("prefix") and label.get("name") == params["label_name"]:
                account["suspended_by_gridsec"] = label.get("value")
        if params["token_counts"]:
            account["tokens"] = {kind: client.count_tokens(kind, account["username"])
                                 for kind in ("access", "refresh")}
        accounts.append(account)
    module.exit_json(changed=False, accounts=accounts, selected_by=how, requests=module.client_operations())


if __name__ == "__main__":
    main()
