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
  - Everything is read and validated first, and nothing is written when a check fails (including a write the
    PAP's ACL would refuse to this credential, see the notes).
  - Then the changes are applied in this order. First the remote PAPs, in the order of O(paps), each with
    C(addPap), C(updatePap) (then C(setEnabled) when the enabled flag changes too), C(setEnabled) alone, or
    C(removePap). Then C(setOrder) (the O(order) given, or the previous order restored after a C(removePap), see
    O(order)), C(setPollingInterval), the ACL entries (C(addACE), C(removeACE), in the order of O(acl), then the
    removals of O(acl_exclusive=true)). Last the cache refreshes (C(refreshCache)), first the automatic ones
    (see O(refresh)), then those of O(refresh_cache).
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - Python library C(lxml) on the host that runs the module (every call to a PAP is a SOAP message)
  - Python library C(cryptography), optional (without it the DN of the credential is unknown, and the ACL
    lock-out guard and the prediction of permission refusals are skipped)
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
      - A PAP not configured yet is added with C(addPap); the fields its entry leaves out get the defaults given
        below. For a PAP that already exists, only the fields given are compared and changed (C(updatePap) sends
        the current value of every field left out), so O(paps[].enabled) alone does not reset O(paps[].public),
        the port or the path.
    type: list
    elements: dict
    default: []
    suboptions:
      alias:
        description: Alias of the remote PAP on this PAP.
        type: str
        required: true
      hostname:
        description: Host of the remote PAP. Required to add a PAP; left out, an existing PAP keeps its host.
        type: str
      port:
        description:
          - Port of the remote PAP. V(8150) when a PAP is added without it; left out, an existing PAP keeps its port.
        type: int
      path:
        description:
          - Service path of the remote PAP. V(/pap/services/) when a PAP is added without it; left out, an existing
            PAP keeps its path.
        type: str
      protocol:
        description:
          - Protocol used to reach the remote PAP. V(https) when a PAP is added without it; left out, an existing
            PAP keeps its protocol.
        type: str
      dn:
        description:
          - Host certificate DN of the remote PAP (slash form or RFC 2253). Required to add a PAP. Compared semantically.
          - Left out, an existing PAP keeps its DN.
        type: str
      enabled:
        description:
          - Send this PAP's policies to this PAP's PDPs. V(true) when a PAP is added without it; left out, an
            existing PAP keeps its flag.
        type: bool
      public:
        description:
          - Serve this PAP's policies to PAPs that pull from this one. V(true) on an NGI relay so the central bans
            propagate to sites; V(false) on a site.
          - V(false) when a PAP is added without it; left out, an existing PAP keeps its flag.
        type: bool
      state:
        description: Whether the remote PAP is configured. Local aliases cannot be added or removed here.
        type: str
        choices: [present, absent]
        default: present
  refresh:
    description:
      - Refresh the cache of a remote PAP right after adding it or changing its endpoint or DN.
      - Also refresh, on every run, a remote PAP listed in O(paps) whose cache holds no policy (for example
        because an earlier automatic refresh failed), so a rerun does not report success without the PAP ever
        having pulled. These refreshes are listed in RV(operations) but are a change only when the cache changed.
      - A failed automatic refresh is a warning, not a failure (the PAP change it follows is applied and the PAP
        also pulls at its next poll). A failed O(refresh_cache) fails the task.
    type: bool
    default: true
  order:
    description:
      - The complete PAP order (aliases, first evaluated first). An upstream PAP should come before V(default);
        a warning is given whenever a remote PAP ends up after V(default).
      - Every alias of the PAP must be listed (remote PAPs added by O(paps) in the same task included, those it
        removes excluded); otherwise the task fails before any write and names the missing aliases, unless
        O(order_complete=true). Aliases are case-sensitive.
      - Compared with the order the PAP has configured (C(getOrder)). When O(order) is left out and a
        C(removePap) changes the configured order (argus-pap drops the B(last) entry of the order when the
        removed alias is not in it), the previous order is read back and restored with C(setOrder).
    type: list
    elements: str
  order_complete:
    description:
      - Complete an O(order) that leaves out existing aliases by appending them (in their current order), with a
        warning, instead of failing.
    type: bool
    default: false
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
  - When the credential may read the PAP's ACL (CONFIGURATION_READ) and its DN is known, the permissions of every
    planned write are checked against the ACL first (DN entry and ANYONE; an FQAN entry that could grant them
    prevents the prediction). A write the PAP would refuse fails the task before anything is written, in check
    mode too, with the message the PAP's refusal gives.
  - The real PAP answers C(false) to an C(addPap) of an existing alias and to an C(updatePap), C(removePap) or
    C(refreshCache) of an unknown one; the module reports such a reply as a failure.
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

- name: On an NGI relay, re-export the central PAP (its other fields are kept as they are)
  gridsec.ops.argus_pap:
    pap_host: argus.ngi.example.org
    paps:
      - alias: centralbanning
        public: true
        enabled: true
    order: [centralbanning, default]

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
  description: The PAPs after the run (predicted in check mode), in the order the PAP listed them, new ones last.
  returned: success
  type: list
  elements: dict
  sample: [{"alias": "default", "local": true, "enabled": true, "public": true}]
order:
  description:
    - The order in which the PAP evaluates its aliases after the run (predicted in check mode), when O(order) or
      O(paps) is given.
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

from ansible_collections.gridsec.ops.plugins.module_utils._argus.acl import (
    AclPlanError,
    effective_order,
    remote_after_default,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.module import ArgusModule, pap_to_dict
from ansible_collections.gridsec.ops.plugins.module_utils._argus.pap_plan import (
    plan_acl,
    plan_order,
    plan_paps,
    PapPlanError,
    refusal_error,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_view import to_spl, view_from_tree
from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    ConfigError,
    GridsecError,
    RemoteError,
)

MGMT = "PAPManagementService"


ARGUMENT_SPEC = dict(
    paps=dict(type="list", elements="dict", default=[], options=dict(
        alias=dict(type="str", required=True),
        hostname=dict(type="str"),
        port=dict(type="int"),
        path=dict(type="str"),
        protocol=dict(type="str"),
        dn=dict(type="str"),
        enabled=dict(type="bool"),
        public=dict(type="bool"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )),
    refresh=dict(type="bool", default=True),
    order=dict(type="list", elements="str"),
    order_complete=dict(type="bool", default=False),
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
)


class PapRun(object):
    """What one run reads, plans and did: the planned writes (``ops``: ``(description, function(client))``
    pairs), the refreshes, the result and the diff."""

    def __init__(self):
        self.result = dict(changed=False)
        self.diff_before = {}
        self.diff_after = {}
        self.ops = []
        self.current_acl = None
        self.auto_refresh = []  # aliases refreshed automatically (a failure is a warning, not a failed task)
        self.refreshes = []
        self.skipped_refresh = set()
        self.refreshed = {}


def main():
    module = ArgusModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.run_guarded(run, module)


def run(module):
    """read and plan -> refuse what the PAP's ACL will refuse -> apply -> result."""
    check_options(module.params)
    client = module.client()
    module.done_operations = []  # a failure before the first write reports no operation
    state = PapRun()
    try:
        plan_run(module, client, state)
    except (PapPlanError, AclPlanError) as err:
        raise ConfigError("%s; nothing was changed" % err, server=module.server_label)
    apply_run(module, client, state)
    module.exit_json(**run_result(module, state))


def check_options(params):
    if params["polling_interval"] is not None and params["polling_interval"] <= 0:
        raise ConfigError("polling_interval must be a positive number of seconds")
    if params["order"] is not None and not params["order"]:
        raise ConfigError("order must list the aliases (an empty list would leave the order to the PAP); leave "
                          "order out to keep the current one")


def plan_run(module, client, state):
    """Read everything and plan every write before the first one is sent."""
    p = module.params
    current_paps = client.get_all_paps()
    pap_ops, paps_after, refresh_after = plan_paps(current_paps, p["paps"], p["refresh"])
    state.ops.extend(pap_ops)
    state.auto_refresh.extend(refresh_after)
    state.result["paps"] = [pap_to_dict(x) for x in paps_after]
    state.diff_before["paps"] = [pap_to_dict(x) for x in current_paps]
    state.diff_after["paps"] = state.result["paps"]
    if p["order"] is not None or p["paps"]:
        _plan_order(module, client, state, current_paps, paps_after, pap_ops)
    if p["polling_interval"] is not None:
        _plan_polling_interval(client, state, float(p["polling_interval"]))
    for alias in p["refresh_cache"]:
        pap = next((x for x in paps_after if x.alias == alias), None)
        if pap is None:
            raise PapPlanError("refresh_cache: alias %r does not exist" % alias)
        if pap.local:
            raise PapPlanError("refresh_cache: alias %r is local, only remote PAPs have a cache" % alias)
    if p["refresh"]:
        _refresh_empty_caches(client, state, p["paps"], current_paps, paps_after)
    if p["acl"] or p["acl_exclusive"]:
        _plan_acl(module, client, state)
    # ---- refuse, before any write, what the PAP's ACL will refuse --------------------------------
    state.refreshes = list(state.auto_refresh) + [a for a in p["refresh_cache"] if a not in state.auto_refresh]
    state.skipped_refresh = _check_permissions(module, client, state.current_acl, [d for d, _f in state.ops],
                                               state.refreshes, state.auto_refresh)


def _plan_order(module, client, state, current_paps, paps_after, pap_ops):
    p = module.params
    known = [x.alias for x in paps_after]
    removed = [d["args"]["alias"] for d, _f in pap_ops if d["operation"] == "removePap"]
    configured = client.get_order()
    order_op, order_before, order_after, notes = plan_order(
        configured, [x.alias for x in current_paps], known, removed, p["order"], p["order_complete"])
    for note in notes:
        module.warn(note)
    if order_op is not None:
        desc, aliases = order_op
        state.ops.append((desc, lambda c, d=desc, a=aliases, k=known: _set_order(module, c, d, a, k)))
    remote = dict((x.alias, not x.local) for x in paps_after)
    for upstream in remote_after_default(order_after, remote):
        module.warn("remote PAP %s comes after 'default' in the order of %s: a local rule evaluated first "
                    "would hide its bans (the PDP combines the PAPs' trees in this order, first-applicable); put upstream "
                    "PAPs first, e.g. order: [%s]"
                    % (upstream, module.server_label,
                       ", ".join([a for a in order_after if remote.get(a)] +
                                 [a for a in order_after if not remote.get(a)])))
    state.diff_before["order"] = order_before
    state.diff_after["order"] = order_after
    state.result["order"] = order_after


def _plan_polling_interval(client, state, wanted):
    current_interval = float(client.get_polling_interval())
    if abs(current_interval - wanted) > 1e-6:
        state.ops.append(({"service": MGMT, "operation": "setPollingInterval", "args": {"seconds": wanted}},
                          lambda c, w=wanted: c.set_polling_interval(w)))
    state.diff_before["polling_interval"] = current_interval
    state.diff_after["polling_interval"] = wanted
    state.result["polling_interval"] = wanted


def _refresh_empty_caches(client, state, items, current_paps, paps_after):
    """A remote PAP whose automatic refresh failed in an earlier run has an empty cache until the PAP's next
    poll: refresh it again while it is empty, so a rerun never reports ok without having pulled."""
    for item in items:
        alias = item["alias"]
        pap = next((x for x in paps_after if x.alias == alias), None)
        existed = any(alias == x.alias for x in current_paps)
        if item.get("state") == "absent" or pap is None or pap.local or alias in state.auto_refresh or not existed:
            continue
        if _cache_is_empty(client, alias):
            state.auto_refresh.append(alias)


def _plan_acl(module, client, state):
    p = module.params
    state.current_acl = client.get_acl()
    acl_ops, acl_before, acl_after = plan_acl(state.current_acl, p["acl"], p["acl_exclusive"], module.caller_dn(),
                                              p["force"])
    for desc, principal, perms in acl_ops:
        if perms is None:
            state.ops.append((desc, lambda c, pr=principal: c.remove_ace(pr)))
        else:
            state.ops.append((desc, lambda c, pr=principal, pe=perms: c.add_ace(pr, pe)))
    state.diff_before["acl"] = acl_before
    state.diff_after["acl"] = acl_after
    state.result["acl"] = acl_after


def apply_run(module, client, state):
    """Send the planned writes (every one is a ``(description, function(client))`` pair), then the refreshes."""
    for desc, action in state.ops:
        if module.check_mode:
            module.done_operations.append(desc)
        elif action(client) is not False:
            module.done_operations.append(desc)
    for alias in state.refreshes:
        if alias not in state.skipped_refresh:
            _refresh(module, client, state, alias)


def _refresh(module, client, state, alias):
    p = module.params
    desc = {"service": MGMT, "operation": "refreshCache", "args": {"alias": alias}}
    if module.check_mode:
        module.done_operations.append(desc)
        return
    before_view = _try_tree(client, alias)
    try:
        client.refresh_cache(alias)
    except GridsecError as err:
        if alias not in state.auto_refresh or alias in p["refresh_cache"]:
            raise
        module.warn("%s: the automatic refreshCache of remote PAP %s failed (%s). The PAP configuration "
                    "change was applied, but %s pulls its policies only at its next poll; until then its "
                    "cache of %s is empty and the bans of %s are not enforced here. Check that %s is "
                    "reachable and trusts this PAP; the next run of this task retries the refresh while the "
                    "cache is empty" % (module.server_label, alias, err, module.server_label, alias, alias,
                                        alias))
        state.refreshed[alias] = False
        return
    module.done_operations.append(desc)
    after_view = _try_tree(client, alias)
    before_spl = to_spl(before_view) if before_view is not None else None
    after_spl = to_spl(after_view) if after_view is not None else None
    state.refreshed[alias] = before_spl != after_spl
    if alias in p["refresh_cache"]:
        state.diff_before.setdefault("caches", {})[alias] = before_spl
        state.diff_after.setdefault("caches", {})[alias] = after_spl


def run_result(module, state):
    result = state.result
    writes = [d for d in module.done_operations if d["operation"] != "refreshCache"]
    result["changed"] = bool(writes) or any(state.refreshed.values())
    result["operations"] = module.done_operations
    result["refreshed"] = state.refreshed
    result["requests"] = module.client_operations()
    if module._diff:
        result["diff"] = dict(before=state.diff_before, after=state.diff_after)
    return result


def _set_order(module, client, desc, aliases, known):
    """Send a planned setOrder. A restore (after removePap) is sent only when the order read back evaluates
    differently: argus-pap drops the LAST ordering entry when the removed alias was not in the ordering. Returns
    False when nothing had to be sent."""
    if desc["args"].get("restore"):
        now = client.get_order()
        if effective_order(now, known) == effective_order(aliases, known):
            return False
        module.warn("removePap changed the PAP order of %s from %s to %s (argus-pap drops the last ordering entry "
                    "when the removed alias is not in the ordering); restored it with setOrder"
                    % (module.server_label, ", ".join(aliases) or "(empty)", ", ".join(now) or "(empty)"))
    client.set_order(aliases)
    return True


def _cache_is_empty(client, alias):
    """True when the cached copy of remote ``alias`` holds no policy; None when it cannot be read."""
    try:
        return not client.list_policies(alias)
    except RemoteError:
        return None


def _check_permissions(module, client, acl, writes, refreshes, auto_refresh):
    """Fail (check mode and real runs alike, before any write) when the global ACL shows that the PAP will
    refuse one of the planned operations to this credential, with the message the PAP's refusal would give.

    Needs the caller's DN and CONFIGURATION_READ to read the ACL; otherwise nothing is predicted. An automatic
    refresh that would be refused is skipped with a warning (as its failure would be). Returns the skipped aliases.
    """
    if not writes and not refreshes:
        return set()
    caller = module.caller_dn()
    if caller is None:
        return set()
    if acl is None:
        try:
            acl = client.get_acl()
        except (AuthorizationError, RemoteError):
            return set()
    skipped = set()
    planned = [(d["operation"], d) for d in writes] + [("refreshCache", {"args": {"alias": a}}) for a in refreshes]
    for operation, desc in planned:
        err = refusal_error(acl, caller, operation, module.server_label)
        if err is None:
            continue
        alias = desc["args"].get("alias")
        if operation == "refreshCache" and alias in auto_refresh and alias not in module.params["refresh_cache"]:
            module.warn("%s: the automatic refreshCache of %s is skipped: %s lacks %s on this PAP (its ACL), so the "
                        "PAP would refuse it; %s is pulled at the PAP's next poll"
                        % (module.server_label, alias, caller, " and ".join(err.details["missing"]), alias))
            skipped.add(alias)
            continue
        module.fail_predicted(err)
    return skipped


def _try_tree(client, alias):
    try:
        return view_from_tree(client.get_tree(alias), alias)
    except RemoteError:
        return None


if __name__ == "__main__":
    main()
