# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""HTML report of a suspension's propagation through an Argus PAP hierarchy (rendered by `make demo`).

Input: the registered result of ``gridsec.ops.argus_canary`` with ``state: checked`` (what
``gridsec.ops.canary_check`` saves with ``canary_result_file``) and, optionally, where one suspended DN was
found on each node (``{"dn": ..., "nodes": {name: {"present": bool, "aliases": [...]}}}``, from
``gridsec.ops.argus_policy_info`` on each node). Output: one self-contained HTML page (no script, no external
resource) with the hierarchy as a tree (roots are the checked nodes with no checked upstream; children are the
nodes that pull from them, from ``upstreams`` in the result) and, for each node, its status, propagation lag
against its delay budget, the effective-deny result and the deciding rule, the newest canary, and whether the
suspended DN is there.

The page is the Jinja2 template ``propagation_report.html.j2`` next to this file, rendered with autoescape:
every value is HTML-escaped (DNs, node names and rule texts may contain ``<>&"'``).

    python -m gridsec_lab.report --canary canary.json [--suspension suspension.json] [--title T] --out report.html
"""
import argparse
import datetime
import json
import os
import sys
import tempfile

import jinja2

__all__ = ["build_tree", "format_seconds", "render", "write"]

STATUSES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")

TEMPLATE = "propagation_report.html.j2"  # next to this file


def format_seconds(value):
    """A duration for people: ``—`` when unknown, else s / min s / h min."""
    if value is None:
        return "\u2014"
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return str(value)
    if seconds < 60:
        return "%g s" % round(seconds, 1)
    whole = int(round(seconds))
    if whole < 3600:
        return "%d min %d s" % divmod(whole, 60)
    hours, rest = divmod(whole, 3600)
    return "%d h %d min" % (hours, rest // 60)


def build_tree(nodes):
    """Roots and children from the canary result: a node's children are the checked nodes that pull from it.

    Returns a list of ``{"node", "children", "repeat", "first_parent"}``. A node with several checked upstreams
    is shown in full under the first and as a reference under the others; a cycle is cut where it closes.
    """
    by_name = {}
    for node in nodes:
        by_name.setdefault(node.get("name"), node)
    children = {}
    for node in nodes:
        for upstream in node.get("upstreams") or []:
            if upstream in by_name and upstream != node.get("name"):
                children.setdefault(upstream, []).append(node.get("name"))
    roots = [node.get("name") for node in nodes
             if not [u for u in node.get("upstreams") or [] if u in by_name and u != node.get("name")]]
    shown = {}

    def item(name, parent, path):
        node = by_name[name]
        if name in shown:
            return {"node": node, "children": [], "repeat": True, "first_parent": shown[name]}
        shown[name] = parent
        kids = [item(child, name, path + (name,)) for child in children.get(name, []) if child not in path]
        return {"node": node, "children": kids, "repeat": False, "first_parent": None}

    tree = [item(name, None, ()) for name in roots]
    # Nodes only reachable through a cycle have no root: show them at the top level.
    tree += [item(node.get("name"), None, ()) for node in nodes if node.get("name") not in shown]
    return tree


def render(canary_result, title="Propagation of the suspension", suspension=None, generated=None):
    """The HTML page (str) for an argus_canary ``state: checked`` result."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.dirname(os.path.abspath(__file__))),
                             autoescape=True, undefined=jinja2.ChainableUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    nodes = [dict(node) for node in canary_result.get("nodes") or []]
    for node in nodes:
        node.setdefault("name", "%s:%s" % (node.get("host"), node.get("port")))
        for key in ("lag_seconds", "lag_min_seconds", "budget_seconds", "within_budget", "effective_deny", "effective",
                    "export", "error", "url", "newest_date", "newest_alias", "today_present", "order", "problems"):
            node.setdefault(key, None)
    summary = dict(canary_result.get("summary") or {})
    if not summary:
        for node in nodes:
            summary[node.get("status") or "UNKNOWN"] = summary.get(node.get("status") or "UNKNOWN", 0) + 1
    if generated is None:
        generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    template = env.get_template(TEMPLATE)
    return template.render(
        title=title, nodes=nodes, tree=build_tree(nodes), summary=summary, statuses=STATUSES,
        canary=dict({"date": None, "dn": None}, **(canary_result.get("canary") or {})),
        thresholds=dict({"warning_lag": None, "critical_lag": None}, **(canary_result.get("thresholds") or {})),
        suspension=suspension, generated=generated, fmt=format_seconds)


def write(path, canary_result, **kwargs):
    """Render and write atomically (temporary file + rename); returns the path."""
    text = render(canary_result, **kwargs)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".report-", suffix=".html")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--canary", required=True, help="argus_canary checked result (JSON)")
    parser.add_argument("--suspension", help="where the suspended DN was found (JSON)")
    parser.add_argument("--title", default="Propagation of the suspension")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    with open(args.canary, encoding="utf-8") as handle:
        canary_result = json.load(handle)
    suspension = None
    if args.suspension:
        with open(args.suspension, encoding="utf-8") as handle:
            suspension = json.load(handle)
    write(args.out, canary_result, title=args.title, suspension=suspension)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
