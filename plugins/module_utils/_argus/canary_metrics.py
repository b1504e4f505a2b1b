# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Nagios and Prometheus renderings of the canary check's nodes.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import (
    CRITICAL,
    OK,
    STATUS_NAMES,
    UNKNOWN,
    WARNING,
    format_seconds,
)


# ---------------------------------------------------------------------------------------------------------
# Nagios and Prometheus
# ---------------------------------------------------------------------------------------------------------

def perf_label(name):
    label = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return label


def nagios_report(nodes, warning_lag, critical_lag, stalled=None):
    """{code, status, text, perfdata, summary}: plugin semantics (first line status + perfdata, long text); the
    summary names the ``stalled`` hops (``relay<-central``) where today's canary stops."""
    if not nodes:
        return {"code": UNKNOWN, "status": "UNKNOWN", "summary": "no endpoints checked", "perfdata": "",
                "text": "ARGUS CANARY UNKNOWN - no endpoints checked"}
    worst = max(n["status_code"] for n in nodes)
    summary = ok_summary(nodes, warning_lag) if worst == OK else problem_summary(nodes, "nodes")
    summary += stalled_summary(stalled)
    perf = []
    for node in nodes:
        label = perf_label(node["name"])
        if node.get("lag_seconds") is not None:
            perf.append("'%s_lag'=%ds;%s;%s;0" % (
                label, node["lag_seconds"], "" if warning_lag is None else int(warning_lag),
                "" if critical_lag is None else int(critical_lag)))
        perf.append("'%s_deny'=%d;;;0;1" % (label, 1 if node.get("effective_deny") else 0))
    long_lines = []
    for node in nodes:
        detail = "; ".join(node.get("problems") or []) or "today's canary present and denied"
        long_lines.append("%s: %s - %s" % (node["name"], node["status"], detail))
    status = STATUS_NAMES[worst]
    first = "ARGUS CANARY %s - %s" % (status, summary)
    text = first + " | " + " ".join(perf) + "\n" + "\n".join(long_lines)
    return {"code": worst, "status": status, "summary": summary, "perfdata": " ".join(perf), "text": text}


def stalled_summary(stalled):
    """``; stalled hop relay<-central`` (empty without stalled hops); extras/check_argus_canary words it the same."""
    hops = [h["hop"] for h in stalled or []]
    if not hops:
        return ""
    return "; stalled hop%s %s" % ("s" if len(hops) > 1 else "", ", ".join(hops))


def problem_summary(items, noun):
    """``1 critical (a); 2 warning (b, c) of 5 <noun>``: the items (``name``, ``status_code``) not OK, worst first
    (UNKNOWN after CRITICAL: a check that could not look is less sure than one that saw a failure)."""
    by_status = {}
    for item in items:
        by_status.setdefault(item["status_code"], []).append(item["name"])
    parts = []
    for code in (CRITICAL, UNKNOWN, WARNING):
        names = by_status.get(code) or []
        if names:
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            parts.append("%d %s (%s)" % (len(names), STATUS_NAMES[code].lower(), shown))
    return "%s of %d %s" % ("; ".join(parts), len(items), noun)


def ok_summary(nodes, warning_lag):
    """What an all-OK check really saw: today's canary everywhere, or how many nodes are still on an older one and
    the lag against the budget (``warning_lag``). extras/check_argus_canary words it the same way."""
    missing = [n for n in nodes if not n.get("today_present")]
    if not missing:
        return "%d/%d nodes deny today's canary" % (len(nodes), len(nodes))
    lag = max([n.get("lag_seconds") or 0 for n in missing] or [0])
    dates = sorted(set(n.get("newest_date") for n in missing if n.get("newest_date")))
    return "today's canary not yet seen on %d/%d nodes, lag %s of a %s budget; %d/%d nodes deny their newest " \
           "canary (%s)" % (len(missing), len(nodes), format_seconds(lag), format_seconds(warning_lag),
                            len(nodes), len(nodes), ", ".join(dates) or "none")


def _label_value(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


PROM_METRICS = (
    ("argus_canary_up", "gauge", "1 when the PAP answered the canary check"),
    ("argus_canary_today_present", "gauge", "1 when today's canary is present on the node"),
    ("argus_canary_effective_deny", "gauge", "1 when the node's PDP view denies the canary (and its export does)"),
    ("argus_canary_lag_seconds", "gauge", "propagation lag of the canary on the node"),
    ("argus_canary_newest_age_seconds", "gauge", "age of the newest valid canary on the node"),
    ("argus_canary_budget_seconds", "gauge", "delay budget computed for the node"),
    ("argus_canary_latency_seconds", "gauge",
     "time from the publication of today's canary until the check first saw it on the node"),
    ("argus_canary_bound_seconds", "gauge",
     "worst-case propagation bound of the node: PAP path + extra delay + PDP cache + PEP cache"),
    ("argus_canary_hop_latency_seconds", "gauge",
     "first seen on the node minus first seen on the upstream it got today's canary from"),
    ("argus_canary_stalled", "gauge", "1 when the node lacks today's canary although its upstream has held it too long"),
    ("argus_canary_publish_overdue", "gauge",
     "1 when the node publishes the canary (no remote PAP) and today's is missing after the publish time"),
    ("argus_canary_status", "gauge", "Nagios status code of the node (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"),
    ("argus_canary_last_success_timestamp_seconds", "gauge", "last time the node passed the check"),
)

_PROM_LINE = re.compile(r'^argus_canary_last_success_timestamp_seconds\{node="((?:[^"\\]|\\.)*)"\}\s+(\S+)')


def previous_successes(text):
    """{node: timestamp} from an earlier textfile (so a failing node keeps its last success time)."""
    result = {}
    for line in (text or "").splitlines():
        match = _PROM_LINE.match(line.strip())
        if match:
            name = match.group(1).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
            try:
                result[name] = float(match.group(2))
            except ValueError:
                continue
    return result


def prometheus_text(nodes, now, previous=None, slo=None):
    """Textfile-collector exposition of the node results (text format 0.0.4)."""
    previous = previous or {}
    samples = dict((m[0], []) for m in PROM_METRICS)
    for node in nodes:
        labels = '{node="%s"}' % _label_value(node["name"])
        up = 0 if node.get("error") else 1
        samples["argus_canary_up"].append((labels, up))
        samples["argus_canary_status"].append((labels, node["status_code"]))
        if up:
            samples["argus_canary_today_present"].append((labels, 1 if node.get("today_present") else 0))
            samples["argus_canary_effective_deny"].append((labels, 1 if node.get("effective_deny") else 0))
            if node.get("origin"):
                samples["argus_canary_publish_overdue"].append((labels, 1 if node.get("publish_overdue") else 0))
        if node.get("lag_seconds") is not None:
            samples["argus_canary_lag_seconds"].append((labels, node["lag_seconds"]))
        if node.get("newest_age_seconds") is not None:
            samples["argus_canary_newest_age_seconds"].append((labels, node["newest_age_seconds"]))
        if node.get("budget_seconds") is not None:
            samples["argus_canary_budget_seconds"].append((labels, node["budget_seconds"]))
        if node.get("latency_seconds") is not None:
            samples["argus_canary_latency_seconds"].append((labels, node["latency_seconds"]))
        if node.get("bound_seconds") is not None:
            samples["argus_canary_bound_seconds"].append((labels, node["bound_seconds"]))
        if node.get("hop_latency_seconds") is not None:
            samples["argus_canary_hop_latency_seconds"].append(
                (labels_text(node=node["name"], upstream=node.get("hop_upstream")), node["hop_latency_seconds"]))
        if up:
            samples["argus_canary_stalled"].append((labels, 1 if node.get("stalled_upstream") else 0))
        last = now if node["status_code"] == OK else previous.get(node["name"])
        if last is not None:
            samples["argus_canary_last_success_timestamp_seconds"].append((labels, last))
    metrics = PROM_METRICS + (("argus_canary_check_timestamp_seconds", "gauge", "time of this canary check"),)
    samples["argus_canary_check_timestamp_seconds"] = [("", now)]
    if slo is not None:
        metrics += (("argus_canary_latency_slo_seconds", "gauge", "the latency SLO the operator set"),)
        samples["argus_canary_latency_slo_seconds"] = [("", slo)]
    return exposition(metrics, samples)


def labels_text(**labels):
    """``{a="1",b="x"}`` of the labels, sorted by name, values escaped (text format 0.0.4)."""
    return "{%s}" % ",".join('%s="%s"' % (key, _label_value(labels[key])) for key in sorted(labels))


def exposition(metrics, samples):
    """The text format 0.0.4 of ``samples`` (metric name -> ``[(labels text, value)]``) for ``metrics`` (``(name,
    type, help)`` in output order): HELP and TYPE once per metric, then its samples."""
    lines = []
    for name, kind, help_text in metrics:
        lines.append("# HELP %s %s" % (name, help_text))
        lines.append("# TYPE %s %s" % (name, kind))
        for labels, value in samples.get(name, ()):
            lines.append("%s%s %s" % (name, labels, _number(value)))
    return "\n".join(lines) + "\n"


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return repr(round(value, 3))
