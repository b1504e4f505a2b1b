# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""HTML propagation report of an ``argus_canary`` ``state=checked`` result (option ``report_html``).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

One self-contained page (no script, no external resource): what was checked and when (the check time, each
node's own read time, the canary date, the subjects), the hierarchy as a tree (a node's children are the checked
nodes that pull from it), and for each node its status and exact statements: whether today's canary is there,
what its PDP view decides for it and, for a node others pull from, what it serves downstream; its latency, hop
latency and worst-case bound against the latency SLO (and the stalled hops); where each subject DN is stored and
what decides for it. Every value is HTML-escaped (DNs, node names and rule texts may contain
``<>&"'``). Standard library only: it runs where the module runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import format_seconds
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_latency import bound_text
from ansible_collections.gridsec.ops.plugins.module_utils._report_html import STATUSES, STYLE, esc, utc


def build_tree(nodes):
    """Roots and children from the check result: a node's children are the checked nodes that pull from it.

    Returns a list of ``{"node", "children", "repeat", "first_parent"}``. A node with several checked upstreams
    is shown in full under the first and as a reference under the others; a cycle is cut where it closes.
    """
    by_name = {}
    for node in nodes:
        by_name.setdefault(node.get("name"), node)

    def upstreams(node):
        return [u for u in node.get("upstreams") or [] if u in by_name and u != node.get("name")]

    children = {}
    for node in nodes:
        for upstream in upstreams(node):
            children.setdefault(upstream, []).append(node.get("name"))
    shown = {}

    def item(name, parent, path):
        node = by_name[name]
        if name in shown:
            return {"node": node, "children": [], "repeat": True, "first_parent": shown[name]}
        shown[name] = parent
        kids = [item(child, name, path + (name,)) for child in children.get(name, []) if child not in path]
        return {"node": node, "children": kids, "repeat": False, "first_parent": None}

    tree = [item(node.get("name"), None, ()) for node in nodes if not upstreams(node)]
    # Nodes only reachable through a cycle have no root: show them at the top level.
    tree += [item(node.get("name"), None, ()) for node in nodes if node.get("name") not in shown]
    return tree


def _yes(text):
    return '<span class="yes">%s</span>' % esc(text)


def _no(text):
    return '<span class="no">%s</span>' % esc(text)


def canary_fact(node):
    """Exactly which canary the node holds."""
    today = node.get("today")
    if node.get("today_present"):
        return "%s (today's canary, %s) in alias <code>%s</code>" % (
            _yes("present"), esc(today), esc(node.get("newest_alias")))
    if node.get("newest_date"):
        return "%s; newest is %s in alias <code>%s</code>" % (
            _no("today's canary (%s) not present" % today), esc(node.get("newest_date")), esc(node.get("newest_alias")))
    return _no("no canary found")


def effective_fact(node):
    """The effective deny, with the reason in the same words as the decisions below (never "no - decision deny")."""
    if node.get("error"):
        return "unknown (not checked)"
    effective = node.get("effective") or {}
    export = node.get("export")
    if not effective:
        return _no("no") + " &mdash; no canary to evaluate"
    which = "the canary" if node.get("today_present") else "the newest canary (%s)" % esc(node.get("newest_date"))
    if not effective.get("denied"):
        return _no("no") + " &mdash; its PDPs do not deny %s (decision %s)" % (which, esc(effective.get("decision")))
    if export is not None and not export.get("denied"):
        return _no("no") + " &mdash; its PDPs deny %s, but what it serves downstream does not" % which
    if export is not None:
        return _yes("yes") + " &mdash; its PDPs deny %s and it serves the deny downstream" % which
    return _yes("yes") + " &mdash; its PDPs deny %s" % which


def decision_fact(decision):
    if not decision:
        return "not evaluated"
    word = _yes("denies") if decision.get("denied") else _no("does not deny")
    return "%s: <code>%s</code>" % (word, esc(decision.get("text")))


def subject_fact(subject):
    stored = ("stored in alias %s" % ", ".join(subject.get("aliases") or [])) if subject.get("present") else \
        "stored in no alias"
    if subject.get("denied"):
        text = _yes("denied") + " (%s)" % esc(stored)
    else:
        text = _no("not denied") + " (%s)" % esc(stored)
    text += " &mdash; PDP view: <code>%s</code>" % esc((subject.get("effective") or {}).get("text"))
    if subject.get("export"):
        text += "; served downstream: %s" % decision_fact(subject["export"])
    return text


def lag_fact(node, thresholds):
    lag, low = node.get("lag_seconds"), node.get("lag_min_seconds")
    if node.get("today_present") and low is not None and lag is not None and (low or lag):
        text = "%s to %s after publication" % (format_seconds(low), format_seconds(lag))
    elif node.get("today_present"):
        text = "%s (present at the first look)" % format_seconds(lag)
    else:
        text = "%s since today's canary was due" % format_seconds(lag)
    text = esc(text)
    if node.get("budget_seconds") is not None:
        verdict = ""
        if node.get("within_budget") is True:
            verdict = ", within"
        elif node.get("within_budget") is False:
            verdict = ", " + _no("exceeded")
        text += " (propagation budget %s%s)" % (esc(format_seconds(node["budget_seconds"])), verdict)
    if thresholds.get("warning_lag") is not None:
        text += "; lag budget %s" % esc(format_seconds(thresholds["warning_lag"]))
    return text


def latency_fact(node, thresholds):
    """The measured latency of today's canary on the node (exact or upper bound) against the SLO."""
    latency = node.get("latency_seconds")
    slo = thresholds.get("latency_slo")
    if latency is None:
        if not node.get("today_present"):
            return "not arrived (today's canary not seen yet)"
        return "unknown (no publication time: give since, wait_for_today or history_file)"
    if node.get("latency_bound") == "exact":
        text = "%s (between %s and %s after publication; first seen %s)" % (
            format_seconds(latency), format_seconds(node.get("lag_min_seconds")), format_seconds(latency),
            utc(node.get("first_seen")))
    else:
        text = "at most %s (already there at the first look after publication, %s)" % (
            format_seconds(latency), utc(node.get("first_seen")))
    text = esc(text)
    if slo is not None:
        verdict = {True: _yes("within"), False: _no("exceeded"), None: "not proven"}[node.get("within_slo")]
        text += " &mdash; SLO %s: %s" % (esc(format_seconds(slo)), verdict)
    return text


def hop_fact(node):
    """The hop latency from the upstream the node got the canary from, or the stalled hop."""
    if node.get("stalled_upstream"):
        return _no("stalled: %s<-%s (%s holds today's canary, %s does not pull it)" % (
            node.get("name"), node["stalled_upstream"], node["stalled_upstream"], node.get("name")))
    if node.get("hop_latency_seconds") is not None:
        return esc("%s after %s" % (format_seconds(node["hop_latency_seconds"]), node.get("hop_upstream")))
    if node.get("hop_upstream"):
        return esc("not arrived from %s yet" % node["hop_upstream"])
    return "-"


def bound_fact(node, thresholds):
    """The worst-case bound, its parts and the verdict against the SLO."""
    text = esc(bound_text(node))
    if node.get("budget_complete") is False:
        text += " (incomplete: an upstream was not checked)"
    slo = thresholds.get("latency_slo")
    if slo is not None:
        verdict = _yes("within") if node.get("bound_within_slo") else _no("exceeds")
        text += " &mdash; %s the SLO %s" % (verdict, esc(format_seconds(slo)))
    return text


def _row(label, value, css=None):
    return '    <tr><th>%s</th><td%s>%s</td></tr>' % (esc(label), ' class="%s"' % css if css else "", value)


def node_rows(node, thresholds):
    rows = []
    if node.get("url"):
        rows.append(_row("endpoint", "<code>%s</code>" % esc(node["url"])))
    rows.append(_row("read at", esc(utc(node.get("checked_at"))), "checked-at"))
    if node.get("error"):
        rows.append(_row("error", esc(node["error"]), "error"))
    else:
        rows.append(_row("canary", canary_fact(node), "canary"))
        rows.append(_row("lag", lag_fact(node, thresholds), "lag"))
        rows.append(_row("latency", latency_fact(node, thresholds), "latency"))
        rows.append(_row("hop", hop_fact(node), "hop"))
        if node.get("bound_seconds") is not None:
            rows.append(_row("worst-case bound", bound_fact(node, thresholds), "bound"))
    rows.append(_row("effective deny", effective_fact(node), "effective-deny"))
    if node.get("effective"):
        rows.append(_row("its PDPs", decision_fact(node["effective"]), "pdp-view"))
    if node.get("export"):
        rows.append(_row("served downstream", decision_fact(node["export"]), "export"))
    if node.get("order"):
        rows.append(_row("PAP order", "<code>%s</code>" % esc(", ".join(node["order"]))))
    for index, subject in enumerate(node.get("subjects") or []):
        rows.append(_row("subject %d" % (index + 1), subject_fact(subject), "subject"))
    return rows


def node_item(item, thresholds, depth=0):
    node = item["node"]
    status = node.get("status") if node.get("status") in STATUSES else "UNKNOWN"
    pad = "  " * depth
    opening = '%s<li class="node status-%s" data-node="%s" data-status="%s">' % (
        pad, status, esc(node.get("name")), status)
    lines = [opening,
             '<div class="card">',
             '  <span class="node-name">%s</span> <span class="badge %s status">%s</span>' % (
                 esc(node.get("name")), status, status)]
    if item["repeat"]:
        lines.append('  <span class="also">(also under %s; shown there in full)</span>' % esc(item["first_parent"]))
    else:
        lines.append('  <table class="facts">')
        lines.extend(node_rows(node, thresholds))
        lines.append("  </table>")
        if node.get("problems"):
            lines.append('  <ul class="problems">%s</ul>' % "".join("<li>%s</li>" % esc(p) for p in node["problems"]))
    lines.append("</div>")
    if item["children"]:
        lines.append("<ul>")
        lines.extend(node_item(child, thresholds, depth + 1) for child in item["children"])
        lines.append("</ul>")
    lines.append("</li>")
    return "\n".join(lines)


def render(result, title="Propagation of the canary and the suspensions"):
    """The HTML page (str) of an argus_canary ``state=checked`` result."""
    nodes = [node for node in result.get("nodes") or [] if isinstance(node, dict)]
    canary = result.get("canary") or {}
    thresholds = result.get("thresholds") or {}
    summary = result.get("summary") or {}
    subjects = result.get("subjects") or []
    head = ['<!DOCTYPE html>', '<html lang="en">', "<head>", '<meta charset="utf-8">', "<title>%s</title>" % esc(title),
            "<style>%s</style>" % STYLE, "</head>", "<body>", "<h1>%s</h1>" % esc(title),
            '<p class="meta" id="checked-at">Checked at %s (each node: its read time below); %d node(s); this page '
            'shows that moment, not what happened since.</p>' % (esc(utc(result.get("checked_at"))), len(nodes)),
            '<p class="meta">Canary of <span id="canary-date">%s</span>%s</p>' % (
                esc(canary.get("date") or "?"),
                ': <span class="dn">%s</span>' % esc(canary["dn"]) if canary.get("dn") else " (format only: no salt)"),
            '<p class="meta">Lag budget: warning after %s, critical after %s%s.</p>' % (
                esc(format_seconds(thresholds.get("warning_lag"))), esc(format_seconds(thresholds.get("critical_lag"))),
                "; strict_today: a node without today's canary is CRITICAL" if thresholds.get("strict_today") else "")]
    if thresholds.get("latency_slo") is not None:
        head.append('<p class="meta" id="latency-slo">Latency SLO: %s (from publication to enforcement at every node).'
                    '</p>' % esc(format_seconds(thresholds["latency_slo"])))
    stalled = [h.get("hop") for h in result.get("stalled_hops") or [] if isinstance(h, dict)]
    if stalled:
        head.append('<p class="meta" id="stalled-hops">Today\'s canary stops at: %s</p>' % ", ".join(
            '<span class="no stalled-hop">%s</span>' % esc(hop) for hop in stalled))
    if subjects:
        head.append('<p class="meta">Subjects checked:</p><ol class="subjects" id="subjects">%s</ol>' % "".join(
            '<li><span class="dn subject-dn">%s</span></li>' % esc(dn) for dn in subjects))
    head.append('<p class="summary" id="summary">%s</p>' % "".join(
        '<span class="count-%s"><span class="badge %s">%s</span> %s</span>' % (s, s, s, esc(summary.get(s, 0)))
        for s in STATUSES))
    if result.get("nagios"):
        head.append('<p class="meta" id="status-line">%s</p>' % esc(
            str(result["nagios"].get("text", "")).split(" | ", maxsplit=1)[0]))
    body = ['<ul class="tree" id="tree">'] + [node_item(item, thresholds) for item in build_tree(nodes)] + ["</ul>"]
    return "\n".join(head + body + ["</body>", "</html>"]) + "\n"
