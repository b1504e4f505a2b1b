# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Sync target ``argus``: the entries as Deny rules of one PolicySet + one Policy of an Argus PAP alias.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import re
import time

from ansible_collections.gridsec.ops.plugins.module_utils import _xml
from ansible_collections.gridsec.ops.plugins.module_utils._argus.endpoint import connection_problem
from ansible_collections.gridsec.ops.plugins.module_utils._argus.ids import PRIVATE_ID_PREFIX, PUBLIC_ID_PREFIX, SYNC_OWNER_MARK
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import Attribute, Policy, PolicySet, Rule
from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    GridsecError, NotFoundError, RemoteError, WriteRefusedError)
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import gc_paused, read_credential_dn
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN, FQAN, Entry, key_id, sort_key
from ansible_collections.gridsec.ops.plugins.module_utils._sync.argus_plan import OWNED_ACTION, ChunkPlanner
from ansible_collections.gridsec.ops.plugins.module_utils._sync.argus_state import STATE_KEY, OwnedRecord, fingerprint, sets_of
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncTarget, TargetResult, entry_lines
from ansible_collections.gridsec.ops.plugins.module_utils._sync import specs

#: the PAP connection options of an Argus source or target (each defaults to the module-level option)
PAP_OPTIONS, PAP_KEYS = specs.PAP_OPTIONS, specs.PAP_KEYS  # the names the sources and tests use

OWNER_MARK = SYNC_OWNER_MARK  # argus_policy exclusive mode recognises it too
# The owned PolicySet matches every resource, but with a regular expression that is not the string ".*":
# the PAP's high-level ban/unban only pick a resource PolicySet whose target is literally the requested
# resource (".*" by default; argus-pap BanOperation/UnbanOperation), so an operator's pap-admin ban/unban never writes into the
# objects this sync owns (and the next sync never removes a manual ban).
OWNED_RESOURCE = "(.*)"
# OWNED_ACTION (".*"), the action of the owned policies, is defined with the write plan (argus_plan.py)
RULE_PREFIX = "gridsec-sync-"
WRITE_OPS = frozenset(["addPolicy", "addPolicies", "addPolicySet", "storePolicy", "storePolicySet", "updatePolicy",
                       "updatePolicySet", "removePolicy", "removePolicySet", "removeObjectByIdAndReferences", "move",
                       "ban", "unban", "addRule"])
#: default of the target option ``max_request_bytes``: argus-pap caps no request body (Jetty 9 bounds only the
#: headers, Axis 1 ``AxisServlet.doPost`` reads the whole stream), but Axis holds a request in memory several
#: times over and the PAP's JVM heap defaults to 256 MiB (argus-pap ``pap-env.sh``): ~1,700 rules per request
DEFAULT_MAX_REQUEST_BYTES = specs.DEFAULT_MAX_REQUEST_BYTES
MIN_MAX_REQUEST_BYTES = 16 * 1024
# the SOAP envelope, the operation and the policy element around the rules, and the Description
_REQUEST_OVERHEAD = 4096
# one Deny rule on one subject/fqan attribute without its value (~530 bytes measured; margin for the rule id)
_RULE_OVERHEAD = 600
#: default of the target option ``full_read_interval``: a no-op proven by the PolicySet versions alone reads the
#: whole alias again after this many seconds, so that a change made by hand inside an owned policy is noticed
DEFAULT_FULL_READ_INTERVAL = specs.DEFAULT_FULL_READ_INTERVAL
PLACED_FIRST = {"root_index": 0, "permits_before": [], "evaluated_before_site_permits": True,
                "combining": "first-applicable (root and resource PolicySets)"}


def rule_bytes(entry, literal=None):
    """An upper bound of the bytes the entry's rule takes in a request (XML escapes counted)."""
    literal = entry.pap_literal if literal is None else literal
    return _RULE_OVERHEAD + len(literal.encode("utf-8")) + 4 * sum(literal.count(c) for c in "&<>\"'")


def _conflict(err):
    """True when the PAP refused a write without writing anything: a ``false``/``null`` reply or an
    ``InvalidVersionException`` (another writer changed or removed the object between our read and our write).
    Such a write is retried after a re-read; it is never counted as done."""
    return isinstance(err, WriteRefusedError)


_STAMP = re.compile(r" serial=(\S+) applied=(\S+)$")


def _utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bump(version):
    try:
        return str(int(str(version).rsplit(".", 1)[-1]) + 1)
    except (TypeError, ValueError):
        return "1"


class ArgusTarget(ChunkPlanner, SyncTarget):
    """An Argus PAP alias (``type: argus``).

    Options: ``alias`` (local PAP alias, default ``default``), ``public`` (visibility of the owned policies),
    ``max_request_bytes`` (the largest request a write sends, default 1 MiB), ``full_read_interval`` (seconds a
    no-op may be proven by versions, default 3600), the ``pap_*`` connection options and
    the TLS options (each defaulting to the module-level option); the module-level ``max_retries`` bounds the
    retries after a version conflict.

    Validation (``spec_problems``): ``pap_host``/``pap_port``/``pap_path`` must form a PAP URL;
    ``max_request_bytes`` at least 16 KiB; ``lxml`` is required (``LIBRARIES``, checked before any source is read).

    Owns: ONE resource PolicySet and the action Policies it references ("chunks", each small enough for one
    request of ``max_request_bytes``), recognised by their Description (``gridsec.ops suspension_list_sync:
    <sync name> ...``, followed by ``serial=<n|none> applied=<ISO time>`` of the write that stored them), never by
    the shape of their ids. The PolicySet matches the resource ``(.*)`` (not the literal ``.*`` that the PAP's
    ``ban``/``unban`` pick), so ``pap-admin ban`` and ``argus_policy`` never write into it and the sync never
    removes a manual ban. Never touches: any other PolicySet, Policy or rule of the PAP (site-owned objects are
    never written), other aliases.

    Read: one ``listPolicySets`` first when the state holds a record of the owned objects (``argus_state``: every
    PolicySet's version and references, each owned policy's version and rules; written by the last full read less
    than ``full_read_interval`` seconds ago and brought forward by every write since from the PAP's replies): when
    every PolicySet is as recorded, this same list is a no-op (``read: versions``) and another list is planned from
    the record (``read: state``, no ``listPolicies``). Else one ``get_tree`` of the alias per attempt
    (``read: full``): the Deny rules on one ``subject``/``fqan`` attribute of the chunks the owned PolicySet
    references are the current entries (a rule holding the literal this sync writes is matched by value; others
    are parsed as stored DNs; rules that are no entry are ``foreign`` and dropped). A write drops the record first;
    a write planned from the record that finds a rule gone (``NotFoundException``) counts as a conflict (the retry
    reads in full).
    Plan (``_plan``): never an owned PolicySet without the list, never a kept ban lifted, whatever write fails:
    a first sync stores the chunks unreferenced and adds the PolicySet referencing them in one write; a small
    change is written rule by rule when that is cheaper (``removeObjectByIdAndReferences`` of each rule id,
    additions into a small last chunk or a new one); else only the chunks it touches are rewritten
    (``updatePolicy``, version-checked, when rules leave at most one chunk; else stored new chunks + one
    version-checked ``updatePolicySet`` that swaps the references + ``removePolicy`` of the old ones); owned
    policies nothing references (a run cut short) are removed; ``move`` when a policy with Permit rules is
    evaluated before the owned ones; ``removeObjectByIdAndReferences`` for duplicates of the owned objects;
    visibility change = add the new chunks, then remove the old.
    Check mode: the plan, and a credential the PAP's ACL would refuse fails the target as the real run would.
    Apply: the planned calls; a refused write (version conflict, ``false`` reply) is retried after a re-read up to
    ``max_retries`` times, never counted as done.
    Audit: ``add``/``remove`` per entry and ``rewrite`` for kept entries whose rule held an older literal.
    Result keys: ``planned``, ``placement``, ``attempts``, ``conflicts``, ``rewritten``/``rewritten_count``,
    ``foreign_rules_dropped``, ``chunks`` (owned policies after the run), ``read`` (``full``, ``state`` or
    ``versions``).
    """

    TYPE = "argus"
    kind = TYPE  # the name the result and the audit use (TargetResult type)
    KINDS = frozenset([DN, FQAN])
    # the canary reaching every PAP and PDP is how propagation is proven (argus_canary)
    CANARY_DEFAULT = "keep"
    OPTIONS = specs.ARGUS_OPTIONS
    LIBRARIES = (("lxml", _xml.LXML_IMPORT_ERROR, "Argus sources and targets are SOAP"),)

    @classmethod
    def spec_problems(cls, spec):
        problems = []
        problem = connection_problem(dict((key, spec.get(key)) for key in PAP_KEYS))
        if problem:
            problems.append("target %s: %s" % (spec["name"], problem))
        size = spec.get("max_request_bytes")
        if size is not None and size < MIN_MAX_REQUEST_BYTES:
            problems.append("target %s: max_request_bytes must be at least %d (one request holds at least one rule)"
                            % (spec["name"], MIN_MAX_REQUEST_BYTES))
        return problems

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
        size = spec.get("max_request_bytes") or DEFAULT_MAX_REQUEST_BYTES
        self.chunk_budget = max(size, MIN_MAX_REQUEST_BYTES) - _REQUEST_OVERHEAD - len(self.description)
        self.chunks_after = 0
        self._literals = {}
        self._key_ids = {}
        self._from_record = False  # writing a change planned from the state's record (see sync)
        interval = spec.get("full_read_interval")
        self.full_read_interval = DEFAULT_FULL_READ_INTERVAL if interval is None else int(interval)
        self.state = ctx.target_state(self.name) if hasattr(ctx, "target_state") else {}
        # C2: what the owned objects record when this target writes (no extra write on a no-op)
        self.serial = getattr(ctx, "list_serial", None)
        self.applied_at = getattr(ctx, "applied_at", None) or _utc_now()
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
    def literal(self, entry):
        """``entry.pap_literal``, computed once per entry and run (a DN conversion: ~60 us each)."""
        found = self._literals.get(id(entry))
        if found is None:
            found = self._literals[id(entry)] = (entry, entry.pap_literal)
        return found[1]

    def size(self, entry):
        return rule_bytes(entry, self.literal(entry))

    @staticmethod
    def rule_for(entry, rule_id=None, literal=None):
        # the literal argus-pap's AttributeWizard stores for the slash form (canl opensslToRfc2253), as
        # argus_policy and pap-admin ban store it: a tool reading the PAP sees one form whoever wrote the ban
        attribute = Attribute("subject" if entry.kind == DN else "fqan",
                              entry.pap_literal if literal is None else literal)
        return Rule(rule_id or RULE_PREFIX + key_id(entry.key), "Deny", [attribute])

    def owns(self, obj):
        """An owned object: its Description is this sync's, with or without the serial/applied record."""
        text = obj.description or ""
        return text == self.description or text.startswith(self.description + " serial=")

    def _find_owned(self, tree):
        sets = [ps for ps in tree.policy_sets.values() if self.owns(ps)]
        policies = [p for p in tree.policies.values() if self.owns(p)]
        return sets, policies

    def _current(self, policy, wanted):
        """``(current, foreign, stale)`` of one owned policy (see ``_classify``)."""
        current, _dirty, foreign, stale = self._classify([policy] if policy is not None else [], wanted)
        return current, foreign, stale

    def _classify(self, chunks, wanted):
        """``(current, dirty, foreign, stale)`` over the owned policies ``chunks`` (in evaluation order):
        key -> (entry, index of the chunk holding it, rule); the chunks that must be rewritten (a rule that is no entry,
        an entry held twice or in another literal than the one written now); the rules that are not entries; and
        the kept entries whose rule held an older literal (an older version of this sync wrote full RFC 4514
        escapes). A rule holding exactly the literal this sync writes for a wanted entry is that entry, found by a
        dictionary lookup on the value (no DN parsing and no rule-id hash per rule); anything else is parsed as a
        stored DN."""
        expected = dict((("subject" if entry.kind == DN else "fqan", self.literal(entry)), entry)
                        for entry in wanted.values())
        current = {}
        dirty = set()
        foreign = []
        stale = []
        for index, policy in enumerate(chunks):
            for rule in policy.rules:
                attrs = rule.attributes
                if not (rule.deny and len(attrs) == 1 and attrs[0].attribute_id_spl in ("subject", "fqan")):
                    foreign.append(rule)
                    dirty.add(index)
                    continue
                entry = expected.get((attrs[0].attribute_id_spl, attrs[0].value))
                exact = entry is not None
                if not exact:
                    try:
                        entry = Entry(DN if attrs[0].attribute_id_spl == "subject" else FQAN, attrs[0].value,
                                      stored=True)
                    except GridsecError:
                        foreign.append(rule)
                        dirty.add(index)
                        continue
                have = current.get(entry.key)
                if (not exact and entry.key in wanted) or (exact and have is not None and have[0] is entry):
                    stale.append({"kind": entry.kind, "value": wanted[entry.key].value, "stored": attrs[0].value})
                    dirty.add(index)
                elif have is not None:  # an unwanted entry held twice: the second copy goes
                    dirty.add(index)
                if have is None or (exact and have[0] is not entry):
                    if have is not None:
                        dirty.add(have[1])  # the chunk holding the older literal drops it
                    current[entry.key] = (entry, index, rule)
        return current, dirty, foreign, stale

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

    def status(self, canary):
        """C2: what the PAP holds for this sync, read from the PAP (one ``get_tree``; no write).

        ``entries``: the distinct entries of the owned policies the owned PolicySet references; ``serial`` and
        ``applied``: from the Description of the owned object written last; ``canary_present``: every canary
        identity gets a definite Deny from the alias as a PDP evaluates it first-applicable (``_argus.pdp.evaluate``:
        a site Permit evaluated before the owned policies shows as absent)."""
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.pdp import evaluate

        tree = self.client.get_tree(self.alias)
        sets, policies = self._find_owned(tree)
        problems = []
        chunks = []
        if not sets:
            problems.append("%s: no PolicySet of this sync on the PAP" % self.label)
        else:
            chunks = [tree.policies[pid] for pid in sets[0].policy_ids
                      if pid in tree.policies and self.owns(tree.policies[pid])]
            if len(sets) > 1:
                problems.append("%s: %d PolicySets of this sync (the next run removes the extra ones)"
                                % (self.label, len(sets)))
            loose = len(policies) - len(chunks)
            if loose:
                problems.append("%s: %d policies of this sync that nothing references (a run cut short; the next "
                                "run removes them)" % (self.label, loose))
        current, _dirty, _foreign, _stale = self._classify(chunks, {})
        stamps = []
        for obj in ([sets[0]] if sets else []) + chunks:
            found = _STAMP.search(obj.description or "")
            if found:
                stamps.append((found.group(2), found.group(1)))
        applied, serial = max(stamps) if stamps else (None, None)
        if serial is not None:
            serial = int(serial) if serial.isdigit() else None
        present = None
        canary = [entry for entry in canary or () if entry.kind in self.KINDS]
        if canary:
            present = all(evaluate(tree, {"resource": None, "action": None, "attributes": {
                "subject" if entry.kind == DN else "fqan": entry.pap_literal}})["denied"] for entry in canary)
        return {"serial": serial, "applied": applied, "entries": len(current), "canary_present": present,
                "problems": problems}

    def _stamp(self):
        """The Description written with a write: the owner mark + the serial of the list and the time applied."""
        return "%s serial=%s applied=%s" % (self.description, "none" if self.serial is None else self.serial,
                                            self.applied_at)

    def _policy(self, entries, policy_id, version):
        rules = [self.rule_for(e, RULE_PREFIX + self._key_id(e), self.literal(e))
                 for e in sorted(entries, key=sort_key)]
        return Policy(policy_id, version, OWNED_ACTION, rules, description=self._stamp())

    def _policy_set(self, ps_id="gridsec-sync-placeholder", version="1", references=()):
        return PolicySet(ps_id, version, OWNED_RESOURCE, list(references), description=self._stamp())

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
                # a write planned from the state's record found an object gone: the record no longer holds;
                # the retry reads the alias in full (the record was dropped before the first write)
                stale_record, self._from_record = self._from_record and isinstance(err, NotFoundError), False
                if _conflict(err) or stale_record:
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
        run would (``_argus.module.predicted_refusal``); a warning when that cannot be told."""
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.module import predicted_refusal

        credential = getattr(getattr(self.client, "transport", None), "credential", None)
        err, why = predicted_refusal(self.client, read_credential_dn(getattr(credential, "cert", None)), plan)
        if err is not None:
            raise err
        if why is not None:
            self.result.data.setdefault("warnings", []).append(
                "check mode could not verify that the credential may write on %s: %s; the operations listed "
                "assume it may" % (self.client.server_label, why))

    def _digest(self, wanted):
        """What the last verified no-op is compared with: the list as this target writes it, and its settings."""
        digest = hashlib.sha256(("%s|%s|%s|%d\n" % (self.alias, self.description, self.public, self.chunk_budget))
                                .encode("utf-8"))
        # kind and value decide the literal written: no DN conversion needed here. Sorted by (kind, value), the
        # order of the "kind=value" texts (the kinds differ in their first letter), without building them all
        for entry in sorted(wanted.values(), key=sort_key):
            digest.update(("%s=%s\n" % (entry.kind, entry.value)).encode("utf-8"))
        return digest.hexdigest()

    def _key_id(self, entry):
        found = self._key_ids.get(id(entry))
        if found is None:
            found = self._key_ids[id(entry)] = (entry, key_id(entry.key))
        return found[1]

    @staticmethod
    def _default_rule_id(kid):
        return RULE_PREFIX + kid

    def _rules_of(self, entries):
        """The state record of the rules this sync writes for ``entries`` (``_policy``: its rule ids, literals)."""
        return [[self._key_id(e), "subject" if e.kind == DN else "fqan", self.literal(e)]
                for e in sorted(entries, key=sort_key)]

    def _known(self, wanted):
        """``(record, policy sets read)``: the state's ``OwnedRecord`` when one ``listPolicySets`` shows every
        PolicySet of the alias as the record has it (versions and references: no owned policy added, removed or
        re-referenced, no PolicySet written by anyone since), the record is from a full read less than
        ``full_read_interval`` seconds ago and for these settings; else ``(None, policy sets or None)``.
        A change made by hand INSIDE an owned policy changes no PolicySet: noticed at the scheduled full read,
        or when a write planned from the record finds a rule gone (the run then reads in full)."""
        raw = self.state.get(STATE_KEY)
        if (not isinstance(raw, dict) or self.full_read_interval <= 0 or raw.get("description") != self.description
                or raw.get("alias") != self.alias or not isinstance(raw.get("full_read_at"), (int, float))
                or time.time() - raw["full_read_at"] > self.full_read_interval):
            return None, None
        record = OwnedRecord.from_state(raw)
        if record is None:
            return None, None
        policy_sets = self.client.list_policy_sets(self.alias)
        if fingerprint(sets_of(policy_sets)) != record.fingerprint():
            return None, policy_sets
        return record, policy_sets

    def _remember(self, record, wanted, full_read_at, placement):
        """Keep ``record`` (the owned objects as the PAP now holds them) for the next run, or drop it."""
        self.state.pop("verified", None)  # what earlier versions recorded (a no-op proof only)
        saved = None
        if record is not None and record.exact:
            saved = record.to_state(description=self.description, alias=self.alias, digest=self._digest(wanted),
                                    full_read_at=int(full_read_at), placement=placement,
                                    chunks=len(record.chunk_ids()))
        if saved is None:
            self.state.pop(STATE_KEY, None)
        else:
            self.state[STATE_KEY] = saved

    def _record_from_tree(self, tree, owned_ps, chunks, current):
        """The record of a full read (the owned objects as read), when the alias is clean enough to plan from it."""
        record = OwnedRecord(sets_of(list(tree.policy_sets.values()) + [tree.root]),
                             dict((c.policy_id, [c.version, []]) for c in chunks), owned_ps.policy_set_id)
        for entry, index, rule in current.values():
            kid = self._key_id(entry)
            item = [kid, rule.attributes[0].attribute_id_spl, rule.attributes[0].value]
            if rule.rule_id != RULE_PREFIX + kid:
                item.append(rule.rule_id)
            record.policies[chunks[index].policy_id][1].append(item)
        return record

    def _attempt(self, wanted, check_mode):
        data = self.result.data
        record, policy_sets = self._known(wanted)
        if record is not None:
            raw = self.state[STATE_KEY]
            if raw.get("digest") == self._digest(wanted):
                self.result.counts(len(wanted), [], [])
                data.update(added=[], removed=[], rewritten=[], rewritten_count=0, planned=[], changed=False,
                            chunks=raw.get("chunks"), placement=raw.get("placement"), read="versions")
                return data
            found = self._change_from_record(record, policy_sets, wanted, check_mode)
            if found is not None:
                return found
        tree = (self.client.get_tree(self.alias) if policy_sets is None
                else self.client.get_tree(self.alias, policy_sets=policy_sets))
        data["read"] = "full"
        sets, policies = self._find_owned(tree)
        owned_ps = sets[0] if sets else None
        chunks = []  # the owned policies the owned PolicySet references: what the PAP enforces for this sync
        if owned_ps is not None:
            chunks = [tree.policies[pid] for pid in owned_ps.policy_ids
                      if pid in tree.policies and self.owns(tree.policies[pid])]
        current, dirty, foreign, stale = self._classify(chunks, wanted)
        added = [wanted[k] for k in wanted if k not in current]
        removed = [current[k][0] for k in current if k not in wanted]
        self.result.counts(len(current), added, removed)
        data["added"] = entry_lines(added)
        data["removed"] = entry_lines(removed)
        # kept entries whose rule is rewritten to the PAP literal (in the same write: never lifted)
        data["rewritten"] = sorted(stale, key=lambda d: (d["kind"], d["value"]))
        data["rewritten_count"] = len(stale)
        if foreign:
            data["foreign_rules_dropped"] = len(foreign)
        seen, shared = set(), set()
        for policy in tree.policies.values():
            for rule in policy.rules:
                (shared if rule.rule_id in seen else seen).add(rule.rule_id)
        steps = self._plan(owned_ps, chunks, current, dirty, added, removed, wanted, shared)
        plan = ["removeObjectByIdAndReferences" if step[0] == "removeRule" else step[0] for step in steps]
        placement = None
        first_other = None
        if owned_ps is not None:
            placement, first_other = self._placement(tree, owned_ps.policy_set_id,
                                                     chunks[0].policy_id if chunks else None)
            if placement["permits_before"] and first_other is not None:
                plan.append("move")
        kept = set(p.policy_id for p in chunks)
        extra_sets = list(sets[1:])
        # owned policies nothing enforces: duplicates, and leftovers of a run cut short before its commit
        extra_policies = [p for p in policies if p.policy_id not in kept]
        plan.extend(["removeObjectByIdAndReferences"] * (len(extra_sets) + len(extra_policies)))
        data["planned"] = plan
        data["changed"] = bool(plan)
        data["chunks"] = len(chunks)
        if check_mode and plan:
            self._check_write_permission(plan)
        if check_mode or not plan:
            if placement is None:
                placement = dict(PLACED_FIRST, alias=self.alias)
            elif "move" in plan:
                placement = dict(placement, moved=True, **PLACED_FIRST)
            data["placement"] = placement
            if not plan and not check_mode:
                clean = owned_ps is not None and not (dirty or foreign or stale or shared or placement["permits_before"])
                self._remember(self._record_from_tree(tree, owned_ps, chunks, current) if clean else None, wanted,
                               time.time(), placement)
            return data
        self.state.pop(STATE_KEY, None)
        # the record the writes bring forward (no re-read): only from a clean alias, and without a move or a
        # removal of leftovers (their effect on the root is not predicted); else the next run reads in full
        predictable = not (dirty or foreign or stale or shared or extra_sets or extra_policies or "move" in plan)
        record = None
        if predictable:
            record = (self._record_from_tree(tree, owned_ps, chunks, current) if owned_ps is not None
                      else OwnedRecord(sets_of(list(tree.policy_sets.values()) + [tree.root]), {}, None))
        owned_ps = self._apply(steps, owned_ps, record) or owned_ps
        if "move" in plan:
            self.client.move(self.alias, owned_ps.policy_set_id, first_other, False)
        for obj in extra_sets:
            self.client.remove_object_by_id_and_references(self.alias, obj.policy_set_id)
        for obj in extra_policies:
            self.client.remove_object_by_id_and_references(self.alias, obj.policy_id)
        # placement as it is now (cheap to derive: new objects are at index 0)
        data["placement"] = dict(PLACED_FIRST, alias=self.alias) if placement is None or "move" in plan else placement
        data["chunks"] = self.chunks_after
        self._remember(record, wanted, time.time(), data["placement"])
        return data

    def _change_from_record(self, record, policy_sets, wanted, check_mode):
        """A change planned from the state's record (``read: state``): the owned PolicySet and the versions of
        every PolicySet are as recorded (``_known``), so the owned policies hold the recorded rules unless changed
        by hand inside. Written with the same steps as after a full read; a rule the record names but the PAP no
        longer has fails its removal (``NotFoundException``), the record is dropped and the run reads in full
        (``sync``). None when the record does not fit the PolicySets read (the caller reads in full)."""
        data = self.result.data
        owned_ps = next((ps for ps in policy_sets if ps.policy_set_id == record.ps_id and self.owns(ps)), None)
        if owned_ps is None or [ref for kind, ref in owned_ps.references if kind == "policy"] != record.chunk_ids():
            return None
        chunks = [Policy(pid, record.policies[pid][0], OWNED_ACTION, [], description=self.description)
                  for pid in record.chunk_ids()]
        by_kid = dict((self._key_id(entry), key) for key, entry in wanted.items())
        current = {}
        for index, pid in enumerate(record.chunk_ids()):
            try:
                rules = record.rules(pid)
            except ValueError:
                return None
            for item in rules:
                key = by_kid.get(item[0])
                if key is not None:
                    current[key] = (wanted[key], index, None)
                    # the literal the sync wrote for this key (the plan sizes the chunks): no DN conversion
                    self._literals.setdefault(id(wanted[key]), (wanted[key], item[2]))
                    continue
                try:
                    entry = Entry(DN if item[1] == "subject" else FQAN, item[2], stored=True)
                except GridsecError:
                    return None  # not an entry: the full read sorts it out
                if entry.key in wanted or entry.key in current:
                    return None
                rule_id = item[3] if len(item) > 3 else RULE_PREFIX + item[0]
                current[entry.key] = (entry, index, Rule(rule_id, "Deny", [Attribute(item[1], item[2])]))
        added = [wanted[k] for k in wanted if k not in current]
        removed = [current[k][0] for k in current if k not in wanted]
        self.result.counts(len(current), added, removed)
        data.update(added=entry_lines(added), removed=entry_lines(removed), rewritten=[], rewritten_count=0,
                    read="state")
        steps = self._plan(owned_ps, chunks, current, set(), added, removed, wanted, frozenset())
        plan = ["removeObjectByIdAndReferences" if step[0] == "removeRule" else step[0] for step in steps]
        raw = self.state[STATE_KEY]
        data.update(planned=plan, changed=bool(plan), chunks=len(chunks), placement=raw.get("placement"))
        if check_mode and plan:
            self._check_write_permission(plan)
        if check_mode or not plan:
            return data
        full_read_at = raw["full_read_at"]
        self.state.pop(STATE_KEY, None)
        self._from_record = True
        self._apply(steps, owned_ps, record)
        self._from_record = False
        data["chunks"] = self.chunks_after
        self._remember(record, wanted, full_read_at, data["placement"])
        return data

    def _apply(self, steps, owned_ps, record=None):
        """Run the planned steps; returns the owned PolicySet when this run added it. ``record`` (an
        ``OwnedRecord`` of the objects before the writes), when given, is brought forward with each write."""
        # the PAP tells visibility by splitting the id on "_" (see _argus.ids.PRIVATE_ID_PREFIX)
        prefix = PUBLIC_ID_PREFIX if self.public else PRIVATE_ID_PREFIX
        record = record if record is not None else OwnedRecord({}, {}, None)
        stored = []
        for step in steps:
            operation = step[0]
            if operation == "storePolicy":
                stored.append(self.client.store_policy(self.alias, prefix, self._policy(step[1], prefix, "1")))
                record.store_policy(stored[-1], "1", self._rules_of(step[1]))
            elif operation == "addPolicySet":
                owned_ps = self._policy_set(references=[("policy", pid) for pid in stored])
                owned_ps.policy_set_id = self.client.add_policy_set(self.alias, 0, owned_ps)
                if not owned_ps.policy_set_id:
                    raise RemoteError("addPolicySet returned no id", server=self.label, operation="addPolicySet")
                record.add_policy_set(owned_ps.policy_set_id, owned_ps.version, owned_ps.references, 0)
                return owned_ps
            elif operation == "addPolicies":
                ids = self.client.add_policies(self.alias, 0, owned_ps.policy_set_id, [prefix],
                                               [self._policy(step[1], prefix, "1")])
                if not ids or not ids[0]:
                    raise RemoteError("addPolicies returned no id", server=self.label, operation="addPolicies")
                record.add_policies(owned_ps.policy_set_id, 0, ids, [self._rules_of(step[1])])
            elif operation == "updatePolicy":
                old = step[1]
                # True, or WriteRefusedError (false reply / stale version): retried by sync() after a re-read
                self.client.update_policy(self.alias, old.version,
                                          self._policy(step[2], old.policy_id, _bump(old.version)))
                record.update_policy(old.policy_id, _bump(old.version), self._rules_of(step[2]))
            elif operation == "updatePolicySet":
                version, references = self._commit(owned_ps, step[1], stored)
                record.update_policy_set(owned_ps.policy_set_id, version, references)
            elif operation == "removeRule":
                self.client.remove_object_by_id_and_references(self.alias, step[1].rule_id)
                record.remove_rule(step[1].rule_id, self._default_rule_id)
            elif operation == "removePolicy":
                self.client.remove_policy(self.alias, step[1].policy_id)
                record.delete_policy(step[1].policy_id)
            else:
                self.client.remove_object_by_id_and_references(self.alias, step[1].policy_id)
                record.remove_policy_and_references(step[1].policy_id)
        return None

    def _commit(self, owned_ps, replaced, stored):
        """ONE version-checked ``updatePolicySet``: the references of the ``replaced`` chunks give way to the
        ``stored`` ones (at the place of the first replaced chunk); references to missing objects are dropped."""
        gone = set(chunk.policy_id for chunk in replaced)
        references = []
        for kind, ref in owned_ps.references:
            if kind == "policy" and ref in gone:
                if stored:
                    references.extend(("policy", pid) for pid in stored)
                    stored = []
                continue
            references.append((kind, ref))
        references.extend(("policy", pid) for pid in stored)
        new = self._policy_set(owned_ps.policy_set_id, _bump(owned_ps.version), references)
        self.client.update_policy_set(self.alias, owned_ps.version, new)
        return new.version, references
