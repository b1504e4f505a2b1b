# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Propagation latency of the daily canary: the first-seen memory of ``argus_canary`` (option ``history_file``),
the latency per node and per hop, the hops where propagation stopped, and the worst-case bound of each node
against the operator's latency SLO.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

The worst-case bound of a node (see docs/canary.md, "Latency and the worst-case bound") is

    bound = sum over the PAP path from the top checked node (poll interval of the pulling PAP + hop_allowance)
            + extra_delay + the node's PDP cache (retentionInterval, minutes) + its PEP cache (cachedResponseTTL)

that is ``budget_seconds`` (the PAP part, what the check itself can see) plus the two caches the check cannot
see. Argus's own defaults: PDP ``retentionInterval`` 240 minutes (argus-authz/argus-pdp
``src/main/java/org/glite/authz/pdp/config/PDPIniConfigurationParser.java``, ``DEFAULT_POLICY_RETENTION``; the PDP
pulls every retentionInterval minutes, ``.../pdp/policy/PolicyRepository.java``), PEP ``cachedResponseTTL`` 600 s
(argus-authz/argus-pep-server ``src/main/java/org/glite/authz/pep/server/config/PEPDaemonIniConfigurationParser.java``).
A node without remote PAPs (the central PAP, where the canary is published; the ``argus_server`` role's central
tier installs no PDP or PEP) counts no cache unless its endpoint sets one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import format_seconds, shift_date

#: Argus's own defaults (argus-pdp PDPIniConfigurationParser DEFAULT_POLICY_RETENTION, in minutes; argus-pep-server
#: PEPDaemonIniConfigurationParser cachedResponseTTL default, in seconds)
ARGUS_PDP_RETENTION_MINUTES = 240
ARGUS_PEP_CACHE_TTL = 600
#: days of first-seen records kept in the history file (today's and the days before)
HISTORY_DAYS = 7
HISTORY_VERSION = 1


# ---------------------------------------------------------------------------------------------------------
# The first-seen memory
# ---------------------------------------------------------------------------------------------------------

def load_history(text):
    """The history document from the file's text (``{"version", "nodes": {name: {"url", "days": {date: record}}}}``);
    an empty document for an empty text. Raises ValueError when the text is not a history document."""
    if not (text or "").strip():
        return {"version": HISTORY_VERSION, "nodes": {}}
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), dict):
        raise ValueError("not a canary history document (no 'nodes' object)")
    nodes = {}
    for name, entry in data["nodes"].items():
        if isinstance(entry, dict) and isinstance(entry.get("days"), dict):
            days = dict((d, r) for d, r in entry["days"].items() if isinstance(r, dict))
            nodes[str(name)] = {"url": entry.get("url"), "days": days}
    return {"version": HISTORY_VERSION, "nodes": nodes}


def dump_history(history):
    return json.dumps(history, indent=1, sort_keys=True) + "\n"


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _earliest(*values):
    values = [v for v in values if _number(v) is not None]
    return min(values) if values else None


def _latest(*values):
    values = [v for v in values if _number(v) is not None]
    return max(values) if values else None


def record_looks(history, nodes, today):
    """Add this check's looks to ``history`` (in place) and return it: per node and day, ``first_look`` (the first
    look of the day), ``first_seen`` (the first look that saw today's canary) and ``last_absent`` (the last look
    without it before ``first_seen``). Records older than ``HISTORY_DAYS`` days are dropped; a node whose endpoint
    URL changed starts afresh."""
    oldest = shift_date(today, -(HISTORY_DAYS - 1))
    for node in nodes:
        if node.get("error") or node.get("checked_at") is None:
            continue
        entry = history["nodes"].get(node["name"])
        if entry is None or entry.get("url") != node.get("url"):
            entry = {"url": node.get("url"), "days": {}}
            history["nodes"][node["name"]] = entry
        record = entry["days"].setdefault(today, {})
        first_look = node.get("first_look_at", node["checked_at"])
        record["first_look"] = _earliest(record.get("first_look"), first_look)
        if node.get("today_present"):
            record["first_seen"] = _earliest(record.get("first_seen"), node["checked_at"])
            absent = node.get("absent_at")
        else:
            absent = node["checked_at"]
        if absent is not None and (record.get("first_seen") is None or absent < record["first_seen"]):
            record["last_absent"] = _latest(record.get("last_absent"), absent)
    for name in list(history["nodes"]):
        days = history["nodes"][name]["days"]
        for date in [d for d in days if d < oldest]:
            del days[date]
        if not days:
            del history["nodes"][name]
    return history


def this_check(nodes, today):
    """The history of this check alone (no history file)."""
    return record_looks({"version": HISTORY_VERSION, "nodes": {}}, nodes, today)


# ---------------------------------------------------------------------------------------------------------
# Latency per node and per hop, stalled hops
# ---------------------------------------------------------------------------------------------------------

def node_latency(node, record, reference):
    """Set ``first_seen``, ``latency_seconds``, ``latency_bound`` on a checked node from its record of the day, and
    make ``lag_seconds``/``lag_min_seconds`` of a node holding today's canary say the same (the first look that saw
    it, the last look that did not)."""
    node["first_seen"] = record.get("first_seen") if node.get("today_present") else None
    node["latency_seconds"] = None
    node["latency_bound"] = None
    if node["first_seen"] is None or reference is None:
        return node
    upper = max(0.0, node["first_seen"] - reference)
    absent = record.get("last_absent")
    exact = absent is not None and absent >= reference
    lower = max(0.0, absent - reference) if exact else 0.0
    node["latency_seconds"] = round(upper, 3)
    node["latency_bound"] = "exact" if exact else "upper"
    node["lag_seconds"] = int(upper)
    node["lag_min_seconds"] = round(lower, 3)
    return node


def apply_latency(nodes, history, today, reference):
    """Latency of every checked node, then of every hop (a node's first seen minus the earliest first seen of its
    checked upstreams that hold today's canary)."""
    by_name = dict((n["name"], n) for n in nodes)
    for node in nodes:
        if node.get("error"):
            continue
        entry = history["nodes"].get(node["name"]) or {"days": {}}
        node_latency(node, entry["days"].get(today) or {}, reference)
    for node in nodes:
        node["hop_upstream"] = None
        node["hop_latency_seconds"] = None
        if node.get("error"):
            continue
        candidates = [by_name[u] for u in node.get("upstreams") or [] if u in by_name
                      and by_name[u].get("first_seen") is not None]
        if not candidates:
            continue
        upstream = min(candidates, key=lambda u: u["first_seen"])
        node["hop_upstream"] = upstream["name"]
        if node.get("first_seen") is not None:
            node["hop_latency_seconds"] = round(max(0.0, node["first_seen"] - upstream["first_seen"]), 3)
    return nodes


def stalled_hops(nodes, hop_allowance, since, now):
    """The hops where today's canary stopped: a node without it whose checked upstream has held it longer than the
    node's poll interval + ``hop_allowance`` (the time a working pull needs at most). The upstream held it since
    its first seen (the origin: since ``since`` when given). Each item: ``hop`` (``node<-upstream``), ``node``,
    ``upstream``, ``held_seconds``, ``hop_budget_seconds``; the node gets ``stalled_upstream``."""
    by_name = dict((n["name"], n) for n in nodes)
    hops = []
    for node in nodes:
        node["stalled_upstream"] = None
        if node.get("error") or node.get("today_present"):
            continue
        budget = float(node.get("poll_interval") or 0.0) + float(hop_allowance)
        for name in node.get("upstreams") or []:
            upstream = by_name.get(name)
            if upstream is None or upstream.get("error") or not upstream.get("today_present"):
                continue
            held_since = upstream.get("first_seen")
            if upstream.get("origin") and since is not None and (held_since is None or since <= held_since):
                held_since = since
            if held_since is None:
                continue
            held = now - held_since
            if held > budget:
                hops.append({"hop": "%s<-%s" % (node["name"], name), "node": node["name"], "upstream": name,
                             "held_seconds": round(held, 3), "hop_budget_seconds": round(budget, 3)})
                node["stalled_upstream"] = name
                break
    return hops


def stall_problems(nodes, hops):
    """{node name: [problem]}: the node where propagation stops (a finding) and, as information, the nodes below it
    that lack today's canary because of it."""
    by_name = dict((n["name"], n) for n in nodes)
    problems = {}
    for hop in hops:
        problems.setdefault(hop["node"], []).append(
            "stalled hop %s: %s has held today's canary for %s, more than %s's poll interval + hop allowance (%s); "
            "%s does not pull it (pull failing or stopped)" % (
                hop["hop"], hop["upstream"], format_seconds(hop["held_seconds"]), hop["node"],
                format_seconds(hop["hop_budget_seconds"]), hop["node"]))
    stalled = dict((h["node"], h["hop"]) for h in hops)
    # nodes below a stalled hop (breadth over the checked downstream links)
    frontier = list(stalled)
    below = {}
    while frontier:
        name = frontier.pop()
        for child in (by_name.get(name) or {}).get("downstream") or []:
            node = by_name.get(child)
            if node is None or node.get("today_present") or child in stalled or child in below:
                continue
            below[child] = below.get(name) or stalled[name]
            frontier.append(child)
    for name, hop in below.items():
        problems.setdefault(name, []).append("today's canary stops upstream at the stalled hop %s" % hop)
    return problems


# ---------------------------------------------------------------------------------------------------------
# Worst-case bound and SLO
# ---------------------------------------------------------------------------------------------------------

def node_caches(node, endpoint):
    """``(PDP cache seconds, PEP cache seconds)`` of a node: the endpoint's ``pdp_retention_interval`` (minutes) and
    ``pepd_cached_response_ttl`` (seconds); unset, Argus's defaults on a node with remote PAPs and 0 on a node
    without (the central PAP)."""
    pdp = endpoint.get("pdp_retention_interval")
    pep = endpoint.get("pepd_cached_response_ttl")
    origin = bool(node.get("origin"))
    pdp_seconds = float(pdp) * 60.0 if pdp is not None else (0.0 if origin else ARGUS_PDP_RETENTION_MINUTES * 60.0)
    pep_seconds = float(pep) if pep is not None else (0.0 if origin else float(ARGUS_PEP_CACHE_TTL))
    return pdp_seconds, pep_seconds


def apply_bounds(nodes, endpoints, extra_delay):
    """``bound_seconds`` = ``budget_seconds`` (PAP path + ``extra_delay``) + PDP cache + PEP cache, with the parts in
    ``bound_parts`` (``path``, ``extra``, ``pdp_cache``, ``pep_cache``); null for a node that could not be read."""
    by_name = dict((e["name"], e) for e in endpoints)
    for node in nodes:
        node["bound_seconds"] = None
        node["bound_parts"] = None
        if node.get("error") or node.get("budget_seconds") is None:
            continue
        pdp, pep = node_caches(node, by_name.get(node["name"]) or {})
        path = max(0.0, float(node["budget_seconds"]) - float(extra_delay))
        node["bound_parts"] = {"path": round(path, 3), "extra": float(extra_delay), "pdp_cache": pdp,
                               "pep_cache": pep}
        node["bound_seconds"] = round(float(node["budget_seconds"]) + pdp + pep, 3)
    return nodes


def bound_text(node):
    parts = node.get("bound_parts") or {}
    text = "%s = PAP path %s" % (format_seconds(node.get("bound_seconds")), format_seconds(parts.get("path")))
    if parts.get("extra"):
        text += " + extra delay %s" % format_seconds(parts["extra"])
    return text + " + PDP cache %s + PEP cache %s" % (format_seconds(parts.get("pdp_cache")),
                                                      format_seconds(parts.get("pep_cache")))


def slo_problems(node, slo):
    """The latency findings of one node against ``slo`` (seconds; None: no SLO): its worst-case bound exceeds it,
    its measured latency exceeds it (the exact latency, or the lower bound), or today's canary is still not there
    longer than the SLO after publication. Sets ``within_slo`` / ``bound_within_slo`` (None when unknown)."""
    node["within_slo"] = None
    node["bound_within_slo"] = None
    if slo is None or node.get("error"):
        return []
    problems = []
    bound = node.get("bound_seconds")
    if bound is not None:
        node["bound_within_slo"] = bound <= slo
        if bound > slo:
            problems.append("worst-case bound %s exceeds the latency SLO %s" % (bound_text(node), format_seconds(slo)))
    latency = node.get("latency_seconds")
    if latency is not None:
        # an upper bound above the SLO proves nothing; the exact latency (or the lower bound) does
        certain = latency if node.get("latency_bound") == "exact" else node.get("lag_min_seconds") or 0.0
        if certain > slo:
            node["within_slo"] = False
            problems.append("latency %s exceeds the latency SLO %s" % (format_seconds(latency), format_seconds(slo)))
        elif latency <= slo:
            node["within_slo"] = True
    elif not node.get("today_present") and node.get("lag_seconds") is not None and node["lag_seconds"] > slo:
        node["within_slo"] = False
        problems.append("today's canary still not seen %s after it was due, more than the latency SLO %s" % (
            format_seconds(node["lag_seconds"]), format_seconds(slo)))
    return problems
