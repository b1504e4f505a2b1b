#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: argus_policy_info
short_description: Read the policies, bans and PAPs of an Argus PAP
version_added: 0.1.0
description:
  - Reads the policy tree of one alias (O(alias)) or of every alias (O(all_aliases=true), local ones and the
    cached copies of remote PAPs) of an Argus PAP.
  - Returns the tree as structured data (resource, action, rules with effect and attributes, ids, versions,
    visibility) and as SPL text, the bans (plain deny rules on subject DNs and FQANs) and the PAP list.
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - Python library C(lxml) on the host that runs the module (every call to a PAP is a SOAP message)
extends_documentation_fragment:
  - gridsec.ops._argus
  - gridsec.ops._tls
  - gridsec.ops._attributes
  - gridsec.ops._attributes.INFO_MODULE
  - gridsec.ops._attributes.ACTIONGROUP_ARGUS
options:
  alias:
    description:
      - The alias to read. Ignored when O(all_aliases=true).
    type: str
    default: default
  all_aliases:
    description:
      - Read every alias returned by C(getAllPaps), in PAP order. An alias that cannot be read (for example a remote
        alias without POLICY_READ_REMOTE) is reported in RV(errors) and a warning instead of failing the task.
    type: bool
    default: false
notes:
  - Needs POLICY_READ_LOCAL (and POLICY_READ_REMOTE for cached remote aliases). C(getAllPaps) needs
    CONFIGURATION_READ; without it RV(paps) is empty, a warning is given, and O(all_aliases=true) fails.
seealso:
  - module: gridsec.ops.argus_policy
"""

EXAMPLES = r"""
- name: What does the site PAP ban?
  gridsec.ops.argus_policy_info:
    pap_host: argus.example.org
  register: pap

- name: Show the banned DNs
  ansible.builtin.debug:
    msg: "{{ pap.banned_subjects | map(attribute='normalized') | list }}"

- name: Everything, including the cached central policy
  gridsec.ops.argus_policy_info:
    pap_host: argus.example.org
    all_aliases: true
  register: everything
"""

RETURN = r"""
policies:
  description: The policy tree of each alias read, in PAP order.
  returned: success
  type: list
  elements: dict
  contains:
    alias:
      description: PAP alias.
      type: str
    local:
      description: Whether the alias is the PAP's own repository (V(false) for cached remote PAPs, V(null) when unknown).
      type: bool
    policy_sets:
      description: Resource PolicySets in evaluation order.
      type: list
      elements: dict
      contains:
        id:
          description: PolicySet id.
          type: str
        version:
          description: PolicySet version.
          type: str
        resource:
          description: Resource regular expression.
          type: str
        policies:
          description: Action Policies, each with C(id), C(version), C(action), C(public) and C(rules) (each rule with
            C(id), C(effect) and C(attributes), a list of C(id)/C(value) pairs).
          type: list
          elements: dict
    spl:
      description: The alias's policy in SPL.
      type: str
spl:
  description:
    - SPL of every alias read, each headed like C(pap-admin list-policies) does it, by a line with the alias,
      then in parentheses C(local) or the host and port of the remote PAP, then a colon.
  returned: success
  type: str
banned_subjects:
  description: Plain deny rules on subject DNs.
  returned: success
  type: list
  elements: dict
  contains:
    alias:
      description: PAP alias holding the rule.
      type: str
    resource:
      description: Resource of the rule's PolicySet.
      type: str
    action:
      description: Action of the rule's Policy.
      type: str
    public:
      description: Whether the rule's policy is public.
      type: bool
    policy_id:
      description: Id of the action Policy.
      type: str
    rule_id:
      description: Id of the rule.
      type: str
    value:
      description: Literal stored by the PAP.
      type: str
    normalized:
      description: DN in OpenSSL slash form (the literal when it does not parse).
      type: str
banned_fqans:
  description: Plain deny rules on FQANs, with the same keys as RV(banned_subjects).
  returned: success
  type: list
  elements: dict
paps:
  description: The PAPs configured on this PAP (C(getAllPaps)), in order.
  returned: success
  type: list
  elements: dict
  contains:
    alias:
      description: Alias.
      type: str
    local:
      description: Local repository or remote PAP.
      type: bool
    enabled:
      description: Sent to this PAP's PDPs.
      type: bool
    public:
      description: Served to PAPs that pull from this one.
      type: bool
    hostname:
      description: Host of a remote PAP.
      type: str
    port:
      description: Port of a remote PAP.
      type: int
    path:
      description: Service path of a remote PAP.
      type: str
    protocol:
      description: Protocol of a remote PAP.
      type: str
    dn:
      description: Host DN of a remote PAP.
      type: str
errors:
  description: Aliases that could not be read with O(all_aliases=true), with the error message.
  returned: success
  type: dict
  sample: {"central": "central.example.org:8150 listPolicySets: authorization denied"}
operations:
  description: Always empty (this module writes nothing).
  returned: always
  type: list
  elements: dict
requests:
  description: Every operation sent to the PAP, in order.
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

from ansible_collections.gridsec.ops.plugins.module_utils._argus.module import ArgusModule, pap_to_dict
from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_view import (
    banned_values,
    to_spl,
    view_from_tree,
    view_to_dict,
)
from ansible_collections.gridsec.ops.plugins.module_utils._errors import AuthorizationError, GridsecError


def main():
    module = ArgusModule(
        argument_spec=dict(
            alias=dict(type="str", default="default"),
            all_aliases=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    client = module.client(read_only=True)  # reads only: _argus.client's writes are not compiled
    paps = []
    try:
        try:
            paps = client.get_all_paps()
        except AuthorizationError as err:
            if module.params["all_aliases"]:
                raise
            module.warn("cannot list the PAPs of %s: %s" % (module.server_label, err))
        local_of = dict((pap.alias, bool(pap.local)) for pap in paps)
        if module.params["all_aliases"]:
            aliases = [pap.alias for pap in paps]
        else:
            aliases = [module.params["alias"]]
        policies = []
        errors = {}
        subjects = []
        fqans = []
        spl_parts = []
        for alias in aliases:
            try:
                view = view_from_tree(client.get_tree(alias), alias)
            except GridsecError as err:
                if not module.params["all_aliases"]:
                    raise
                errors[alias] = str(err)
                module.warn("alias %s not read: %s" % (alias, err))
                continue
            spl = to_spl(view)
            policies.append(dict(alias=alias, local=local_of.get(alias), policy_sets=view_to_dict(view), spl=spl))
            subjects.extend(banned_values(view, "subject"))
            fqans.extend(banned_values(view, "fqan"))
            pap = next((x for x in paps if x.alias == alias), None)
            if pap is None or pap.local:
                header = "%s (local):" % alias
            else:
                header = "%s (%s:%s):" % (alias, pap.hostname, pap.port)
            spl_parts.append(header + "\n\n" + (spl or "No policies has been found.\n"))
    except GridsecError as err:
        module.fail_from(err, operations=[])
    module.exit_json(
        changed=False,
        policies=policies,
        spl="\n".join(spl_parts),
        banned_subjects=subjects,
        banned_fqans=fqans,
        paps=[pap_to_dict(pap) for pap in paps],
        errors=errors,
        operations=[],
        requests=module.client_operations(),
    )


if __name__ == "__main__":
    main()
