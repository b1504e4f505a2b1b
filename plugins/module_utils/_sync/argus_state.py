# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""What the ``argus`` sync target (``_sync/argus.py``) owns on the PAP, as the last run left it, kept in the
target's state: every PolicySet of the alias (id, version, references: what ``listPolicySets`` shows) and, per
owned policy, its version and the rules it holds (entry key id, attribute, literal; the rule id only when it is not
the one this sync derives from the key). A run whose ``listPolicySets`` shows the very PolicySets recorded here
plans a change from this record instead of reading every policy of the alias.

After a write the record is brought forward WITHOUT reading the PAP again, from the replies (the ids the PAP
generated) and from how argus-pap changes versions (``PapContainer``, ``FileSystemPolicyDAO``): a policy or
PolicySet sent with ``update*``/``store*``/``add*`` is stored with the version it was sent with; ``addPolicies``
bumps the PolicySet's version once per policy it references; ``addPolicySet`` and the removal of a PolicySet bump
the root; ``removeObjectByIdAndReferences`` of a rule bumps its policy, of a policy bumps each PolicySet that
referenced it; ``removePolicy`` changes no PolicySet. A concurrent writer adds bumps this record does not
predict, so the next ``listPolicySets`` differs and the run reads the alias in full.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

STATE_KEY = "owned"
FORMAT = 1


def bump(version):
    """argus-pap's version bump: the last dot-separated number + 1 (``"1"`` when it is not a number)."""
    parts = str(version or "0").split(".")
    try:
        parts[-1] = str(int(parts[-1]) + 1)
    except ValueError:
        parts = ["1"]
    return ".".join(parts)


def fingerprint(sets):
    """One digest of the alias's PolicySets: ``sets`` is id -> (version, [(kind, ref), ...])."""
    digest = hashlib.sha256()
    for ps_id in sorted(sets, key=lambda item: item or ""):
        version, refs = sets[ps_id]
        # tuples whatever the record was read from (JSON gives lists): the same text for the same references
        digest.update(("%s|%s|%s\n" % (ps_id, version, [tuple(pair) for pair in refs])).encode("utf-8"))
    return digest.hexdigest()


def sets_of(policy_sets):
    """id -> (version, references) of ``PolicySet`` objects (``listPolicySets``, root included)."""
    return dict((ps.policy_set_id, (ps.version, list(ps.references))) for ps in policy_sets if ps is not None)


class OwnedRecord(object):
    """The record and the changes a write makes to it (see the module docstring)."""

    def __init__(self, sets, policies, ps_id):
        #: id -> [version, [(kind, ref), ...]] of every PolicySet of the alias (root included)
        self.sets = dict((k, [v[0], [tuple(r) for r in v[1]]]) for k, v in sets.items())
        #: owned policy id -> [version, [[key_id, attribute, literal(, rule id)], ...]]
        self.policies = policies
        self.ps_id = ps_id
        #: False once a write happened whose effect on the versions is not predicted: not kept
        self.exact = True

    # -- what the state file holds -----------------------------------------------------------------------------
    # the rules of a policy are kept as ONE string, a line per rule, fields separated by a tab: the JSON state of
    # 10,000 entries loads and saves in a few ms (a list per rule costs several times that on every run)
    def to_state(self, **extra):
        policies = {}
        for policy_id, (version, rules) in self.policies.items():
            if not isinstance(rules, str):
                if any("\t" in field or "\n" in field for rule in rules for field in rule):
                    return None  # a literal the encoding cannot hold: no record (the next run reads in full)
                rules = "\n".join("\t".join(rule) for rule in rules)
            policies[policy_id] = [version, rules]
        return dict(extra, format=FORMAT, ps=self.ps_id, sets_fp=fingerprint(self.sets),
                    sets=dict((k, [v[0], [list(r) for r in v[1]]]) for k, v in self.sets.items()),
                    policies=policies)

    def rules(self, policy_id):
        """The rules of an owned policy (decoded from the state on first use); ValueError when malformed."""
        entry = self.policies[policy_id]
        if isinstance(entry[1], str):
            rules = [line.split("\t") for line in entry[1].split("\n")] if entry[1] else []
            if any(len(rule) not in (3, 4) for rule in rules):
                raise ValueError("malformed rule record of policy %s" % policy_id)
            entry[1] = rules
        return entry[1]

    @classmethod
    def from_state(cls, record):
        """The record, or None when it is missing, of another format or malformed."""
        try:
            if not isinstance(record, dict) or record.get("format") != FORMAT:
                return None
            sets = dict((str(k), (str(v[0]), [(str(r[0]), str(r[1])) for r in v[1]])) for k, v in record["sets"].items())
            policies = dict((str(k), [str(v[0]), v[1]]) for k, v in record["policies"].items())
            if not all(isinstance(v[1], str) for v in policies.values()):
                return None
            ps_id = record["ps"]
            if ps_id not in sets or fingerprint(sets) != record.get("sets_fp"):
                return None
            owned = [ref for kind, ref in sets[ps_id][1] if kind == "policy"]
            if not owned or set(owned) != set(policies):
                return None
            return cls(sets, policies, ps_id)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            return None

    def fingerprint(self):
        return fingerprint(self.sets)

    def chunk_ids(self):
        return [ref for kind, ref in self.sets[self.ps_id][1] if kind == "policy"]

    def root_id(self):
        referenced = set(ref for _v, refs in self.sets.values() for kind, ref in refs if kind != "policy")
        roots = [ps_id for ps_id in self.sets if ps_id not in referenced]
        return roots[0] if len(roots) == 1 else None

    # -- the effect of each write ------------------------------------------------------------------------------
    def store_policy(self, policy_id, version, rules):
        self.policies[policy_id] = [version, rules]

    def add_policy_set(self, ps_id, version, refs, index):
        root = self.root_id()
        if root is None:
            self.exact = False
            return
        self.sets[ps_id] = [version, list(refs)]
        self.sets[root][1].insert(index, ("policyset", ps_id))
        self.sets[root][0] = bump(self.sets[root][0])
        self.ps_id = ps_id

    def add_policies(self, ps_id, index, ids, rules_list):
        entry = self.sets.get(ps_id)
        if entry is None:
            # not recorded (the write follows a read the record could not be built from): nothing to bring forward
            self.exact = False
            return
        for number, (policy_id, rules) in enumerate(zip(ids, rules_list)):
            self.policies[policy_id] = ["1", rules]
            entry[1].insert(index + number, ("policy", policy_id))
            entry[0] = bump(entry[0])

    def update_policy(self, policy_id, version, rules):
        self.policies[policy_id] = [version, rules]

    def update_policy_set(self, ps_id, version, refs):
        self.sets[ps_id] = [version, list(refs)]

    def remove_rule(self, rule_id, default_id):
        for policy_id in list(self.policies):
            version, rules = self.policies[policy_id][0], self.rules(policy_id)
            kept = [rule for rule in rules if (rule[3] if len(rule) > 3 else default_id(rule[0])) != rule_id]
            if len(kept) != len(rules):
                if kept:
                    self.policies[policy_id] = [bump(version), kept]
                else:
                    self.remove_policy_and_references(policy_id)
                return
        self.exact = False

    def delete_policy(self, policy_id):
        self.policies.pop(policy_id, None)

    def remove_policy_and_references(self, policy_id):
        self.policies.pop(policy_id, None)
        for entry in self.sets.values():
            refs = [ref for ref in entry[1] if not (ref[0] == "policy" and ref[1] == policy_id)]
            if len(refs) != len(entry[1]):
                entry[1] = refs
                entry[0] = bump(entry[0])
                if not any(kind == "policy" for kind, _ref in refs):
                    self.exact = False  # argus-pap removes the PolicySet too: never planned by the sync
