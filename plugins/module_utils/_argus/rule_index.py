# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Lookups into the rules of one view policy (``_argus.policy_view.VPolicy.index``), for the planner.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

A file of its own because under AnsiballZ every imported module_util is compiled on every run: only planning
uses the index, so a module that only reads a tree (``argus_policy_info``) does not compile it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_view import DENY


class RuleIndex:
    """Lookups into the rules of one policy, so that planning never scans a policy once per requested value.

    ``plain``: ``value_key`` -> plain deny rules with that value (policy order); ``literal``: ``(attr, literal)``
    -> deny rules (plain or compound) holding that exact attribute (what the PAP's ``ban``/``unban`` look for);
    ``compound``: the deny rules with several attributes.
    """

    def __init__(self, rules):
        self.plain = {}
        self.literal = {}
        self.compound = []
        for rule in rules:
            self.add(rule, first=False)
        self.stamp = None

    def add(self, rule, first):
        if rule.effect != DENY:
            return
        entries = []
        if rule.plain:
            entries.append((self.plain, rule.plain_key()))
        else:
            entries.append(None)
        for pair in set(rule.attributes):
            entries.append((self.literal, pair))
        for entry in entries:
            if entry is None:
                if first:
                    self.compound.insert(0, rule)
                else:
                    self.compound.append(rule)
                continue
            table, key = entry
            bucket = table.setdefault(key, [])
            if first:
                bucket.insert(0, rule)
            else:
                bucket.append(rule)

    def remove(self, rule):
        if rule.effect != DENY:
            return
        if rule.plain:
            self._drop(self.plain, rule.plain_key(), rule)
        else:
            self.compound = [r for r in self.compound if r is not rule]
        for pair in set(rule.attributes):
            self._drop(self.literal, pair, rule)

    @staticmethod
    def _drop(table, key, rule):
        bucket = table.get(key)
        if bucket is not None:
            bucket[:] = [r for r in bucket if r is not rule]
            if not bucket:
                del table[key]
