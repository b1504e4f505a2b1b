# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""A scripted stand-in for PapClient, and a helper that runs an Argus module's main() against it."""

import copy
import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.gridsec.ops.plugins.module_utils._argus import endpoint as _argus_endpoint
from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import Pap
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import (
    Attribute,
    PapPolicyTree,
    Policy,
    PolicySet,
    Rule,
)

WRITES = {"ban", "unban", "update_policy", "remove_object_by_id_and_references", "add_policy_set", "add_policies",
          "add_policy", "add_pap", "update_pap", "remove_pap", "set_enabled", "set_order", "set_polling_interval",
          "add_ace", "remove_ace", "refresh_cache"}


def make_tree(alias, *policy_sets):
    """policy_sets: (ps_id, resource, [(policy_id, action, [(effect, [(attr, value), ...]), ...])])"""
    root = PolicySet(alias + "-root", "0", None, [("policyset", ps[0]) for ps in policy_sets])
    sets = [root]
    policies = []
    n = 0
    for ps_id, resource, pols in policy_sets:
        sets.append(PolicySet(ps_id, "1", resource, [("policy", p[0]) for p in pols]))
        for pid, action, rules in pols:
            built = []
            for effect, attrs in rules:
                n += 1
                built.append(Rule("rule-%d" % n, effect, [Attribute(a, v) for a, v in attrs]))
            policies.append(Policy(pid, "3", action, built))
    return PapPolicyTree.from_lists(alias, root, sets, policies)


class FakePapClient:
    """Answers reads from ``trees``/``paps``; records every call; ``fail_on`` = {method: exception or callable}."""

    def __init__(self, trees=None, paps=None, acl=None, order=None, interval=300.0, fail_on=None, results=None):
        self.trees = dict(trees or {})
        self.paps = paps if paps is not None else [Pap("default", local=True, enabled=True, public=True)]
        self.acl = dict(acl or {})
        self.order = order or [p.alias for p in self.paps]
        self.interval = interval
        self.fail_on = dict(fail_on or {})
        self.results = dict(results or {})
        self.calls = []
        self.operations = []
        self.tree_reads = {}

    def _record(self, name, *args):
        self.calls.append((name,) + args)
        self.operations.append({"service": "fake", "operation": name, "args": {}})
        failure = self.fail_on.get(name)
        if failure is not None:
            if callable(failure) and not isinstance(failure, Exception):
                failure = failure(len([c for c in self.calls if c[0] == name]))
            if failure is not None:
                raise failure
        return self.results.get(name)

    @property
    def writes(self):
        return [c for c in self.calls if c[0] in WRITES]

    def get_all_paps(self):
        self._record("get_all_paps")
        return list(self.paps)

    def get_tree(self, alias):
        self._record("get_tree", alias)
        trees = self.trees.get(alias)
        if isinstance(trees, list):  # successive reads return successive trees
            n = self.tree_reads.get(alias, 0)
            self.tree_reads[alias] = n + 1
            return copy.deepcopy(trees[min(n, len(trees) - 1)])
        if trees is None:
            return make_tree(alias)
        return copy.deepcopy(trees)

    def list_policies(self, alias):
        self._record("list_policies", alias)
        trees = self.trees.get(alias)
        if isinstance(trees, list):  # does not advance the successive reads of get_tree
            trees = trees[min(self.tree_reads.get(alias, 0), len(trees) - 1)]
        return list((trees or make_tree(alias)).policies.values())

    def get_order(self):
        self._record("get_order")
        return list(self.order)

    def get_polling_interval(self):
        self._record("get_polling_interval")
        return self.interval

    def get_acl(self):
        self._record("get_acl")
        return dict(self.acl)

    def __getattr__(self, name):
        if name in WRITES:
            def write(*args, **kwargs):
                return self._record(name, *args)
            return write
        raise AttributeError(name)


def run_module(monkeypatch, capsys, main, args, client, check_mode=False, diff=False):
    """Run ``main()`` with ``args`` against ``client``; returns the JSON result (failed or not)."""
    monkeypatch.setattr(_argus_endpoint, "HttpTransport", lambda *a, **k: object())
    # every PapEndpoint.client builds its client (a PapClient, or a PapReader for a module that only reads) here
    monkeypatch.setattr(_argus_endpoint, "pap_client", lambda *a, **k: client)
    full = dict(args)
    full.setdefault("ca_path", "/nonexistent")
    full["_ansible_check_mode"] = check_mode
    full["_ansible_diff"] = diff
    with patch_module_args(full):
        with pytest.raises(SystemExit):
            main()
    out = capsys.readouterr().out
    return json.loads(out)


def warnings_of(result):
    """Warning texts of a module result (ansible-core 2.19 wraps them in structured summaries)."""
    texts = []
    for warning in result.get("warnings", []):
        if isinstance(warning, dict):
            warning = (warning.get("event") or {}).get("msg") or warning.get("msg") or json.dumps(warning)
        texts.append(warning)
    return texts
