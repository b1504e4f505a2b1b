# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The daily canary of the central suspension team and the canary check of one PAP node.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

* The canary's format (DN, token subject, hash, dates) and the status codes are in ``_argus/canary_format.py``
  (standard library only: the sync and the status modules import it on every run).
* What the PDP of a node decides for the canary and for given subjects (``analyse_canary``, ``check_subjects``,
  with the evaluator of ``_argus/pdp.py``), the status of a node against the lag thresholds and the delay budget
  of a hierarchy, and ``check_endpoint``: the whole check of one node (run in a worker thread by
  ``argus_canary``).

The Nagios and Prometheus renderers are in ``_argus/canary_metrics.py``, the configuration lint in
``_argus/lint.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.gridsec.ops.plugins.module_utils._argus.pdp import (
    alias_labeller,
    evaluate,
    fetch_node,
    pap_summary,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.attributes import X500NAME
from ansible_collections.gridsec.ops.plugins.module_utils._dn import (
    same_stored_dn,
)
from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    GridsecError,
)

from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import (
    CRITICAL,
    OK,
    UNKNOWN,
    WARNING,
    date_start,
    parse_canary,
    utc_text,
)

SUBJECT_ID = "urn:oasis:names:tc:xacml:1.0:subject:subject-id"


def find_canaries(tree, salt=None, alias=None):
    """Every canary-shaped x500Name subject value in ``tree`` (whatever the rule effect, like the probe)."""
    found = []
    for policy_set, policy, rule in tree.iter_rules():
        for attribute in rule.attributes:
            if attribute.datatype != X500NAME or attribute.element != "subject":
                continue
            parsed = parse_canary(attribute.value, salt)
            if parsed is None:
                continue
            parsed.update(alias=alias,
                          value=attribute.value, effect=rule.effect.lower(), policy_id=policy.policy_id,
                          rule_id=rule.rule_id, resource=policy_set.resource, action=policy.action,
                          plain=len(rule.attributes) == 1)
            found.append(parsed)
    return found


def _counts(item, require_valid):
    if require_valid and item["hash_valid"] is not True:
        return False
    return item["hash_valid"] is not False


def newest_canary(canaries, require_valid, not_after=None):
    """The canary with the latest date (a valid hash when ``require_valid``), none dated after ``not_after``:
    a canary dated after today is never today's (nor the newest)."""
    best = None
    for item in canaries:
        if not _counts(item, require_valid):
            continue
        if not_after is not None and item["date"] > not_after:
            continue
        if best is None or item["date"] > best["date"]:
            best = item
    return best


# ---------------------------------------------------------------------------------------------------------
# The canary on one node: what the PDP decides for it
# ---------------------------------------------------------------------------------------------------------

def canary_request(value, resource=None, action=None):
    return {"resource": resource, "action": action, "attributes": {"subject": value}}


def _where(result):
    """'policy P, alias A', leaving out the alias when the view does not say which one it came from."""
    if result.get("alias") is None:
        return "policy %s" % result["policy_id"]
    return "policy %s, alias %s" % (result["policy_id"], result["alias"])


def _decision_text(result):
    if result["decision"] == "deny":
        return "denied by rule %s (%s)" % (result["rule_id"], _where(result))
    if result["decision"] in ("permit", "maybe-permit"):
        attrs = ", ".join("%s = %s" % (a["id"], a["value"]) for a in result["attributes"]) or "anyone"
        return "%s by rule %s { %s } (%s) before any deny" % (
            "PERMITTED" if result["decision"] == "permit" else "may be PERMITTED", result["rule_id"], attrs,
            _where(result))
    return "no rule applies (NotApplicable): the ban does not fire"


def analyse_canary(data, salt, today, request_resource=None, request_action=None):
    """The canary part of a node result from ``fetch_node`` data."""
    canaries = []
    label = alias_labeller(data["roots"])
    if data["view"] == "pdp":
        for item in find_canaries(data["pdp_tree"], salt):
            item["alias"] = _alias_of_policy(data["pdp_tree"], item["policy_id"], data["roots"])
            canaries.append(item)
    for alias, tree in data["trees"].items():
        canaries.extend(find_canaries(tree, salt, alias=alias))
    has_salt = salt not in (None, "")
    newest = newest_canary(canaries, require_valid=has_salt, not_after=today)
    result = {
        "canaries": [dict((k, c[k]) for k in ("alias", "date", "hash", "hash_valid", "effect", "value", "resource",
                                              "action", "policy_id", "rule_id")) for c in canaries],
        "invalid_hash": sorted(set(c["value"] for c in canaries if c["hash_valid"] is False)),
        "newest": None, "newest_date": None, "newest_alias": None, "today": today, "today_present": False,
        "future_dates": sorted(set(c["date"] for c in canaries if c["date"] > today and _counts(c, has_salt))),
    }
    if newest is not None:
        result.update(newest=newest["value"], newest_date=newest["date"], newest_alias=newest["alias"],
                      today_present=newest["date"] == today)
    # Would the node actually deny today's (else the newest) canary?
    value = newest["value"] if newest is not None else None
    if value is not None:
        decision = evaluate(data["pdp_tree"], canary_request(value, request_resource, request_action), label)
        result["effective"] = dict(decision, text=_decision_text(decision))
        if data.get("export_tree") is not None:
            exported = evaluate(data["export_tree"], canary_request(value, request_resource, request_action))
            result["export"] = dict(exported, text=_decision_text(exported))
        else:
            result["export"] = None
    else:
        result["effective"] = None
        result["export"] = None
    result["effective_deny"] = bool(result["effective"] and result["effective"]["denied"]
                                    and (result["export"] is None or result["export"]["denied"]))
    return result


def _aliases_holding(data, dn):
    """Aliases (local and cached remote) with a rule on the subject ``dn`` (any effect)."""
    aliases = set()
    views = list(data["trees"].items())
    if data["view"] == "pdp":
        views.append((None, data["pdp_tree"]))
    for alias, tree in views:
        for _ps, policy, rule in tree.iter_rules():
            for attribute in rule.attributes:
                if (attribute.datatype == X500NAME and attribute.element == "subject"
                        and same_stored_dn(attribute.value, dn)):
                    aliases.add(alias or _alias_of_policy(tree, policy.policy_id, data["roots"]))
    return sorted(a for a in aliases if a)


def check_subjects(data, subjects, request_resource=None, request_action=None):
    """For each DN of ``subjects``: where a node stores a rule on it and what its PDP view decides (like the canary).

    A subject that is not denied does not change the node's status (it may have been unbanned on purpose)."""
    label = alias_labeller(data["roots"])
    result = []
    for dn in subjects or []:
        decision = evaluate(data["pdp_tree"], canary_request(dn, request_resource, request_action), label)
        aliases = _aliases_holding(data, dn)
        result.append({"dn": dn, "present": bool(aliases), "aliases": aliases, "denied": decision["denied"],
                       "effective": dict(decision, text=_decision_text(decision)), "export": None})
    return result


def _alias_of_policy(tree, policy_id, roots):
    """Alias whose per-PAP root (in a merged tree) leads to ``policy_id``."""
    for root_id, alias in roots.items():
        stack = [root_id]
        seen = set()
        while stack:
            psid = stack.pop()
            if psid in seen:
                continue
            seen.add(psid)
            ps = tree.policy_sets.get(psid)
            if ps is None:
                continue
            for kind, ref in ps.references:
                if kind == "policy" and ref == policy_id:
                    return alias
                if kind == "policyset":
                    stack.append(ref)
    return None


# ---------------------------------------------------------------------------------------------------------
# Status of a checked node, delay budget
# ---------------------------------------------------------------------------------------------------------

def node_status(node, warning_lag, critical_lag, strict_today=False):
    """(status code, [problems]) of one checked node.

    Without ``strict_today`` a node still on an older canary is OK while its lag (time since today's canary was
    due) is below ``warning_lag``; with it (the probe's ``--today``) a node without today's canary is CRITICAL.
    """
    problems = []
    if node.get("error"):
        return UNKNOWN, ["check failed: %s" % node["error"]]
    code = OK
    if node.get("future_dates"):
        problems.append("canary dated after %s present (%s): never counted as today's; the publisher's clock or "
                        "date is wrong" % (node.get("today"), ", ".join(node["future_dates"])))
        code = WARNING
    if node.get("newest") is None:
        if node.get("invalid_hash"):
            problems.append("no canary with a valid hash (%d with a wrong hash: wrong salt?)"
                            % len(node["invalid_hash"]))
        else:
            problems.append("no canary found")
        return CRITICAL, problems
    effective = node.get("effective") or {}
    if not effective.get("denied"):
        problems.append("the canary is present but the node would not deny it: %s" % effective.get("text"))
        code = CRITICAL
    export = node.get("export")
    if export is not None and not export.get("denied"):
        problems.append("the canary is present but not re-exported to downstream PAPs: %s" % export.get("text"))
        code = CRITICAL
    lag = node.get("lag_seconds")
    if lag is not None:
        if critical_lag is not None and lag >= critical_lag:
            problems.append("lag %ds >= critical threshold %ds" % (lag, critical_lag))
            code = max(code, CRITICAL)
        elif warning_lag is not None and lag >= warning_lag:
            problems.append("lag %ds >= warning threshold %ds" % (lag, warning_lag))
            code = max(code, WARNING)
    if not node.get("today_present"):
        problems.append("today's canary (%s) not present; newest is %s" % (node.get("today"), node.get("newest_date")))
        if node.get("publish_overdue"):
            problems.append("this is where the canary is published (no remote PAP) and today's was due at %s: "
                            "the publication failed or is late" % utc_text(node.get("due_at")))
            code = max(code, WARNING)
        if strict_today:
            problems.append("strict_today: a node without today's canary is CRITICAL")
            code = CRITICAL
    return code, problems


def _norm_host(host):
    host = (host or "").lower().rstrip(".")
    return "localhost" if host in ("127.0.0.1", "::1", "localhost") else host


def compute_budgets(nodes, hop_allowance, extra_delay):
    """Delay budget of every node: for each hop from a node upstream in ``nodes`` (matched by host:port of the
    node's enabled remote PAPs), the pulling node's poll interval + ``hop_allowance``; + ``extra_delay``.

    Sets ``budget_seconds``, ``budget_complete`` (False when an upstream is not among the checked nodes or a
    poll interval is unknown) and ``upstreams`` (names) on each node.
    """
    by_endpoint = {}
    for node in nodes:
        by_endpoint[(_norm_host(node["host"]), int(node["port"]))] = node
    memo = {}

    def budget(node, stack):
        name = node["name"]
        if name in memo:
            return memo[name]
        if name in stack:
            return (0.0, False)
        stack = stack | frozenset([name])
        remotes = [r for r in node.get("remotes") or [] if r.get("enabled")]
        if not remotes:
            memo[name] = (0.0, True)
            return memo[name]
        interval = node.get("poll_interval")
        complete = interval is not None
        hop = float(interval or 0.0) + float(hop_allowance)
        best = 0.0
        for remote in remotes:
            try:
                key = (_norm_host(remote.get("hostname")), int(remote.get("port") or 8150))
            except (TypeError, ValueError):
                key = None
            upstream = by_endpoint.get(key)
            if upstream is None:
                complete = False
                continue
            up_budget, up_complete = budget(upstream, stack)
            complete = complete and up_complete
            best = max(best, up_budget)
        memo[name] = (best + hop, complete)
        return memo[name]

    for node in nodes:
        value, complete = budget(node, frozenset())
        node["budget_seconds"] = round(value + float(extra_delay), 3)
        node["budget_complete"] = complete
        node["upstreams"] = [by_endpoint[key]["name"] for key in _remote_endpoints(node) if key in by_endpoint]
    return nodes


def _remote_endpoints(node):
    """``(host, port)`` of each remote PAP ``node`` pulls from, in order (an entry that does not parse is skipped)."""
    keys = []
    for remote in node.get("remotes") or []:
        try:
            keys.append((_norm_host(remote.get("hostname")), int(remote.get("port") or 8150)))
        except (TypeError, ValueError):
            continue
    return keys


def downstream_names(nodes):
    """{node name: [names of checked nodes that pull from it]}."""
    by_endpoint = dict(((_norm_host(n["host"]), int(n["port"])), n["name"]) for n in nodes)
    result = dict((n["name"], []) for n in nodes)
    for node in nodes:
        for key in _remote_endpoints(node):
            if key in by_endpoint:
                result[by_endpoint[key]].append(node["name"])
    return result


# ---------------------------------------------------------------------------------------------------------
# The canary check of one endpoint (runs in a worker thread)
# ---------------------------------------------------------------------------------------------------------

class CheckOptions(object):
    """What every endpoint check shares."""

    def __init__(self, salt=None, today=None, request_resource=None, request_action=None, view="pdp",
                 publish_offset=0, since=None, wait_until=None, wait_step=0.5, started=None, clock=None,
                 sleep=None, subjects=None):
        self.subjects = list(subjects or [])
        self.salt = salt
        self.today = today
        self.request_resource = request_resource
        self.request_action = request_action
        self.view = view
        self.publish_offset = publish_offset
        self.since = since
        self.wait_until = wait_until
        self.wait_step = wait_step
        self.clock = clock or time.time
        self.sleep = sleep or time.sleep
        self.started = started if started is not None else self.clock()


def check_endpoint(endpoint, client, options):
    """Check one PAP: returns the node result dict (``error`` set when the PAP could not be read)."""
    node = {"name": endpoint["name"], "host": endpoint["host"], "port": endpoint["port"], "url": endpoint.get("url"),
            "error": None, "errors": {}, "today": options.today}
    absent_seen = None  # start of the last look that did not find today's canary
    first_look = None
    try:
        while True:
            look = options.clock()
            if first_look is None:
                first_look = look
            data = fetch_node(client, view=options.view)
            found = analyse_canary(data, options.salt, options.today, options.request_resource,
                                   options.request_action)
            observed = options.clock()
            if found["today_present"] or options.wait_until is None or observed >= options.wait_until:
                break
            absent_seen = look
            options.sleep(min(options.wait_step, max(0.0, options.wait_until - observed)))
    except GridsecError as err:
        node["error"] = str(err)
        node["requests"] = len(client.operations)
        return node, None
    node.update(found)
    node["checked_at"] = observed
    node["first_look_at"] = first_look
    node["absent_at"] = absent_seen
    node["subjects"] = check_subjects(data, options.subjects, options.request_resource, options.request_action)
    node["errors"] = data["errors"]
    node["view"] = data["view"]
    node["paps"] = [pap_summary(p) for p in data["paps"]]
    node["order"] = data["order"]
    node["remotes"] = [pap_summary(p) for p in data["paps"] if not p.local]
    node["poll_interval"] = data["poll_interval"]
    now = options.clock()
    due = date_start(options.today) + options.publish_offset
    reference = options.since if options.since is not None else (
        options.started if options.wait_until is not None else None)
    if found["today_present"]:
        # The canary arrived between the last look that missed it (or the reference) and ``observed``:
        # lag_seconds is the upper bound, lag_min_seconds the lower bound of the propagation delay.
        node["observed_at"] = observed
        upper = 0.0 if reference is None else max(0.0, observed - reference)
        lower = 0.0 if reference is None or absent_seen is None else max(0.0, absent_seen - reference)
    else:
        node["observed_at"] = None
        upper = lower = max(0.0, now - max(due, options.since or 0))
    node["lag_seconds"] = int(upper)
    node["lag_min_seconds"] = round(lower, 3)
    node["due_at"] = due
    # A node without remote PAPs is where the canary is published (the central PAP): without today's canary
    # after the publish time, nothing below it can show today's propagation.
    node["origin"] = not node["remotes"]
    node["publish_overdue"] = bool(node["origin"] and not found["today_present"] and now >= due)
    node["newest_age_seconds"] = int(now - date_start(found["newest_date"])) if found["newest_date"] else None
    node["requests"] = len(client.operations)
    return node, data


def add_export_check(node, client, options):
    """Evaluate what a downstream PAP receives from ``node`` (PAP query); updates effective_deny."""
    if node.get("error") or node.get("newest") is None:
        return node
    try:
        tree = client.policy_query(pdp=False)
    except GridsecError as err:
        node["errors"]["XACMLPolicyQuery (PAP query)"] = str(err)
        node["export"] = {"decision": "unknown", "denied": False, "text": "export not readable: %s" % err}
        node["effective_deny"] = False
        return node
    exported = evaluate(tree, canary_request(node["newest"], options.request_resource, options.request_action))
    node["export"] = dict(exported, text=_decision_text(exported))
    for subject in node.get("subjects") or []:
        decision = evaluate(tree, canary_request(subject["dn"], options.request_resource, options.request_action))
        subject["export"] = dict(decision, text=_decision_text(decision))
    node["effective_deny"] = bool((node.get("effective") or {}).get("denied") and exported["denied"])
    return node
