#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: argus_policy
short_description: Ban or unban DNs and FQANs on an Argus PAP, or manage its whole local policy
version_added: 0.1.0
description:
  - Ensures that X.509 subject DNs (O(subjects)) and VOMS FQANs (O(fqans)) are banned (O(state=present)) or not
    (O(state=absent)) in one local alias of an Argus PAP, and optionally that general rules (O(rules)) exist or not.
  - With O(exclusive=true) the alias's local policy becomes exactly the given bans and rules, in that order.
  - The module always reads the alias's policy tree first and decides what to do, and whether anything changed,
    from a semantic comparison of that tree with the request (DNs are compared with RFC 4518-like rules, so
    V(/DC=org/CN=Jane Doe), V(CN=Jane Doe,DC=org) and V(CN=Jane Doe, DC=org) are the same identity). The reply of
    the PAP to C(ban) or C(unban) is never used to decide C(changed).
  - Bans are sent with the PAP's high-level C(ban) operation, which puts the new deny rule first. DNs are sent as
    the RFC 2253 string without spaces that the PAP itself stores for an OpenSSL slash-form DN, whatever form was
    given.
  - Unbans use the high-level C(unban) operation with the literal the PAP stored, but only when that operation
    would remove exactly the intended plain (single-attribute) deny rule. Otherwise (a compound rule with the same
    value comes first in that policy, the rule lives in a second policy with the same action, ...) the rule is
    removed with a version-locked C(updatePolicy), or with C(removeObjectByIdAndReferences) when the policy would
    become empty. This repeats until no plain deny rule for the value remains (duplicates made by other tools
    included). Compound rules that merely contain the value are never removed by an unban; they are reported in a
    warning.
  - Every input is validated (each DN parses, no empty value, the alias exists and is local) before the first write.
    If a write fails, the failure result lists in RV(operations) exactly the writes that had succeeded.
  - "Calls made: the tree (C(listPolicySets), C(listPolicies)); when something is to be written, the alias check
    (C(getAllPaps)) and the writes; then a check of what the PAP holds. After C(ban) calls only, that check is one
    C(getPolicy) of the policy the C(ban) replies name (it gives the ids of the new rules and shows another
    writer's rules); after other writes, or when a reply or that policy is not what was planned, the whole tree
    is read again. A C(null) reply to C(ban) (the PAP wrote nothing) fails the task. A run with nothing to write
    reads the tree only."
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - Python library C(lxml) on the host that runs the module (every call to a PAP is a SOAP message)
  - Python library C(cryptography), optional (it reads the DN of the credential; without it the check of the
    credential's write permissions against the PAP's ACL in check mode is skipped)
extends_documentation_fragment:
  - gridsec.ops._argus
  - gridsec.ops._tls
  - gridsec.ops._attributes
  - gridsec.ops._attributes.ACTIONGROUP_ARGUS
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the PAP, simulates each write with the PAP's own rules and reports the writes it would
        issue in RV(operations) and the predicted policy in the diff.
  diff_mode:
    support: full
    details:
      - The diff shows the alias's policy before and after as SPL text (like C(pap-admin list-policies)).
  idempotent:
    support: full
options:
  alias:
    description:
      - The local PAP alias whose policy is managed. Remote (cached) aliases are refused before anything is written.
    type: str
    default: default
  subjects:
    description:
      - Subject DNs to ban or unban, in OpenSSL slash form (V(/DC=org/CN=Jane Doe)) or RFC 2253 (V(CN=Jane Doe,DC=org)).
      - Must be a YAML list, also for a single DN. A plain string is refused (with the list to write instead), because
        a list option would split it on its commas and an RFC 2253 DN would turn into several one-RDN "DNs"; an item
        that is not a string (a number, a mapping) is refused too. Left out or V([]) means no subjects.
      - A DN with a single RDN (V(CN=John Doe)) is refused unless O(allow_single_rdn=true).
      - Attribute types must be known keywords (V(CN), V(O), V(OU), V(DC), V(C), V(L), V(ST), V(UID),
        V(emailAddress)/V(E), V(serialNumber), ... in any case) or numeric OIDs (V(2.5.4.3), V(OID.2.5.4.3)). A
        DN with any other type (a typo such as V(/DC=org/CM=John Doe)) is refused before anything is written, with
        a message naming the type and the closest keyword, since a ban on it would never match anyone.
      - With O(state=absent) such a DN is accepted only when the PAP holds a plain deny rule for exactly that DN (a
        rule stored from a misspelt DN by an older version or another tool, as M(gridsec.ops.argus_policy_info)
        lists it); that rule is then removed, with a warning.
      - Trailing legacy proxy components (V(/CN=proxy), V(/CN=limited proxy)) are removed with a warning; numeric
        RFC 3820 proxy CNs only with O(strip_proxy_rdns=all). See O(strip_proxy_rdns) and RV(stripped_rdns).
    type: raw
  fqans:
    description:
      - VOMS FQANs to ban or unban, for example V(/dteam/Role=pilot). Compared literally.
      - A list of strings, as for O(subjects) (a plain string is refused). Left out or V([]) means no FQANs.
    type: raw
  allow_empty:
    description:
      - With O(state=present), a task with nothing to ban (O(subjects), O(fqans) and O(rules) all empty or left
        out) fails unless this is V(true), because in an emergency ban an empty list is almost always a
        templating mistake. One empty list next to a non-empty one (only FQANs banned, say) is fine.
    type: bool
    default: false
  bulk_threshold:
    description:
      - When at least this many bans of one task go into the same policy, they are written with one version-locked
        C(updatePolicy) of that policy instead of one C(ban) call each. The new deny rules are put first, in
        exactly the order and place that as many C(ban) calls would give them, and a value the policy already
        denies is not added again (the semantics of C(ban)).
      - When the policy does not exist yet, one C(ban) creates it first and the module re-reads it before the
        update. If another client changes the policy in between, the PAP refuses the update (nothing is written);
        the module re-reads, re-plans and retries up to 3 times.
      - V(0) always uses one C(ban) per value.
    type: int
    default: 10
  allow_single_rdn:
    description:
      - Accept subject DNs (in O(subjects) and in V(subject) attributes of O(rules)) that have a single RDN.
    type: bool
    default: false
  strip_proxy_rdns:
    description:
      - Which trailing proxy CNs to remove from O(subjects) before banning or unbanning. The PEP authorises the
        end-entity DN of a proxy, so a ban of a proxy DN would never match.
      - V(legacy) removes V(CN=proxy) and V(CN=limited proxy) only (their text says they are proxy components).
      - V(all) also removes purely numeric CNs (V(CN=1234567890), RFC 3820 proxies, as in the PanDA
        C(prodUserID)). Use it only when the input is known to be a proxy subject, because an end-entity DN may
        itself end with a number (V(/DC=org/CN=Eve Mallory/CN=777)), and with V(all) that person would not be
        banned but V(/DC=org/CN=Eve Mallory).
      - V(none) uses every DN exactly as given.
      - Each removal is reported in a warning and in RV(stripped_rdns).
      - The booleans of earlier versions are still accepted, V(true) meaning V(all) and V(false) meaning V(none).
      - 'Choices: V(legacy), V(all), V(none) (or V(true)/V(false)).'
    type: raw
    default: legacy
  state:
    description:
      - V(present) makes sure every value in O(subjects) and O(fqans) is denied by a plain deny rule (and every rule in
        O(rules) exists); V(absent) removes every plain deny rule for them (and every rule in O(rules)).
    type: str
    choices: [present, absent]
    default: present
  resource:
    description:
      - Resource (regular expression of the resource PolicySet target) of the bans.
    type: str
    default: ".*"
  action:
    description:
      - Action (regular expression of the action Policy target) of the bans.
    type: str
    default: ".*"
  public:
    description:
      - Visibility of the bans added. Public policies are served to PAPs that pull from this one; private ones only
        reach this PAP's own PDPs.
      - A ban that exists only with the other visibility does not satisfy O(state=present); a ban with the requested
        visibility is added and a warning is given. O(state=absent) removes bans of both visibilities.
    type: bool
    default: true
  rules:
    description:
      - General rules, for sites that manage their local policy declaratively.
      - With O(state=present) a missing deny rule is inserted first in the first policy with the same resource,
        action and visibility (a missing permit rule last); when no such policy exists a new one is added (first for
        deny, last for permit). With O(state=absent) every rule with the same effect and attributes under that
        resource and action is removed.
    type: list
    elements: dict
    default: []
    suboptions:
      effect:
        description: Effect of the rule.
        type: str
        choices: [deny, permit]
        default: deny
      attributes:
        description:
          - 'SPL attributes of the rule, ANDed, for example C({"subject": "/DC=org/CN=Jane Doe", "vo": "dteam"}).'
          - A list value adds the attribute several times.
          - 'Allowed names (the attribute ids of the PAP, C(attribute-mappings.ini)): V(subject), V(subject-issuer),
            V(x509-subject-issuer), V(x509-authn-profile), V(vo), V(fqan), V(pfqan), V(pilot-classifier),
            V(emi-subject-issuer), V(emi-x509-subject-issuer), V(emi-x509-authn-profile), V(emi-vo), V(emi-group),
            V(emi-primary-group), V(emi-role), V(emi-primary-role), V(emi-resource-owner), V(oidc-issuer),
            V(oidc-organisation), V(oidc-subject), V(oidc-group), V(oidc-scope), V(oidc-user-id),
            V(oidc-client-id). Any other name (a typo, a different case) is refused before anything is sent.'
          - DN-valued attributes (V(subject), V(subject-issuer), V(x509-subject-issuer)) are validated and stored as
            RFC 2253 without spaces.
        type: dict
        required: true
      resource:
        description: Resource of the rule; defaults to O(resource).
        type: str
      action:
        description: Action of the rule; defaults to O(action).
        type: str
      public:
        description:
          - Visibility of the rule's policy; defaults to O(public).
          - The PAP decides visibility from the policy id alone (private only for ids C(private_...)); a new
            private policy is created with the id prefix C(private_) so that the PAP really keeps it private.
        type: bool
  exclusive:
    description:
      - Make the alias's local policy exactly the bans in O(subjects) and O(fqans) (first, as deny rules under
        O(resource) and O(action)) followed by O(rules), in order. Requires O(state=present).
      - When a change is needed the new policy is added at the top of the alias first (C(addPolicySet) then
        C(addPolicies) for each resource), and only then are the old policies and policy sets removed
        (C(removeObjectByIdAndReferences)), so the alias is never without a policy. Nothing is written when the
        policy already matches.
      - An empty list of bans and rules is refused, so this option cannot empty the policy.
    type: bool
    default: false
notes:
  - Needs POLICY_WRITE and POLICY_READ_LOCAL on the PAP for changes, and CONFIGURATION_READ to check the alias
    before a write (without it only alias V(default) is accepted, with a warning).
  - The PAP compares values literally; bans stored by other tools in another DN form are still found and
    removed, using the literal the PAP stored.
seealso:
  - module: gridsec.ops.argus_policy_info
  - module: gridsec.ops.argus_pap
"""

EXAMPLES = r"""
- name: Ban a compromised identity and a VOMS group everywhere on the site PAP
  gridsec.ops.argus_policy:
    pap_host: argus.example.org
    client_cert: /etc/grid-security/hostcert.pem
    client_key: /etc/grid-security/hostkey.pem
    subjects:
      - /DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdoe/CN=123456/CN=John Doe
    fqans:
      - /dteam/Role=compromised
    state: present

- name: Lift the ban (also removes copies made by other tools in another DN form)
  gridsec.ops.argus_policy:
    pap_host: argus.example.org
    subjects:
      - CN=John Doe,CN=123456,CN=jdoe,OU=Users,OU=Organic Units,DC=cern,DC=ch
    state: absent

- name: Ban one DN given in a variable (a list even for one DN; a bare string is refused)
  gridsec.ops.argus_policy:
    pap_host: argus.example.org
    subjects:
      - "{{ compromised_dn }}"

- name: Ban the submitter of a PanDA job (prodUserID is a proxy subject, so its numeric proxy CNs go too)
  gridsec.ops.argus_policy:
    pap_host: argus.example.org
    subjects:
      - "{{ job.jobs[0].prodUserID }}"
    strip_proxy_rdns: all
  register: ban

- name: Show what was stripped
  ansible.builtin.debug:
    msg: "{{ ban.stripped_rdns }}"

- name: Is the DN banned? (semantic comparison with the gridsec.ops.dn_equal test)
  ansible.builtin.debug:
    msg: "{{ result.banned_subjects | map(attribute='value') | select('gridsec.ops.dn_equal', compromised_dn) | list | length > 0 }}"

- name: Manage the whole local policy declaratively
  gridsec.ops.argus_policy:
    pap_host: argus.example.org
    exclusive: true
    subjects:
      - /DC=org/DC=example/CN=Banned User
    rules:
      - effect: permit
        attributes:
          vo: dteam
        action: ".*"
        resource: ".*"
"""

RETURN = r"""
operations:
  description:
    - The write operations issued (or, in check mode, that would be issued), in order.
    - Objects created during the run are named C((new policy set N)) in check mode.
    - On failure, the writes that completed before the failing one.
  returned: always
  type: list
  elements: dict
  contains:
    service:
      description: SOAP service of the operation.
      type: str
      sample: HighLevelPolicyManagementService
    operation:
      description: Operation name.
      type: str
      sample: ban
    args:
      description: Arguments of the operation (policies summarised as their rules).
      type: dict
      sample: {"alias": "default", "id": "subject", "value": "CN=John Doe,DC=org", "resource": ".*", "action": ".*",
               "public": true}
banned_subjects:
  description:
    - Plain deny rules on subject DNs in the alias after the run (predicted in check mode).
    - After C(ban) calls only, the tree read before them with the written policy as read back from the PAP.
  returned: success
  type: list
  elements: dict
  contains:
    alias:
      description: PAP alias.
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
      description: Id of the action Policy holding the rule.
      type: str
    rule_id:
      description: Id of the rule.
      type: str
    value:
      description: The literal the PAP stores.
      type: str
    normalized:
      description:
        - The DN in OpenSSL slash form whenever the stored literal parses as a DN (also a literal with unescaped
          C(") C(<) C(>) as the PAP stores them); the stored literal when it does not. For FQANs the value.
        - The stored literal itself is always in RV(banned_subjects[].value).
      type: str
banned_fqans:
  description: Plain deny rules on FQANs in the alias after the run, with the same keys as RV(banned_subjects).
  returned: success
  type: list
  elements: dict
stripped_rdns:
  description:
    - One entry for each subject of O(subjects) from which proxy components were removed (see
      O(strip_proxy_rdns)); an empty list when nothing was removed.
  returned: success
  type: list
  elements: dict
  sample: [{"input": "/DC=org/CN=Jane Doe/CN=proxy", "subject": "/DC=org/CN=Jane Doe", "stripped": ["CN=proxy"]}]
  contains:
    input:
      description: The subject as given.
      type: str
    subject:
      description: The DN used instead, in OpenSSL slash form.
      type: str
    stripped:
      description: The RDNs removed (e.g. C(CN=proxy)), in certificate order.
      type: list
      elements: str
requests:
  description: Every operation sent to the PAP in this run (reads included), in order.
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

from ansible_collections.gridsec.ops.plugins.module_utils._argus.module import ArgusModule
from ansible_collections.gridsec.ops.plugins.module_utils._argus.plan_exec import execute_plan
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import gc_paused, string_list
from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_input import make_rule_specs, make_targets
from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_plan import (
    adopt_policy,
    ban_only,
    ban_reply_policy,
    plan,
    removable_only_if_stored,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_view import (
    PlanError,
    banned_values,
    to_spl,
    view_from_tree,
    views_equivalent,
)
from ansible_collections.gridsec.ops.plugins.module_utils._dn_proxy import strip_mode
from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    ConfigError,
    GridsecError,
    NotFoundError,
    RemoteError,
    WriteRefusedError,
)


def check_list_input(params):
    """Check ``subjects`` and ``fqans`` (``string_list``: a string is refused, not split at its commas) and
    refuse an empty ban list; ``params`` gets the checked lists. Raises ``ConfigError`` or ``PlanError``."""
    given = []
    for name, example in (("subjects", "/DC=org/DC=example/CN=John Doe"), ("fqans", "/dteam/Role=pilot")):
        if params[name] is not None:
            given.append(name)
        params[name] = string_list(params[name], name, example)
    if params["rules"]:
        given.append("rules")
    if params["state"] != "present" or params["allow_empty"] or params["exclusive"]:
        return
    if not (params["subjects"] or params["fqans"] or params["rules"]):
        raise PlanError("nothing to ban: %s with state=present; an empty ban list is almost always a templating "
                        "mistake (set allow_empty=true if it is intended)"
                        % ("%s empty" % " and ".join(given) if given else "no subjects, fqans or rules given"))


def read_strip_mode(value):
    """``strip_proxy_rdns`` as legacy/all/none (true/false of earlier versions read as all/none; null is the
    default, legacy)."""
    if value is None:
        return "legacy"
    try:
        return strip_mode(value)
    except ValueError as err:
        raise PlanError("strip_proxy_rdns: %s" % err)


BULK_RETRIES = 3


def run_plan(module, client, alias, the_plan, replan):
    """Send ``the_plan``; returns the plan finally executed.

    A plan with ``split_at`` sends its first ops (the ban that creates the policy), then re-reads the alias and
    re-plans, so that the bulk ``updatePolicy`` is locked on the version the PAP really has. A refused bulk
    update (``WriteRefusedError``: another writer changed the policy in between; the PAP wrote nothing) is
    re-read, re-planned and retried up to ``BULK_RETRIES`` times. Every write that succeeded is in
    ``module.done_operations``.
    """
    retries = 0
    for _round in range(2 * BULK_RETRIES + 2):
        if the_plan.split_at:
            execute_plan(module, alias, the_plan.ops[:the_plan.split_at], strict_ban=True)
            the_plan = replan(view_from_tree(client.get_tree(alias), alias))
            continue
        try:
            execute_plan(module, alias, the_plan.ops, strict_ban=True)
            return the_plan
        except WriteRefusedError:
            if not the_plan.bulk or retries >= BULK_RETRIES:
                raise
            retries += 1
            module.warn("the bulk updatePolicy on %s alias %s was refused (the policy changed meanwhile); re-read "
                        "and retried (%d of %d)" % (module.server_label, alias, retries, BULK_RETRIES))
            the_plan = replan(view_from_tree(client.get_tree(alias), alias))
    raise WriteRefusedError("the policy of alias %s kept changing while this task wrote to it; gave up after %d "
                            "attempts" % (alias, retries + 1), server=module.server_label, operation="updatePolicy")


def read_alias(module, client, alias):
    """The tree of ``alias`` (read before planning).

    The alias check (getAllPaps) is made only before a write (see run_module): a read that succeeds shows that
    the alias exists. When the read fails with a fault, the check tells an unknown or misspelt alias apart.
    """
    try:
        return client.get_tree(alias)
    except RemoteError as err:
        if isinstance(err, AuthorizationError):
            raise
        try:
            module.require_alias(alias, local=False)
        except ConfigError:
            raise
        except GridsecError:
            pass  # the PAP list cannot be read either: report the failed read itself
        raise err


def confirmed_after(client, alias, the_plan, replies):
    """The alias after a ``ban_only`` plan, or None when only a read of the whole tree can tell.

    Each ``ban`` reply names the policy it wrote the deny rule to (a ``null`` reply already failed the run), so
    a re-read of the whole tree (two calls) would only confirm what the replies say. What they do not say is
    the id the PAP gave each new rule (reported in banned_subjects) and whether someone else wrote to that policy
    at the same time; one getPolicy of that policy tells both. Changes by others elsewhere in the alias are not
    looked for (no read can exclude a change made just after it).
    """
    policy_id = ban_reply_policy(the_plan, replies)
    if policy_id is None:
        return None
    try:
        policy = client.get_policy(alias, policy_id)
    except NotFoundError:
        return None  # removed since: only the whole tree can tell what the alias holds now
    after = the_plan.after
    if not adopt_policy(after, policy):
        return None
    return after


def main():
    with gc_paused():  # tens of thousands of parsed DNs and rules: see gc_paused
        run_module()


ARGUMENT_SPEC = dict(
    alias=dict(type="str", default="default"),
    subjects=dict(type="raw"),
    fqans=dict(type="raw"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    resource=dict(type="str", default=".*"),
    action=dict(type="str", default=".*"),
    public=dict(type="bool", default=True),
    rules=dict(type="list", elements="dict", default=[], options=dict(
        effect=dict(type="str", choices=["deny", "permit"], default="deny"),
        attributes=dict(type="dict", required=True),
        resource=dict(type="str"),
        action=dict(type="str"),
        public=dict(type="bool"),
    )),
    exclusive=dict(type="bool", default=False),
    allow_empty=dict(type="bool", default=False),
    bulk_threshold=dict(type="int", default=10),
    allow_single_rdn=dict(type="bool", default=False),
    strip_proxy_rdns=dict(type="raw", default="legacy"),
)


class PolicyRequest(object):
    """What the task asks for, checked before anything is sent: the targets, the rule specs, the warnings and the
    proxy RDNs stripped on the way."""

    def __init__(self, module, warnings, stripped_rdns):
        p = module.params
        self.alias = p["alias"]
        self.warnings = warnings
        self.stripped_rdns = stripped_rdns
        check_list_input(p)
        self.targets = make_targets(p["subjects"], p["fqans"], allow_single_rdn=p["allow_single_rdn"],
                                    strip_proxy=read_strip_mode(p["strip_proxy_rdns"]), warnings=self.warnings,
                                    stripped_rdns=self.stripped_rdns, state=p["state"])
        self.specs = make_rule_specs(p["rules"], p["resource"], p["action"], p["public"],
                                     allow_single_rdn=p["allow_single_rdn"])
        if p["exclusive"] and p["state"] != "present":
            raise PlanError("exclusive=true needs state=present")
        if p["exclusive"] and not (self.targets or self.specs):
            raise PlanError("exclusive=true without subjects, fqans or rules would remove every local rule; refused")
        if not p["resource"] or not p["action"]:
            raise PlanError("resource and action must not be empty")


def run_module():
    module = ArgusModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.run_guarded(run, module)


def run(module):
    """input -> read and plan -> apply -> result."""
    request = read_request(module)
    module.done_operations = []  # a failure before the first write reports no operation
    client = module.client()
    try:
        before, the_plan = read_and_plan(module, client, request)
    except PlanError as err:
        raise ConfigError(str(err), server=module.server_label, result=dict(stripped_rdns=request.stripped_rdns))
    for warning in request.warnings + the_plan.warnings:
        module.warn(warning)
    after, operations = apply_plan(module, client, request, before, the_plan)
    module.exit_json(**run_result(module, request, before, after, operations))


def read_request(module):
    if not module.params["alias"]:
        raise ConfigError("alias must not be empty")
    warnings, stripped_rdns = [], []
    try:
        return PolicyRequest(module, warnings, stripped_rdns)
    except (PlanError, ConfigError) as err:
        raise ConfigError("invalid input, nothing was sent to %s: %s" % (module.server_label, err),
                          result=dict(stripped_rdns=stripped_rdns))


def make_plan(module, request, view):
    p = module.params
    return view, plan(view, request.targets, request.specs, p["state"], p["resource"], p["action"], p["public"],
                      p["exclusive"], bulk_threshold=p["bulk_threshold"])


def read_and_plan(module, client, request):
    """``(view before, plan)``: the alias read once and the writes planned; nothing is written."""
    alias = request.alias
    view = view_from_tree(read_alias(module, client, alias), alias)
    type_errors, type_warnings = removable_only_if_stored(view, request.targets)
    if type_errors:
        raise PlanError("invalid input, nothing was written: %s" % "; ".join(type_errors))
    request.warnings.extend(type_warnings)
    before, the_plan = make_plan(module, request, view)
    if the_plan.ops:
        # before any write, and before check mode reports writes: a remote (cached) alias is read-only
        module.require_alias(alias, local=True)
        module.check_write_permission([op.operation for op in the_plan.ops])  # a read-only credential
    return before, the_plan


def apply_plan(module, client, request, before, the_plan):
    """``(view after, operations)``: the plan as check mode reports it, or as it was sent and read back."""
    alias = request.alias
    if module.check_mode:
        return the_plan.after, [op.describe() for op in the_plan.ops]
    if not the_plan.ops:
        return before, []  # nothing to write: no second read
    after = None
    if ban_only(the_plan):
        replies = execute_plan(module, alias, the_plan.ops, strict_ban=True)
        after = confirmed_after(client, alias, the_plan, replies)
    else:
        the_plan = run_plan(module, client, alias, the_plan, lambda view: make_plan(module, request, view)[1])
    if after is None:
        # Other writes are checked by reading the whole tree again: updatePolicy, unban and the add*
        # calls of exclusive mode do not name the rules the PAP then holds (nor their ids), and a ban
        # reply that disagrees with the plan means someone else changed the alias meanwhile.
        after = view_from_tree(client.get_tree(alias), alias)
    if not views_equivalent(after, the_plan.after):
        module.warn("the policy of alias %s on %s after the run differs from the prediction; another client "
                    "may have changed it at the same time" % (alias, module.server_label))
    return after, module.done_operations


def run_result(module, request, before, after, operations):
    before_spl = to_spl(before)
    after_spl = to_spl(after)
    result = dict(
        changed=before_spl != after_spl or bool(operations),
        operations=operations,
        banned_subjects=banned_values(after, "subject"),
        banned_fqans=banned_values(after, "fqan"),
        stripped_rdns=request.stripped_rdns,
        requests=module.client_operations(),
    )
    if module._diff:
        result["diff"] = dict(before=before_spl, after=after_spl,
                              before_header="%s alias %s" % (module.server_label, request.alias),
                              after_header="%s alias %s" % (module.server_label, request.alias))
    return result


if __name__ == "__main__":
    main()
