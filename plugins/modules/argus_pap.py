#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: argus_pap
short_description: Manage the remote PAPs, order, polling interval, cache and ACL of an Argus PAP
version_added: 0.1.0
description:
  - Manages what a site PAP or an NGI relay needs to pull policies from an upstream PAP through the PAP's own
    management API (the PAP rewrites C(pap_configuration.ini) and C(pap_authorization.ini) itself).
  - Remote PAPs (O(paps)), their order (O(order)), the polling interval (O(polling_interval)), cache refreshes
    (O(refresh_cache)) and access-control entries (O(acl), O(acl_exclusive)).
  - Everything is read and validated first; then the changes are applied in this order -- remote PAPs (C(addPap),
    C(updatePap), C(setEnabled), C(removePap), and C(refreshCache) for a remote PAP added or whose endpoint changed),
    order, polling interval, requested cache refreshes, ACL.
author:
  - gridsec.ops maintainers (@gridsec)
extends_documentation_fragment:
  - gridsec.ops._argus
  - gridsec.ops._tls
  - gridsec.ops._attributes
  - gridsec.ops._attributes.ACTIONGROUP_ARGUS
attributes:
  check_mode:
    support: full
    details:
      - Check mode reports the writes that would be issued. The outcome of O(refresh_cache) depends on the remote PAP,
        so in check mode a cache refresh is listed in RV(operations) but not counted as a change.
  diff_mode:
    support: full
    details:
      - The diff shows remote PAPs, order, polling interval and ACL before and after (and the SPL of refreshed caches).
  idempotent:
    support: full
    details:
      - A cache refresh reports a change only when the cached policy of that alias changed.
options:
  paps:
    description:
      - Remote PAPs to pull policies from.
    type: list
    elements: dict
    default: []
    suboptions:
      alias:
        description: Alias of the remote PAP on this PAP.
        type: str
        required: true
      hostname:
        description: Host of the remote PAP. Required to add a PAP.
        type: str
      port:
        description: Port of the remote PAP.
        type: int
        default: 8150
      path:
        description: Service path of the remote PAP.
        type: str
        default: /pap/services/
      protocol:
        description: Protocol used to reach the remote PAP.
        type: str
        default: https
      dn:
        description:
          - Host certificate DN of the remote PAP (slash form or RFC 2253). Required to add a PAP. Compared semantically.
        type: str
      enabled:
        description: Send this PAP's policies to this PAP's PDPs.
        type: bool
        default: true
      public:
        description:
          - Serve this PAP's policies to PAPs that pull from this one. V(true) on an NGI relay so the central bans
            propagate to sites; V(false) on a site.
        type: bool
        default: false
      state:
        description: Whether the remote PAP is configured. Local aliases cannot be added or removed here.
        type: str
        choices: [present, absent]
        default: present
  refresh:
    description:
      - Refresh the cache of a remote PAP right after adding it or changing its endpoint or DN.
    type: bool
    default: true
  order:
    description:
      - The complete PAP order (aliases, first evaluated first). An upstream PAP should come before V(default);
        a warning is given otherwise.
    type: list
    elements: str
  polling_interval:
    description:
      - Seconds between two pulls of the remote PAPs.
    type: int
  refresh_cache:
    description:
      - Remote aliases whose cache is refreshed now. Reported as changed only when the cached policy changed.
    type: list
    elements: str
    default: []
  acl:
    description:
      - Access-control entries of the PAP's global context. An entry with O(acl[].state=present) gets exactly the
        permissions listed.
    type: list
    elements: dict
    default: []
    suboptions:
      principal:
        description:
          - A DN (slash form or RFC 2253; compared semantically), a FQAN, or V(ANYONE).
        type: str
        required: true
      type:
        description:
          - Kind of principal. Inferred when omitted. V(anyone) for V(ANYONE), V(fqan) when the first path element
            has no C(=) (V(/dteam/Role=NULL)), V(dn) otherwise.
        type: str
        choices: [dn, fqan, anyone]
      permissions:
        description:
          - Permissions of the principal. V(ALL) stands for all five. Required with O(acl[].state=present).
        type: list
        elements: str
        choices: [POLICY_READ_LOCAL, POLICY_READ_REMOTE, POLICY_WRITE, CONFIGURATION_READ, CONFIGURATION_WRITE, ALL]
      state:
        description: Whether the entry exists.
        type: str
        choices: [present, absent]
        default: present
  acl_exclusive:
    description:
      - Remove every ACL entry not listed in O(acl).
    type: bool
    default: false
  force:
    description:
      - Allow an ACL change that takes CONFIGURATION_WRITE away from the identity this module connects with (the DN
        of O(client_cert) or of the user behind O(proxy_file), directly or through V(ANYONE)). Without it such a
        change is refused before anything is written, to avoid locking yourself out.
    type: bool
    default: false
notes:
  - Needs CONFIGURATION_READ and CONFIGURATION_WRITE; refreshing a cache also needs POLICY_READ_REMOTE and
    POLICY_WRITE.
seealso:
  - module: gridsec.ops.argus_policy
  - module: gridsec.ops.argus_policy_info
"""

EXAMPLES = r"""
- name: Site PAP pulls from the NGI relay, relay first, hourly
  gridsec.ops.argus_pap:
    pap_host: argus.site.example.org
    paps:
      - alias: ngi
        hostname: argus.ngi.example.org
        dn: /DC=org/DC=example/CN=argus.ngi.example.org
        enabled: true
        public: false
    order: [ngi, default]
    polling_interval: 3600
    acl:
      - principal: /DC=org/DC=example/CN=admin
        permissions: [ALL]
      - principal: ANYONE
        state: absent

- name: Pull the central bans now
  gridsec.ops.argus_pap:
    pap_host: argus.site.example.org
    refresh_cache: [ngi]
"""

RETURN = r"""
operations:
  description: The write operations issued (or that would be issued in check mode), in order; on failure, those completed.
  returned: always
  type: list
  elements: dict
  contains:
    service:
      description: SOAP service.
      type: str
    operation:
      description: Operation name.
      type: str
    args:
      description: Arguments.
      type: dict
paps:
  description: The PAPs after the run (predicted in check mode).
  returned: success
  type: list
  elements: dict
  sample: [{"alias": "default", "local": true, "enabled": true, "public": true}]
order:
  description: The PAP order after the run, when O(order) is given or PAPs were added or removed.
  returned: success
  type: list
  elements: str
polling_interval:
  description: The polling interval after the run, when O(polling_interval) is given.
  returned: success
  type: float
acl:
  description: The global ACL after the run, principal to sorted permissions, when O(acl) is given or O(acl_exclusive=true).
  returned: success
  type: dict
  sample: {"/DC=org/CN=admin": ["CONFIGURATION_READ", "CONFIGURATION_WRITE"]}
refreshed:
  description: For each alias refreshed, whether its cached policy changed.
  returned: success
  type: dict
  sample: {"central": true}
requests:
  description: Every operation sent to the PAP (reads included), in order.
  returned: always
  type: list
  elements: dict
error:
  description: Details of the failure.
  returned: failed
  type: dict
"""

from ansible_collections.gridsec.ops.plugins.module_utils._argus_module import (
    ArgusModule,
    caller_dn,
    pap_to_dict,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus_pap_plan import (
    AclPlanError,
    plan_acl,
    plan_paps,
    PapPlanError,
    remote_after_default,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus_policy_plan import to_spl, view_from_tree
from ansible_collections.gridsec.ops.plugins.module_utils._errors import GridsecError, RemoteError


def main():
    module = ArgusModule(
        argument_spec=dict(
            paps=dict(type="list", elements="dict", default=[], options=dict(
                alias=dict(type="str", required=True),
                hostname=dict(type="str"),
                port=dict(type="int", default=8150),
                path=dict(type="str", default="/pap/services/"),
                protocol=dict(type="str", default="https"),
                dn=dict(type="str"),
                enabled=dict(type="bool", default=True),
                public=dict(type="bool", default=False),
                state=dict(type="str", choices=["present", "absent"], default="present"),
            )),
            refresh=dict(type="bool", default=True),
            order=dict(type="list", elements="str"),
            polling_interval=dict(type="int"),
            refresh_cache=dict(type="list", elements="str", default=[]),
            acl=dict(type="list", elements="dict", default=[], options=dict(
                principal=dict(type="str", required=True),
                type=dict(type="str", choices=["dn", "fqan", "anyone"]),
                permissions=dict(type="list", elements="str", choices=[
                    "POLICY_READ_LOCAL", "POLICY_READ_REMOTE", "POLICY_WRITE", "CONFIGURATION_READ",
                    "CONFIGURATION_WRITE", "ALL"]),
                state=dict(type="str", choices=["present", "absent"], default="present"),
            )),
            acl_exclusive=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["polling_interval"] is not None and p["polling_interval"] <= 0:
        module.fail_json(msg="polling_interval must be a positive number of seconds", operations=[], requests=[])
    client = module.client()
    result = dict(changed=False)
    diff_before = {}
    diff_after = {}
    ops = []  # (description, callable)

    try:
        # ---- read and plan everything first ------------------------------------------------------
        current_paps = client.get_all_paps()
        pap_ops, paps_after, refresh_after = plan_paps(current_paps, p["paps"], p["refresh"])
        ops.extend(pap_ops)
        result["paps"] = [pap_to_dict(x) for x in paps_after]
        diff_before["paps"] = [pap_to_dict(x) for x in current_paps]
        diff_after["paps"] = result["paps"]
        known = [x.alias for x in paps_after]

        order_changes = p["order"] is not None or any(op[0]["operation"] in ("addPap", "removePap") for op in pap_ops)
        if order_changes:
            current_order = client.get_order()
            predicted = [a for a in current_order if a in known] + [a for a in known if a not in current_order]
            if p["order"] is not None:
                unknown = [a for a in p["order"] if a not in known]
                if unknown:
                    raise PapPlanError("order names unknown aliases: %s (known: %s)"
                                       % (", ".join(unknown), ", ".join(known)))
                if len(set(p["order"])) != len(p["order"]):
                    raise PapPlanError("order lists an alias twice")
                if list(p["order"]) != predicted:
                    ops.append(({"service": "PAPManagementService", "operation": "setOrder",
                                 "args": {"aliases": list(p["order"])}},
                                lambda c, order=list(p["order"]): c.set_order(order)))
                    predicted = list(p["order"])
            remote = dict((x.alias, not x.local) for x in paps_after)
            for upstream in remote_after_default(predicted, remote):
                module.warn("remote PAP %s comes after 'default' in the order: a local permit evaluated first would "
                            "hide its bans (ARGUS.md 9.4); put upstream PAPs first" % upstream)
            diff_before["order"] = list(current_order)
            diff_after["order"] = predicted
            result["order"] = predicted

        if p["polling_interval"] is not None:
            current_interval = float(client.get_polling_interval())
            wanted = float(p["polling_interval"])
            if abs(current_interval - wanted) > 1e-6:
                ops.append(({"service": "PAPManagementService", "operation": "setPollingInterval",
                             "args": {"seconds": wanted}},
                            lambda c, w=wanted: c.set_polling_interval(w)))
            diff_before["polling_interval"] = current_interval
            diff_after["polling_interval"] = wanted
            result["polling_interval"] = wanted

        for alias in p["refresh_cache"]:
            pap = next((x for x in paps_after if x.alias == alias), None)
            if pap is None:
                raise PapPlanError("refresh_cache: alias %r does not exist" % alias)
            if pap.local:
                raise PapPlanError("refresh_cache: alias %r is local, only remote PAPs have a cache" % alias)

        acl_ops = []
        if p["acl"] or p["acl_exclusive"]:
            current_acl = client.get_acl()
            acl_ops, acl_before, acl_after = plan_acl(current_acl, p["acl"], p["acl_exclusive"],
                                                      caller_dn(module), p["force"])
            for desc, principal, perms in acl_ops:
                if perms is None:
                    ops.append((desc, lambda c, pr=principal: c.remove_ace(pr)))
                else:
                    ops.append((desc, lambda c, pr=principal, pe=perms: c.add_ace(pr, pe)))
            diff_before["acl"] = acl_before
            diff_after["acl"] = acl_after
            result["acl"] = acl_after
    except (PapPlanError, AclPlanError) as err:
        module.fail_json(msg="%s: %s; nothing was changed" % (module.server_label, err), operations=[],
                         requests=module.client_operations())
    except GridsecError as err:
        module.fail_from(err, operations=[])

    # every planned write is a (description, function(client)) pair
    module.done_operations = []
    refreshed = {}
    try:
        for desc, action in ops:
            if not module.check_mode:
                action(client)
            module.done_operations.append(desc)
        refreshes = list(refresh_after) + [a for a in p["refresh_cache"] if a not in refresh_after]
        for alias in refreshes:
            desc = {"service": "PAPManagementService", "operation": "refreshCache", "args": {"alias": alias}}
            if module.check_mode:
                module.done_operations.append(desc)
                continue
            before_view = _try_tree(client, alias)
            ok = client.refresh_cache(alias)
            module.done_operations.append(desc)
            if ok is False:
                module.warn("refreshCache(%s) on %s returned false: the remote PAP could not be reached or returned "
                            "nothing; the old cache is kept" % (alias, module.server_label))
            after_view = _try_tree(client, alias)
            before_spl = to_spl(before_view) if before_view is not None else None
            after_spl = to_spl(after_view) if after_view is not None else None
            refreshed[alias] = before_spl != after_spl
            if alias in p["refresh_cache"]:
                diff_before.setdefault("caches", {})[alias] = before_spl
                diff_after.setdefault("caches", {})[alias] = after_spl
    except GridsecError as err:
        module.fail_from(err)

    writes = [d for d in module.done_operations if d["operation"] != "refreshCache"]
    result["changed"] = bool(writes) or any(refreshed.values())
    result["operations"] = module.done_operations
    result["refreshed"] = refreshed
    result["requests"] = module.client_operations()
    if module._diff:
        result["diff"] = dict(before=diff_before, after=diff_after)
    module.exit_json(**result)


def _try_tree(client, alias):
    try:
        return view_from_tree(client.get_tree(alias), alias)
    except RemoteError:
        return None


if __name__ == "__main__":
    main()
