# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Targets of ``suspension_list_sync``: an Argus PAP alias, the PanDA ban storage, ban files.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Each target gets the wanted list (dict key -> ``Entry`` from ``_suspension_list``), reads its current state
once, computes added/removed/kept by key, and writes (unless in check mode) in a way that never leaves it
half-applied:

- ``ArgusTarget``: the synced entries live in ONE resource PolicySet + ONE action Policy that the sync owns,
  recognised by their Description (``gridsec.ops suspension_list_sync: <name>``), never by the shape of their
  ids. First sync: ``addPolicySet`` + ``addPolicies`` (2 writes, whatever the size); a change: one
  version-checked ``updatePolicy`` of the owned Policy (retried after a re-read on a version conflict); a
  ``move`` only when something with Permit rules was put in front of it. Site-owned objects are never written.
- ``PandaTarget``: ``users.status`` through ``_panda_db.PandaDB`` in one transaction; bans it made are recorded
  in the sync's state so that only those are ever lifted.
- ``FileTarget``: render, compare with the file's bytes, write by temp file + rename only when different.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    ConfigError,
    GridsecError,
    RemoteError,
    WriteRefusedError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus_policy_plan import (
    PRIVATE_ID_PREFIX,
    PUBLIC_ID_PREFIX,
    SYNC_OWNER_MARK,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus_xacml import Attribute, Policy, PolicySet, Rule
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import TargetResult
from ansible_collections.gridsec.ops.plugins.module_utils._panda_ban import SIMILAR, apply_ban, plan_ban
from ansible_collections.gridsec.ops.plugins.module_utils._panda_db import NAME_MAX
from ansible_collections.gridsec.ops.plugins.module_utils._panda_kill import JobKiller
from ansible_collections.gridsec.ops.plugins.module_utils._panda_names import panda_ban_keys, x509_key
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import gc_paused, read_credential_dn
from ansible_collections.gridsec.ops.plugins.module_utils._suspension_list import (
    DN,
    FQAN,
    Entry,
    iso,
    key_id,
    sort_key,
    utcnow,
    write_atomic,
)

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


def entry_lines(entries, limit=None):
    items = sorted(entries, key=sort_key)
    return [e.to_dict() for e in (items if limit is None else items[:limit])]


# -- Argus ---------------------------------------------------------------------------------------------------------
class ArgusTarget(object):
    kind = "argus"

    def __init__(self, name, client, sync_name, alias="default", public=True, max_retries=3):
        self.name = name
        self.client = client
        self.alias = alias or "default"
        self.public = bool(public)
        self.max_retries = int(max_retries)
        self.description = "%s: %s (owned by the sync; manual changes are overwritten)" % (OWNER_MARK, sync_name)
        self.result = TargetResult(name, self.kind)

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


# -- PanDA ---------------------------------------------------------------------------------------------------------
# Ban planning/apply (_panda_ban), the job/task killer (_panda_kill) and the PanDA names of an identity
# (_panda_names) are shared with panda_user_ban and panda_job_kill: one semantics, tested once.
TOKEN = "token"  # entry kind of a token identity (contract C2); its keys come from panda_ban_keys


def panda_entry_keys(entry):
    """The PanDA names to ban for one list entry: the X.509 name of a DN; for a token identity (contract C2:
    ``subject``, optional ``name`` in the metadata) the token name and the bare subject (``panda_ban_keys``)."""
    if entry.kind == DN:
        return [x509_key(entry.value)]
    subject = getattr(entry, "subject", None) or entry.value
    return panda_ban_keys(token_name=entry.meta.get("name"), token_subject=subject)


class PandaTarget(object):
    kind = "panda"

    def __init__(self, name, db, owned, create_missing=True, kill_jobs=False, kill_code=9, client_factory=None,
                 kill_tasks=False, allow_similar_names=False):
        self.name = name
        self.db = db
        self.owned = owned  # dict name -> {"dn": ..., "since": ...} (from the state file; updated on commit)
        self.create_missing = create_missing
        self.kill_jobs = kill_jobs
        self.kill_tasks = kill_tasks
        self.kill_code = kill_code
        self.allow_similar_names = allow_similar_names
        self.client_factory = client_factory
        self._panda_client = None
        self.result = TargetResult(name, self.kind)
        self.statements = []

    @property
    def label(self):
        return "panda target %s (%s)" % (self.name, self.db.label)

    def _read_banned(self):
        banned, stmts = self.db.get_banned_user_names()
        self.statements.extend(stmts)
        self.result.data["reads"] += 1
        return banned

    def _wanted_users(self, wanted):
        """``({name: entry}, [(name, entry)] per entry...)``: every PanDA name of every applicable entry; entries
        that give no usable name are listed in ``unmapped``."""
        users, groups, unmapped, skipped = {}, [], [], 0
        for entry in sorted(wanted.values(), key=sort_key):
            if entry.kind not in (DN, TOKEN):
                skipped += 1
                continue
            try:
                names = [n for n in panda_entry_keys(entry) if len(n) <= NAME_MAX]
            except GridsecError:
                names = []
            if not names:
                unmapped.append(entry.value)
                continue
            fresh = [n for n in names if n not in users]
            for name in fresh:
                users[name] = entry
            groups.append((entry, fresh))
        data = self.result.data
        data["skipped_fqans"] = skipped
        data["unmapped"] = unmapped
        return users, groups

    def _outcome(self, plan, entry_value, check_mode):
        action = {"update": "ban" if plan.state == "banned" else "unban", "create": "create_banned"}.get(plan.action)
        if plan.problem:
            out = {"user": plan.name, "dn": entry_value, "action": "none", "outcome": plan.problem}
            if plan.problem == SIMILAR:
                out["similar_users"] = sorted(set(row["name"] for row in plan.similar))
            return out
        if action is None:
            return {"user": plan.name, "dn": entry_value, "action": "none", "outcome": "no_row"}
        return {"user": plan.name, "dn": entry_value, "action": action,
                "outcome": "would_" + action if check_mode else "done"}

    def _apply(self, users, state, check_mode, own=None):
        """Plan (and unless in check mode apply) ``state`` for ``users`` (``[(name, dn)]``); returns the plans."""
        plans, stmts = plan_ban(self.db, users, state, create_missing=self.create_missing,
                                allow_similar_names=self.allow_similar_names, lock=not check_mode)
        self.statements.extend(stmts)
        self.result.data["reads"] += len(users)
        for plan in plans:
            self.result.data.setdefault("warnings", []).extend(plan.warnings)
        if not self.result.data.get("warnings"):
            self.result.data.pop("warnings", None)
        if not check_mode:
            stmts = apply_ban(self.db, plans)
            self.statements.extend(stmts)
            self.result.data["writes"] += len([p for p in plans if not p.problem and p.action != "none"])
        return plans

    def _ban_and_lift(self, groups, banned, to_lift, check_mode):
        outcomes = []
        for entry, names in groups:
            todo = [(n, entry.value if entry.kind == DN else None) for n in names if n not in banned]
            if todo:
                for plan in self._apply(todo, "banned", check_mode):
                    outcomes.append(self._outcome(plan, entry.value, check_mode))
                    if plan.problem == SIMILAR:
                        self.result.data.setdefault("problems", []).append(plan.message)
        if to_lift:
            for plan in self._apply([(n, None) for n in to_lift], "unbanned", check_mode):
                outcomes.append(self._outcome(plan, self.owned[plan.name].get("dn"), check_mode))
        return outcomes

    def sync(self, wanted, check_mode):
        data = self.result.data
        users, groups = self._wanted_users(wanted)
        try:
            banned = self._read_banned()
            to_ban = [(n, e) for n, e in sorted(users.items()) if n not in banned]
            to_lift = sorted(n for n in self.owned if n not in users and n in banned)
            gone = sorted(n for n in self.owned if n not in users and n not in banned)
            kept = [n for n in users if n in banned]
            data.update(before_count=len(banned), added_count=len(to_ban), removed_count=len(to_lift),
                        kept_count=len(kept), after_count=len(banned) + len(to_ban) - len(to_lift),
                        owned_before=len(self.owned))
            data["added"] = [{"user": n, "dn": e.value} for n, e in to_ban]
            data["removed"] = [{"user": n, "dn": self.owned[n].get("dn")} for n in to_lift]
            data["manual_bans_kept"] = len([n for n in kept if n not in self.owned])
            outcomes = self._ban_and_lift(groups, banned, to_lift, check_mode)
            if check_mode:
                self.db.rollback()
            else:
                self.db.commit()
        except GridsecError:
            self.db.rollback()
            raise
        self._record(outcomes, banned, to_ban, to_lift, gone, check_mode)
        if self.kill_jobs or self.kill_tasks:
            self._kill([o for o in outcomes if o["action"] == "ban"], check_mode)
        data["operations"] = [{"operation": s.get("operation"), "binds": s.get("binds")} for s in self.statements]
        return data

    def _record(self, outcomes, banned, to_ban, to_lift, gone, check_mode):
        data = self.result.data
        data["outcomes"] = outcomes
        data["changed"] = any(o["action"] in ("ban", "create_banned", "unban") for o in outcomes)
        done = [o for o in outcomes if o["action"] in ("ban", "create_banned")]
        if len(to_ban) != len(done):
            data["added"] = [{"user": o["user"], "dn": o["dn"]} for o in done]
            data.update(added_count=len(done), after_count=len(banned) + len(done) - len(to_lift))
        if not check_mode:
            now = iso(utcnow())
            for outcome in outcomes:
                if outcome["outcome"] == "done" and outcome["action"] != "unban":
                    self.owned[outcome["user"]] = {"dn": outcome["dn"], "since": now}
            for name in to_lift + gone:
                self.owned.pop(name, None)
        data["owned_after"] = len(self.owned)

    def _kill_user(self, name, check_mode):
        """Kill the active jobs and, with ``kill_tasks``, the tasks of ``name`` with the killer panda_job_kill uses
        (jobs found in the database, read before and after; pending task kills not sent again)."""
        options = {"user": name, "kill_jobs": self.kill_jobs, "kill_tasks": self.kill_tasks, "code": self.kill_code,
                   "unknown_user": "warn", "fail_on_refused": False}
        killer = JobKiller(self._client, options, check_mode=check_mode, db_factory=lambda: self.db)
        try:
            result = killer.run(connect_first=False)
        finally:
            self.statements.extend(killer.statements)
            if killer.warnings:
                self.result.data.setdefault("warnings", []).extend(killer.warnings)
        item = {"user": name, "job_ids": [job["pandaid"] for job in result["jobs"]]}
        if self.kill_tasks:
            item["tasks"] = [t for t in result["tasks"] if t["outcome"] != "already_final"]
        by_outcome = result["job_ids_by_outcome"]
        hit = sorted(by_outcome["killed"] + by_outcome["flagged"])
        if check_mode:
            if hit:
                item["would_kill"] = hit
        elif self.kill_jobs and item["job_ids"]:
            item["killed"] = hit
            item["refused"] = by_outcome["refused"]
        self.result.data["reads"] += 1
        if not check_mode:  # one task/kill per task sent, one job/kill batch when jobs were sent
            sent = [t for t in result["tasks"] if t["outcome"] not in ("already_final", "kill_pending")]
            self.result.data["writes"] += len(sent) + (1 if hit or by_outcome["refused"] else 0)
        return item, result["changed"]

    def _client(self):
        """One PandaClient for every kill of this sync (built on first use)."""
        if self._panda_client is None:
            self._panda_client = self.client_factory()
        return self._panda_client

    def _kill(self, newly_banned, check_mode):
        """Kill the jobs/tasks of newly banned users. The ban is already committed: a kill that fails is listed,
        it does not undo the ban."""
        data = self.result.data
        kills = []
        for outcome in newly_banned:
            try:
                item, changed = self._kill_user(outcome["user"], check_mode)
                data["changed"] = data["changed"] or changed
            except GridsecError as err:
                item = {"user": outcome["user"], "job_ids": [], "error": str(err)}
                data.setdefault("problems", []).append("kill for PanDA user %r: %s (the ban is in place)"
                                                       % (outcome["user"], err))
            kills.append(item)
        self.db.rollback()
        data["kills"] = kills


# -- files ---------------------------------------------------------------------------------------------------------
FILE_FORMATS = ("lcas", "gplazma", "plain", "template")


def _lcas_quote(value):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def _lcas_unquote(line):
    text = line.strip()
    if not (len(text) >= 2 and text.startswith('"') and text.endswith('"')):
        return text
    out = []
    index = 1
    while index < len(text) - 1:
        char = text[index]
        if char == "\\" and index + 1 < len(text) - 1:
            out.append(text[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def render_line(fmt, entry, template=None):
    """One line of a ban file for ``entry``, or None when the format does not hold that kind."""
    if fmt == "lcas":
        return _lcas_quote(entry.value)
    if fmt == "gplazma":
        return "ban %s:%s" % ("dn" if entry.kind == DN else "fqan", entry.value)
    if fmt == "plain":
        return entry.value
    fields = {"kind": entry.kind, "value": entry.value, "dn": entry.value if entry.kind == DN else "",
              "dn_rfc2253": entry.rfc2253 if entry.kind == DN else "",
              "fqan": entry.value if entry.kind == FQAN else "",
              "lcas": _lcas_quote(entry.value)}
    for field in ("reason", "origin", "ticket", "added", "expires"):
        fields[field] = entry.meta.get(field, "")
    try:
        line = template.format(**fields)
    except (KeyError, IndexError, ValueError) as err:
        raise ConfigError("template %r cannot be rendered: %s (fields: %s)"
                          % (template, err, ", ".join(sorted(fields))),
                          operation="render template")
    if "\n" in line or "\r" in line:
        raise ConfigError("template renders a line break for %s" % entry.label(), operation="render template")
    return line


def parse_line(fmt, line):
    """The identity a ban-file line holds: ``(kind, value)`` or None (comments, blank, unknown lines)."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if fmt == "lcas":
        value = _lcas_unquote(text)
        return (FQAN if not value.split("/")[1:2] or "=" not in value.split("/")[1] else DN, value)
    if fmt == "gplazma":
        if not text.startswith("ban "):
            return None
        kind, _sep, value = text[4:].strip().partition(":")
        return (DN if kind == "dn" else FQAN, value)
    if fmt == "plain":
        return (DN, text)
    return ("line", text)


class FileTarget(object):
    kind = "file"

    HEADER = {
        "lcas": "# LCAS ban_users.db",
        "gplazma": "# dCache gPlazma ban file\nalias dn=org.globus.gsi.jaas.GlobusPrincipal\n"
                   "alias fqan=org.dcache.auth.FQANPrincipal",
        "plain": "# one subject DN per line",
        "template": None,
    }

    def __init__(self, name, path, fmt, sync_name, mode="0640", owner=None, group=None, template=None,
                 header=None, include_fqans=None):
        if fmt not in FILE_FORMATS:
            raise ConfigError("file target %s: format %r is not one of %s" % (name, fmt, ", ".join(FILE_FORMATS)))
        if fmt == "template" and not template:
            raise ConfigError("file target %s: format template needs template" % name)
        if not path:
            raise ConfigError("file target %s: path is required" % name)
        self.name = name
        self.path = path
        self.fmt = fmt
        self.sync_name = sync_name
        try:
            self.mode = int(str(mode or "0640"), 8)
        except ValueError:
            raise ConfigError("file target %s: mode %r is not an octal mode such as 0640" % (name, mode))
        self.owner = owner
        self.group = group
        self.template = template
        self.header = header
        self.include_fqans = (fmt in ("gplazma", "template")) if include_fqans is None else bool(include_fqans)
        self.result = TargetResult(name, self.kind)
        self.result.data["path"] = path
        self.result.data["format"] = fmt

    @property
    def label(self):
        return "file target %s (%s)" % (self.name, self.path)

    def render(self, wanted):
        lines = ["# Managed by %s (%s): do not edit, changes are overwritten." % (OWNER_MARK, self.sync_name)]
        header = self.header if self.header is not None else self.HEADER.get(self.fmt)
        if header:
            lines.extend(header.splitlines())
        body = {}
        for entry in sorted(wanted.values(), key=sort_key):
            if entry.kind == FQAN and not self.include_fqans:
                continue
            line = render_line(self.fmt, entry, self.template)
            if line is not None:
                body[line] = entry
        lines.extend(body)
        return ("\n".join(lines) + "\n").encode("utf-8"), body

    def _ids(self):
        uid = gid = None
        try:
            if self.owner is not None:
                uid = int(self.owner) if str(self.owner).isdigit() else pwd.getpwnam(self.owner).pw_uid
            if self.group is not None:
                gid = int(self.group) if str(self.group).isdigit() else grp.getgrnam(self.group).gr_gid
        except KeyError as err:
            raise ConfigError("file target %s: unknown owner/group %s" % (self.name, err), operation="resolve owner")
        return uid, gid

    def sync(self, wanted, check_mode):
        data = self.result.data
        content, body = self.render(wanted)
        uid, gid = self._ids()
        try:
            with open(self.path, "rb") as handle:
                existing = handle.read()
            st = os.stat(self.path)
        except (IOError, OSError) as err:
            if getattr(err, "errno", None) != 2:
                raise ConfigError("cannot read %s: %s" % (self.path, err), server=self.label, operation="read")
            existing, st = None, None
        data["reads"] = 1
        before_lines = []
        if existing is not None:
            before_lines = [line for line in existing.decode("utf-8", "replace").splitlines()
                            if line.strip() and not line.lstrip().startswith("#") and not line.startswith("alias ")]
        before = set(before_lines)
        added = [body[line] for line in body if line not in before]
        removed_lines = [line for line in before_lines if line not in body]
        removed = []
        for line in removed_lines:
            parsed = parse_line(self.fmt, line)
            removed.append({"kind": parsed[0], "value": parsed[1]} if parsed else {"kind": "line", "value": line})
        data.update(before_count=len(before), added_count=len(added), removed_count=len(removed),
                    kept_count=len(before) - len(removed), after_count=len(body))
        data["added"] = entry_lines(added)
        data["removed"] = sorted(removed, key=lambda d: (d["kind"], d["value"]))
        content_changed = existing != content
        attrs = []
        if st is not None:
            if stat.S_IMODE(st.st_mode) != self.mode:
                attrs.append("mode")
            if uid is not None and st.st_uid != uid:
                attrs.append("owner")
            if gid is not None and st.st_gid != gid:
                attrs.append("group")
        data["changed"] = content_changed or bool(attrs)
        data["attributes_changed"] = attrs
        data["mode"] = "%04o" % self.mode
        if check_mode or not data["changed"]:
            return data
        try:
            if content_changed:
                write_atomic(self.path, content, self.mode, uid, gid)
                data["operations"].append({"operation": "write", "path": self.path})
            else:
                os.chmod(self.path, self.mode)
                if uid is not None or gid is not None:
                    os.chown(self.path, -1 if uid is None else uid, -1 if gid is None else gid)
                data["operations"].append({"operation": "set_attributes", "path": self.path, "attributes": attrs})
        except (IOError, OSError) as err:
            raise ConfigError("cannot write %s: %s (the old file is untouched)" % (self.path, err),
                              server=self.label, operation="write")
        data["writes"] = 1
        return data
