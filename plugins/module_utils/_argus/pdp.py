# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""What the PDPs of an Argus node receive, and how they decide: reading a node and a first-applicable evaluator.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

* ``fetch_node()``: read one PAP (its PAPs, the order, the polling interval, the view its PDPs receive, optionally
  the exported view and ``/pap/status``); used by the canary check and the hierarchy lint.
* ``evaluate()``: a small first-applicable evaluator of what a PDP receives (argus-pap ProvisioningService:
  the enabled PAPs' trees in PAP order under a first-applicable root; ``merged_view`` builds that view from the
  trees when the PDP view cannot be read). Attributes of the request that are not known (FQAN, VO, issuer...)
  are *unknown*: a Permit whose other attributes are unknown "may apply", a Deny only fires when every attribute
  of its rule is known to match. The result is therefore "denied whatever else the request carries", which is
  what a ban must guarantee.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gridsec.ops.plugins.module_utils._argus.acl import (
    effective_order,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.attributes import ACTION_ID, RESOURCE_ID, X500NAME
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import PapPolicyTree, PolicySet
from ansible_collections.gridsec.ops.plugins.module_utils._dn import (
    same_stored_dn,
)
from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    AuthorizationError,
    GridsecError,
)


# ---------------------------------------------------------------------------------------------------------
# First-applicable evaluation of a policy tree (what a PDP does with what it receives)
# ---------------------------------------------------------------------------------------------------------

YES, MAYBE, NO = 2, 1, 0
_UNIVERSAL = frozenset([".*", "^.*$", ".*$", "^.*", "(.*)", "^(.*)$", ".*.*"])


def _regexp_match(pattern, value):
    if pattern is None:
        return YES
    if pattern in _UNIVERSAL:
        return YES
    if value is None:
        return MAYBE
    try:
        return YES if re.search(pattern, value) else NO
    except re.error:
        return MAYBE


def _attribute_match(attribute, request):
    """YES/NO when the request says, MAYBE for an attribute the request does not carry."""
    if attribute.xacml_id == RESOURCE_ID:
        return _regexp_match(attribute.value, request.get("resource"))
    if attribute.xacml_id == ACTION_ID:
        return _regexp_match(attribute.value, request.get("action"))
    known = request.get("attributes") or {}
    key = attribute.attribute_id_spl
    if key not in known and attribute.xacml_id not in known:
        return MAYBE
    wanted = known.get(key, known.get(attribute.xacml_id))
    values = wanted if isinstance(wanted, (list, tuple)) else [wanted]
    for value in values:
        if attribute.datatype == X500NAME:
            if same_stored_dn(attribute.value, value):
                return YES
        elif attribute.value == value:
            return YES
    return NO


def _target_level(attributes, request):
    level = YES
    for attribute in attributes:
        level = min(level, _attribute_match(attribute, request))
        if level == NO:
            return NO
    return level


def _set_attributes(policy_set):
    attrs = list(policy_set.target_attributes)
    if policy_set.resource is not None:
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import Attribute
        attrs.insert(0, Attribute("resource", policy_set.resource))
    return attrs


def _policy_attributes(policy):
    attrs = list(policy.target_attributes)
    if policy.action is not None:
        from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import Attribute
        attrs.insert(0, Attribute("action", policy.action))
    return attrs


def evaluate(tree, request, label_of=None):
    """Walk ``tree`` first-applicable and return what decides for ``request``.

    ``request``: ``{"resource": str|None, "action": str|None, "attributes": {spl_id: value|[values]}}``
    (None resource/action = any). Returns a dict: ``decision`` (``deny``, ``permit``, ``maybe-permit`` or
    ``not-applicable``), ``denied`` (True only for a definite Deny before any rule that may permit),
    ``rule_id``, ``policy_id``, ``policy_set_path`` (ids from the root), ``alias`` (``label_of(path)``),
    ``maybe_denies`` (Deny rules that would fire only for some requests, passed on the way).
    """
    result = {"decision": "not-applicable", "denied": False, "rule_id": None, "policy_id": None,
              "policy_set_path": [], "alias": None, "maybe_denies": 0, "effect": None, "attributes": []}
    if tree is None or tree.root is None:
        return result

    def finish(decision, path, policy, rule):
        result.update(decision=decision, denied=decision == "deny", rule_id=rule.rule_id,
                      policy_id=policy.policy_id, policy_set_path=list(path), effect=rule.effect.lower(),
                      attributes=[{"id": a.attribute_id_spl, "value": a.value} for a in rule.attributes])
        if label_of is not None:
            result["alias"] = label_of(path)
        return True

    def walk(policy_set, path, level, seen):
        level = min(level, _target_level(_set_attributes(policy_set), request))
        if level == NO:
            return False
        path = path + [policy_set.policy_set_id]
        for kind, ref in policy_set.references:
            if kind == "policyset" and ref not in tree.policy_sets and ref in tree.policies:
                kind = "policy"  # the PAP query's root references policies with PolicySetIdReference
            if kind == "policyset":
                child = tree.policy_sets.get(ref)
                if child is None or ref in seen:
                    continue
                if walk(child, path, level, seen | frozenset([ref])):
                    return True
                continue
            policy = tree.policies.get(ref)
            if policy is None:
                continue
            plevel = min(level, _target_level(_policy_attributes(policy), request))
            if plevel == NO:
                continue
            for rule in policy.rules:
                rlevel = min(plevel, _target_level(rule.attributes, request))
                if rule.condition is not None and rlevel == YES:
                    rlevel = MAYBE
                if rlevel == NO:
                    continue
                if rule.deny:
                    if rlevel == YES:
                        return finish("deny", path, policy, rule)
                    result["maybe_denies"] += 1
                else:
                    return finish("permit" if rlevel == YES else "maybe-permit", path, policy, rule)
        return False

    walk(tree.root, [], YES, frozenset([tree.root.policy_set_id]))
    return result


def merged_view(paps, order, trees):
    """A PDP view composed like the PAP does for its PDPs: enabled PAPs' trees in order under one root.

    ``paps``: [Pap], ``order``: effective order, ``trees``: {alias: PapPolicyTree}. Returns (tree, {root id: alias}).
    """
    view = PapPolicyTree("pdp", None)
    references = []
    roots = {}
    by_alias = dict((p.alias, p) for p in paps)
    for alias in order:
        pap = by_alias.get(alias)
        tree = trees.get(alias)
        if pap is None or not pap.enabled or tree is None or tree.root is None:
            continue
        root_id = "%s (%s)" % (tree.root.policy_set_id, alias)
        root = PolicySet(root_id, tree.root.version, tree.root.resource, tree.root.references)
        view.policy_sets.update(tree.policy_sets)
        view.policy_sets[root_id] = root
        view.policies.update(tree.policies)
        references.append(("policyset", root_id))
        roots[root_id] = alias
    view.root = PolicySet("root (composed)", "0", None, references)
    view.policy_sets[view.root.policy_set_id] = view.root
    return view, roots


# ---------------------------------------------------------------------------------------------------------
# /pap/status
# ---------------------------------------------------------------------------------------------------------

def status_url(base_url):
    """``https://host:port/pap/status`` from a services base URL ``https://host:port/pap/services``."""
    head = base_url.split("://", 1)
    rest = head[1] if len(head) == 2 else head[0]
    hostport = rest.split("/", 1)[0]
    return "%s://%s/pap/status" % (head[0] if len(head) == 2 else "https", hostport)


def read_status(client):
    """The ``key: value`` lines of ``/pap/status`` (argus-pap MonitoredProperties) as a dict."""
    transport = client.transport
    reply = transport.request("GET", status_url(transport.base_url), operation="GET /pap/status")
    status, body = _reply_status_body(reply)
    if status != 200:
        raise GridsecError("HTTP %s" % status, server=client.label, operation="GET /pap/status")
    values = {}
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    for line in text.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            values[key.strip()] = value.strip()
    return values


def _reply_status_body(reply):
    if isinstance(reply, tuple):
        return reply[0], reply[-1]
    return getattr(reply, "status", None), getattr(reply, "body", b"")


# ---------------------------------------------------------------------------------------------------------
# Reading one node: its PAPs, order and the view its PDPs receive
# ---------------------------------------------------------------------------------------------------------

def pap_summary(pap):
    port = pap.port
    try:
        port = int(port) if port not in (None, "") else None
    except (TypeError, ValueError):
        pass
    return {"alias": pap.alias, "local": bool(pap.local), "enabled": bool(pap.enabled), "public": bool(pap.public),
            "hostname": pap.hostname, "port": port}


def alias_labeller(roots):
    def label(path):
        for psid in path:
            if psid in roots:
                return roots[psid]
        return None
    return label


def fetch_node(client, view="pdp", exports=False, want_status=False, all_trees=False):
    """Read what the checks need from one PAP. Returns a dict (raises GridsecError when the PAP list fails)."""
    data = {"errors": {}}
    paps = client.get_all_paps()
    data["paps"] = paps
    try:
        order = client.get_order()
    except GridsecError as err:
        data["errors"]["getOrder"] = str(err)
        order = []
    data["order"] = effective_order(order or [], [p.alias for p in paps])
    try:
        data["poll_interval"] = client.get_polling_interval()
    except GridsecError as err:
        data["errors"]["getPollingInterval"] = str(err)
        data["poll_interval"] = None
    pdp_tree = None
    roots = {}
    trees = {}
    if view == "pdp":
        try:
            pdp_tree = client.policy_query(pdp=True)
            ids = dict((p.id, p.alias) for p in paps if p.id)
            if pdp_tree.root is not None:
                for kind, ref in pdp_tree.root.references:
                    if kind == "policyset" and ref in ids:
                        roots[ref] = ids[ref]
        except AuthorizationError as err:
            data["errors"]["XACMLPolicyQuery"] = str(err)
            pdp_tree = None
    in_view = set(roots.values())
    for pap in paps:
        if pdp_tree is not None and pap.alias in in_view and not all_trees:
            continue
        try:
            trees[pap.alias] = client.get_tree(pap.alias)
        except GridsecError as err:  # like the probe: an alias that cannot be read is skipped
            data["errors"]["alias %s" % pap.alias] = str(err)
    if pdp_tree is None:
        pdp_tree, roots = merged_view(paps, data["order"], trees)
        data["view"] = "composed"
    else:
        data["view"] = "pdp"
    data["pdp_tree"] = pdp_tree
    data["roots"] = roots
    data["trees"] = trees
    data["export_tree"] = None
    if exports:
        try:
            data["export_tree"] = client.policy_query(pdp=False)
        except GridsecError as err:
            data["errors"]["XACMLPolicyQuery (PAP query)"] = str(err)
    if want_status:
        try:
            data["status"] = read_status(client)
        except GridsecError as err:
            data["errors"]["GET /pap/status"] = str(err)
            data["status"] = None
    return data
