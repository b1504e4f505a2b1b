# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Sync target ``argus``: the entries as Deny rules of one PolicySet + one Policy of an Argus PAP alias.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils import _xml
from ansible_collections.gridsec.ops.plugins.module_utils._argus_endpoint import connection_problem
from ansible_collections.gridsec.ops.plugins.module_utils._argus_policy_plan import SYNC_OWNER_MARK
from ansible_collections.gridsec.ops.plugins.module_utils._argus_policy_view import PRIVATE_ID_PREFIX, PUBLIC_ID_PREFIX
from ansible_collections.gridsec.ops.plugins.module_utils._argus_xacml import Attribute, Policy, PolicySet, Rule
from ansible_collections.gridsec.ops.plugins.module_utils._errors import GridsecError, RemoteError, WriteRefusedError
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import gc_paused, read_credential_dn
from ansible_collections.gridsec.ops.plugins.module_utils._suspension_entries import DN, FQAN, Entry, key_id, sort_key
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncTarget, TargetResult, entry_lines

#: the PAP connection options of an Argus source or target (each defaults to the module-level option)
PAP_OPTIONS = dict(pap_host=dict(type="str"), pap_port=dict(type="int"), pap_path=dict(type="str"))
PAP_KEYS = ("pap_host", "pap_port", "pap_path")

OWNER_MARK = SYNC_OWNER_MARK  # argus_policy exclusive mode recognises it too
# The owned PolicySet matches every resource, but with a regular expression that is not the string ".*":
# the PAP's high-level ban/unban only pick a resource PolicySet whose target is literally the requested
# resource (".*" by default; argus-pap BanOperation/UnbanOperation), so an operator's pap-admin ban/unban never writes into the
# objects this sync owns (and the next sync never removes a manual ban).
OWNED_RESOURCE = "(.*)"
OWNED_ACTION = ".*"
RULE_PREFIX = "gridsec-sync-"
WRITE_OPS = frozenset(["addPolicy", "addPolicies", "addPolicySet", "storePolicy", "storePolicySet", "updatePolicy",
                       "updatePolicySet", "removePolicy", "removePolicySet", "removeObjectByIdAndReferences", "move",
                       "ban", "unban", "addRule"])


def _conflict(err):
    """True when the PAP refused a write without writing anything: a ``false``/``null`` reply or an
    ``InvalidVersionException`` (another writer changed or removed the object between our read and our write).
    Such a write is retried after a re-read; it is never counted as done."""
    return isinstance(err, WriteRefusedError)


def _bump(version):
    try:
        return str(int(str(version).rsplit(".", 1)[-1]) + 1)
    except (TypeError, ValueError):
        return "1"


class ArgusTarget(SyncTarget):
    """An Argus PAP alias (``type: argus``).

    Options: ``alias`` (local PAP alias, default ``default``), ``public`` (visibility of the owned policy), the
    ``pap_*`` connection options and the TLS options (each defaulting to the module-level option); the
    module-level ``max_retries`` bounds the retries after a version conflict.

    Validation (``spec_problems``): ``pap_host``/``pap_port``/``pap_path`` must form a PAP URL; ``lxml`` is
    required (``LIBRARIES``, checked before any source is read).

    Owns: ONE resource PolicySet + ONE action Policy of the alias, recognised by their Description
    (``gridsec.ops suspension_list_sync: <sync name>``), never by the shape of their ids. The PolicySet matches
    the resource ``(.*)`` (not the literal ``.*`` that the PAP's ``ban``/``unban`` pick), so ``pap-admin ban`` and
    ``argus_policy`` never write into it and the sync never removes a manual ban. Never touches: any other
    PolicySet, Policy or rule of the PAP (site-owned objects are never written), other aliases.

    Read: one ``get_tree`` of the alias per attempt; the owned Policy's Deny rules on one ``subject``/``fqan``
    attribute are the current entries (a rule holding the literal this sync writes is matched by value; others
    are parsed as stored DNs; rules that are no entry are ``foreign`` and dropped).
    Plan: ``addPolicySet`` + ``addPolicies`` for a first sync (2 writes whatever the size); one version-checked
    ``updatePolicy`` for any change; ``move`` when a policy with Permit rules is evaluated before the owned one;
    ``removeObjectByIdAndReferences`` for duplicates of the owned objects; visibility change = add + remove.
    Check mode: the plan, and a credential the PAP's ACL would refuse fails the target as the real run would.
    Apply: the planned calls; a refused write (version conflict, ``false`` reply) is retried after a re-read up to
    ``max_retries`` times, never counted as done.
    Audit: ``add``/``remove`` per entry and ``rewrite`` for kept entries whose rule held an older literal.
    Result keys: ``planned``, ``placement``, ``attempts``, ``conflicts``, ``rewritten``/``rewritten_count``,
    ``foreign_rules_dropped``.
    """

    TYPE = "argus"
    kind = TYPE  # the name the result and the audit use (TargetResult type)
    KINDS = frozenset([DN, FQAN])
    # the canary reaching every PAP and PDP is how propagation is proven (argus_canary)
    CANARY_DEFAULT = "keep"
    OPTIONS = dict(alias=dict(type="str", default="default"), public=dict(type="bool", default=True), **PAP_OPTIONS)
    LIBRARIES = (("lxml", _xml.LXML_IMPORT_ERROR, "Argus sources and targets are SOAP"),)

    @classmethod
    def spec_problems(cls, spec):
        problem = connection_problem(dict((key, spec.get(key)) for key in PAP_KEYS))
        return ["target %s: %s" % (spec["name"], problem)] if problem else []

    def __init__(self, spec, ctx, client=None):
        """``client``: an already built ``PapClient``-like object (tests, benchmarks); else ``ctx.pap_client``."""
        self.name = spec["name"]
        self.client = client if client is not None else ctx.pap_client(spec, "target")
        self.alias = spec.get("alias") or "default"
        self.public = bool(spec.get("public", True))
        retries = ctx.params.get("max_retries")
        self.max_retries = int(3 if retries is None else retries)
        self.description = "%s: %s (owned by the sync; manual changes are overwritten)" % (
            OWNER_MARK, ctx.sync_name)
        self.result = TargetResult(self.name, self.kind)

    def audit_records(self, data, check_mode):
        records = super(ArgusTarget, self).audit_records(data, check_mode)
        result = "planned" if check_mode else "done"
        records.extend(("rewrite", item, {"result": result, "stored": item["stored"]})
                       for item in data.get("rewritten", []))
        return records

    @property
    def label(self):
        return "argus target %s (PAP %s alias %s)" % (self.name, self.client.server_label, self.alias)

    # rule for one entry, deterministic
    @staticmethod
    def rule_for(entry, rule_id=None):
        # the literal argus-pap's AttributeWizard stores for the slash form (canl opensslToRfc2253), as
        # argus_policy and pap-admin ban store it: a tool reading the PAP sees one form whoever wrote the ban
        attribute = Attribute("subject" if entry.kind == DN else "fqan", entry.pap_literal)
        return Rule(rule_id or RULE_PREFIX + key_id(entry.key), "Deny", [attribute])

    def _find_owned(self, tree):
        sets = [ps for ps in tree.policy_sets.values() if ps.description == self.description]
        policies = [p for p in tree.policies.values() if p.description == self.description]
        return sets, policies

    def _current(self, policy, wanted):
        """``(current, foreign, stale)``: key -> (entry, rule) of the owned policy, the rules that are not entries,
        and the rules that hold an entry in another literal than the one written now (an older version of this
        sync wrote full RFC 4514 escapes) or a second time. A rule holding exactly the literal this sync writes for
        a wanted entry is that entry, found by a dictionary lookup on the value (no DN parsing and no rule-id
        hash per rule); anything else is parsed as a stored DN."""
        expected = dict((("subject" if entry.kind == DN else "fqan", entry.pap_literal), entry)
                        for entry in wanted.values())
        current = {}
        foreign = []
        stale = []
        for rule in policy.rules if policy is not None else []:
            attrs = rule.attributes
            if not (rule.deny and len(attrs) == 1 and attrs[0].attribute_id_spl in ("subject", "fqan")):
                foreign.append(rule)
                continue
            entry = expected.get((attrs[0].attribute_id_spl, attrs[0].value))
            exact = entry is not None
            if not exact:
                try:
                    entry = Entry(DN if attrs[0].attribute_id_spl == "subject" else FQAN, attrs[0].value,
                                  stored=True)
                except GridsecError:
                    foreign.append(rule)
                    continue
            have = current.get(entry.key)
            if (not exact and entry.key in wanted) or (exact and have is not None and have[0] is entry):
                stale.append({"kind": entry.kind, "value": wanted[entry.key].value, "stored": attrs[0].value})
            if exact or have is None:
                current[entry.key] = (entry, rule)
        return current, foreign, stale

    def _placement(self, tree, ps_id, policy_id):
        """Where the owned policy is evaluated: everything before it in the alias (first-applicable)."""
        permits_before = []
        index = None
        for position, (kind, ref) in enumerate(tree.root.references if tree.root else []):
            if kind == "policyset" and ref == ps_id:
                index = position
        for policy_set, policy in tree.iter_policies():
            if policy.policy_id == policy_id:
                break
            if any(rule.permit for rule in policy.rules):
                permits_before.append({"policy_set": policy_set.policy_set_id, "policy": policy.policy_id})
        first_other = None
        for kind, ref in (tree.root.references if tree.root else []):
            if kind == "policyset" and ref != ps_id:
                first_other = ref
                break
        return {"alias": self.alias, "root_index": index, "permits_before": permits_before,
                "evaluated_before_site_permits": index is not None and not permits_before,
                "combining": "first-applicable (root and resource PolicySets)"}, first_other

    def _policy(self, entries, policy_id, version):
        rules = [self.rule_for(e) for e in sorted(entries, key=sort_key)]
        return Policy(policy_id, version, OWNED_ACTION, rules, description=self.description)

    def _policy_set(self, ps_id="gridsec-sync-placeholder", version="1", references=()):
        return PolicySet(ps_id, version, OWNED_RESOURCE, list(references), description=self.description)

    def _count_ops(self, start):
        ops = self.client.operations[start:]
        for op in ops:
            if op["operation"] in WRITE_OPS:
                self.result.data["writes"] += 1
            else:
                self.result.data["reads"] += 1
        self.result.data["operations"].extend(
            {"operation": op["operation"], "args": dict((k, v) for k, v in op["args"].items()
                                                        if k in ("alias", "id", "index", "version", "policy_set_id",
                                                                 "pivot_id", "move_after"))}
            for op in ops)

    def sync(self, wanted, check_mode):
        data = self.result.data
        attempts = 0
        while True:
            attempts += 1
            start = len(self.client.operations)
            try:
                with gc_paused():  # the policy read back holds a rule per entry: see gc_paused
                    outcome = self._attempt(wanted, check_mode)
            except GridsecError as err:
                self._count_ops(start)
                data["attempts"] = attempts
                if _conflict(err):
                    data.setdefault("conflicts", []).append(str(err.msg))
                    if attempts <= self.max_retries:
                        continue
                    err.msg = ("%s; gave up after %d attempt(s) (max_retries=%d): the owned policy was left as the "
                               "PAP holds it, nothing was reported as written" % (err.msg, attempts, self.max_retries))
                err.server = err.server or self.label
                raise
            self._count_ops(start)
            data["attempts"] = attempts
            return outcome

    def _check_write_permission(self, plan):
        """Check mode: a credential the PAP's ACL does not let write (read-only) fails the target as the real
        run would (``_argus_module.predicted_refusal``); a warning when that cannot be told."""
        from ansible_collections.gridsec.ops.plugins.module_utils._argus_module import predicted_refusal

        credential = getattr(getattr(self.client, "transport", None), "credential", None)
        err, why = predicted_refusal(self.client, read_credential_dn(getattr(credential, "cert", None)), plan)
        if err is not None:
            raise err
        if why is not None:
            self.result.data.setdefault("warnings", []).append(
                "check mode could not verify that the credential may write on %s: %s; the operations listed "
                "assume it may" % (self.client.server_label, why))

    def _attempt(self, wanted, check_mode):
        data = self.result.data
        tree = self.client.get_tree(self.alias)
        sets, policies = self._find_owned(tree)
        owned_ps = sets[0] if sets else None
        owned_policy = None
        if owned_ps is not None:
            for pid in owned_ps.policy_ids:
                candidate = tree.policies.get(pid)
                if candidate is not None and candidate.description == self.description:
                    owned_policy = candidate
                    break
        current, foreign, stale = self._current(owned_policy, wanted)
        added = [wanted[k] for k in wanted if k not in current]
        removed = [current[k][0] for k in current if k not in wanted]
        self.result.counts(len(current), added, removed)
        data["added"] = entry_lines(added)
        data["removed"] = entry_lines(removed)
        # kept entries whose rule is rewritten to the PAP literal (in the same updatePolicy: never lifted)
        data["rewritten"] = sorted(stale, key=lambda d: (d["kind"], d["value"]))
        data["rewritten_count"] = len(stale)
        if foreign:
            data["foreign_rules_dropped"] = len(foreign)
        plan = []
        if owned_ps is None:
            plan = ["addPolicySet", "addPolicies"]
        elif owned_policy is None:
            plan = ["addPolicies"]
        elif added or removed or foreign or stale or owned_policy.action != OWNED_ACTION \
                or owned_policy.public != self.public:
            plan = ["updatePolicy"]
        placement = None
        if owned_ps is not None:
            placement, first_other = self._placement(tree, owned_ps.policy_set_id,
                                                     owned_policy.policy_id if owned_policy else None)
            if placement["permits_before"] and first_other is not None:
                plan.append("move")
        extra_sets = list(sets[1:])
        extra_policies = [p for p in policies if owned_policy is None or p.policy_id != owned_policy.policy_id]
        for _obj in extra_sets + extra_policies:
            plan.append("removeObjectByIdAndReferences")
        if owned_policy is not None and owned_policy.public != self.public:
            # visibility is in the id (public-/private-): replace the policy (add new, then remove old)
            plan = [p for p in plan if p != "updatePolicy"] + ["addPolicies", "removeObjectByIdAndReferences"]
        data["planned"] = plan
        data["changed"] = bool(plan)
        if check_mode and plan:
            self._check_write_permission(plan)
        if check_mode or not plan:
            if placement is None:
                placement = {"alias": self.alias, "root_index": 0, "permits_before": [],
                             "evaluated_before_site_permits": True,
                             "combining": "first-applicable (root and resource PolicySets)"}
            elif "move" in plan:
                placement = dict(placement, root_index=0, permits_before=[], evaluated_before_site_permits=True,
                                 moved=True)
            data["placement"] = placement
            return data

        entries = list(wanted.values())
        # the PAP tells visibility by splitting the id on "_" (see _argus_policy_plan.PRIVATE_ID_PREFIX)
        prefix = PUBLIC_ID_PREFIX if self.public else PRIVATE_ID_PREFIX
        if owned_ps is None:
            ps_id = self.client.add_policy_set(self.alias, 0, self._policy_set())
            if not ps_id:
                raise RemoteError("addPolicySet returned no id", server=self.label, operation="addPolicySet")
            ids = self.client.add_policies(self.alias, 0, ps_id, [prefix], [self._policy(entries, prefix, "1")])
            if not ids or not ids[0]:
                raise RemoteError("addPolicies returned no id", server=self.label, operation="addPolicies")
        elif owned_policy is None or owned_policy.public != self.public:
            ids = self.client.add_policies(self.alias, 0, owned_ps.policy_set_id, [prefix],
                                           [self._policy(entries, prefix, "1")])
            if not ids or not ids[0]:
                raise RemoteError("addPolicies returned no id", server=self.label, operation="addPolicies")
            if owned_policy is not None:
                self.client.remove_object_by_id_and_references(self.alias, owned_policy.policy_id)
        elif "updatePolicy" in plan:
            new = self._policy(entries, owned_policy.policy_id, _bump(owned_policy.version))
            # True, or WriteRefusedError (false reply / stale version): retried by sync() after a re-read
            self.client.update_policy(self.alias, owned_policy.version, new)
        if "move" in plan and owned_ps is not None:
            _placement, first_other = self._placement(tree, owned_ps.policy_set_id, None)
            self.client.move(self.alias, owned_ps.policy_set_id, first_other, False)
        for obj in extra_sets:
            self.client.remove_object_by_id_and_references(self.alias, obj.policy_set_id)
        for obj in extra_policies:
            self.client.remove_object_by_id_and_references(self.alias, obj.policy_id)
        # placement as it is now (cheap to derive: new objects are at index 0)
        if owned_ps is None or "move" in plan:
            data["placement"] = {"alias": self.alias, "root_index": 0, "permits_before": [],
                                 "evaluated_before_site_permits": True,
                                 "combining": "first-applicable (root and resource PolicySets)"}
        else:
            data["placement"] = placement
        return data
