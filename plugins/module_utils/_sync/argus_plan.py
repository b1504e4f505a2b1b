# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The write plan of the ``argus`` sync target (``_sync/argus.py``): the owned list kept in chunks (policies of at
most one request each), and which writes bring them to a new list at the least cost without ever lifting a ban
that stays.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import sort_key

#: the action of the owned policies (their PolicySet matches every resource: ``_sync/argus.py`` OWNED_RESOURCE)
OWNED_ACTION = ".*"
# what one call costs beside its bytes (a TLS round trip, the PAP's work on one request), counted in bytes: a small
# change is written rule by rule when that costs less than rewriting the policies it touches
CALL_COST = 32 * 1024
_RULE_CALL_BYTES = 1024
# at most this many rule-level writes for one change; above it the touched policies are rewritten
RULE_WRITES_MAX = 32
# additions go into the last owned policy while it stays below this (else into a new one): a small change never
# rewrites a large policy only to add rules
TAIL_BYTES = 128 * 1024


class ChunkPlanner(object):
    """The planning half of ``ArgusTarget``: needs ``self.size(entry)``, ``self.chunk_budget`` (bytes of rules per
    request) and ``self.public``; sets ``self.chunks_after`` (the owned policies after the plan)."""

    chunk_budget = 0
    public = True
    chunks_after = 0

    def size(self, entry):
        """Bytes of the entry's rule in a request (the target knows the literal it writes)."""
        raise NotImplementedError

    def _split(self, entries):
        """``entries`` (list order) in chunks whose policy fits one request of ``max_request_bytes``; at least
        one chunk (an empty list is one empty policy, so the owned PolicySet always references a policy)."""
        chunks, chunk, size = [], [], 0
        for entry in sorted(entries, key=sort_key):
            cost = self.size(entry)
            if chunk and size + cost > self.chunk_budget:
                chunks.append(chunk)
                chunk, size = [], 0
            chunk.append(entry)
            size += cost
        chunks.append(chunk)
        return chunks

    def _plan_whole_list(self, owned_ps, chunks, wanted):
        """The writes when the whole list is written anew (no owned PolicySet, none of its policies, or another
        visibility), else None: the new chunks are in place before anything old goes."""
        if owned_ps is not None and chunks and all(chunk.public == self.public for chunk in chunks):
            return None
        parts = self._split(wanted.values())
        self.chunks_after = len(parts)
        if owned_ps is None:
            return [("storePolicy", part) for part in parts] + [("addPolicySet",)]
        return [("addPolicies", part) for part in parts] + [("removeObjectByIdAndReferences", c) for c in chunks]

    def _plan(self, owned_ps, chunks, current, dirty, added, removed, wanted, shared_rule_ids=frozenset()):
        """The writes, as ``(operation, argument...)`` steps, in an order that never lifts a ban that stays.

        - no owned PolicySet: ``storePolicy`` per chunk (stored unreferenced: enforced by nothing), then ONE
          ``addPolicySet`` referencing them (the commit: the PDPs see all of the list or none of it);
        - an owned PolicySet without owned policies: ``addPolicies`` per chunk;
        - another visibility: the new policies are added before the old ones are removed;
        - a few rules out of chunks that keep others: one ``removeObjectByIdAndReferences`` per rule (the PAP's
          rule-level removal) when cheaper than rewriting those chunks (``CALL_COST``); additions go into the last
          chunk while it is small (``TAIL_BYTES``), else into a new one (``addPolicies``);
        - a change that takes rules out of at most one chunk and fits the chunks: the chunks that only gain rules
          first, then the one that loses rules, each in one version-checked ``updatePolicy`` (a new chunk for
          additions that fit nowhere: ``addPolicies``);
        - otherwise (rules out of several chunks, a chunk over the request size): the new versions of the touched
          chunks are stored unreferenced, ONE version-checked ``updatePolicySet`` swaps the references (the
          commit), then the old chunks are removed. A failure before the commit leaves the previous list
          enforced; the stored leftovers are owned and unreferenced, and the next run removes them.
        """
        whole = self._plan_whole_list(owned_ps, chunks, wanted)
        if whole is not None:
            return whole
        self.chunks_after = len(chunks)
        content = [[] for _chunk in chunks]
        for key, (_entry, index, _rule) in current.items():
            if key in wanted:
                content[index].append(wanted[key])
        removed_in = {}
        for entry in removed:
            removed_in.setdefault(current[entry.key][1], []).append(current[entry.key][2])
        touched = set(dirty) | set(i for i, chunk in enumerate(chunks) if chunk.action != OWNED_ACTION)
        sizes = [sum(self.size(e) for e in part) for part in content]
        pending = sorted(added, key=sort_key)
        last = len(chunks) - 1
        tail = self.chunk_budget if last in touched or last in removed_in else min(self.chunk_budget, TAIL_BYTES)
        while pending and sizes[last] + self.size(pending[0]) <= tail:
            entry = pending.pop(0)
            content[last].append(entry)
            sizes[last] += self.size(entry)
            touched.add(last)
        # removals in a policy rewritten anyway go with it; elsewhere rule by rule when that is cheaper
        rule_steps = self._rule_removals(dict((i, r) for i, r in removed_in.items() if i not in touched), content,
                                         sizes, shared_rule_ids)
        if not rule_steps:
            touched.update(removed_in)
        losing = set(i for i in touched if i in removed_in or i in dirty or chunks[i].action != OWNED_ACTION)
        new_parts = self._split(pending) if pending else []
        oversize = [i for i in touched if sizes[i] > self.chunk_budget]
        emptied = [i for i in sorted(touched) if not content[i]]
        if len(emptied) == len(chunks) and not new_parts:
            emptied = emptied[1:]  # the last rule goes: one empty policy stays referenced
        steps = []
        if len(losing) <= 1 and not oversize:
            steps.extend(("addPolicies", part) for part in new_parts)
            for index in sorted(touched, key=lambda i: (i in losing, i)):
                if index in emptied:
                    steps.append(("removeObjectByIdAndReferences", chunks[index]))
                else:
                    steps.append(("updatePolicy", chunks[index], content[index]))
            self.chunks_after = len(chunks) + len(new_parts) - len(emptied)
            if rule_steps and not steps:
                # rule-level removals write no Description: the PolicySet records the serial and time (C2)
                return rule_steps + [("updatePolicySet", [])]
            return steps + rule_steps
        replaced = dict((i, self._split(content[i]) if content[i] else []) for i in sorted(touched))
        parts = [part for i in sorted(replaced) for part in replaced[i]] + new_parts
        if not parts and len(replaced) == len(chunks):
            parts = [[]]
        steps.extend(("storePolicy", part) for part in parts)
        steps.append(("updatePolicySet", [chunks[i] for i in sorted(replaced)]))
        steps.extend(("removePolicy", chunks[i]) for i in sorted(replaced))
        self.chunks_after = len(chunks) - len(replaced) + len(parts)
        return steps + rule_steps

    @staticmethod
    def _rule_removals(removed_in, content, sizes, shared_rule_ids):
        """``removeObjectByIdAndReferences`` of each rule of ``removed_in`` (chunk index -> rules) when that costs
        less than rewriting those chunks, each keeps a rule (a policy's last rule takes the policy with it) and no
        rule id is held twice in the alias (the PAP removes the first rule it finds with the id); else []."""
        rules = [rule for index in sorted(removed_in) for rule in removed_in[index]]
        if not rules or len(rules) > RULE_WRITES_MAX or any(rule.rule_id in shared_rule_ids for rule in rules):
            return []
        if not all(content[index] for index in removed_in):
            return []
        if len(rules) * (CALL_COST + _RULE_CALL_BYTES) >= sum(CALL_COST + sizes[i] for i in removed_in):
            return []
        return [("removeRule", rule) for rule in rules]
