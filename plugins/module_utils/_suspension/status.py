# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The verdict of ``suspension_status`` on each sync target, and its Nagios and Prometheus renderings.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

A target's verdict (Nagios codes of ``_argus.canary``), from what ``SyncTarget.status`` read on the target:

* UNKNOWN: the target could not be read (the reason names the server/file and the operation);
* CRITICAL: a problem the target reports (an enforcement gap: a ban file the enforcer cannot parse, a ban lifted
  outside the sync, an earlier map file that wins, ...), a canary identity the target does not enforce, a last
  applied change older than ``critical_age``, or a serial behind the reference AND older than ``max_age``;
* WARNING: a serial behind the reference (the expected ``serial``, else the newest serial another target holds),
  no serial recorded while a reference exists, a last applied change older than ``max_age`` (or none recorded);
* OK otherwise. The worst target decides the check (``nagios_report``).

The age is that of the last change the target applied (the sync writes nothing on a no-op): with a signed list,
whose publisher renews the serial at least every ``validity - renew_before``, a healthy target's age stays below
that interval plus the sync's own interval; with unsigned sources a quiet list ages, and ``max_age`` is best left
unset.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar

from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import (
    CRITICAL,
    OK,
    STATUS_NAMES,
    UNKNOWN,
    WARNING,
    format_seconds,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_metrics import (
    exposition,
    labels_text,
    perf_label,
    problem_summary,
)
from ansible_collections.gridsec.ops.plugins.module_utils._errors import GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import parse_time


def age_seconds(applied, now):
    """Whole seconds from ``applied`` (ISO 8601 text) to ``now`` (aware datetime), None when unknown."""
    if not applied:
        return None
    try:
        moment = parse_time(applied)
    except (GridsecError, ValueError):
        return None
    return max(0, int((now - moment).total_seconds()))


def reference_serial(items, expected):
    """``(serial, where)``: the expected serial when given, else the newest one a target holds (None: no serial)."""
    if expected is not None:
        return expected, "expected"
    serials = [item["serial"] for item in items if item.get("serial") is not None]
    return (max(serials), "newest at another target") if serials else (None, None)


def latency_findings(item, reference, slo, issued, canary_since, now):
    """``[(status code, reason)]`` of the latency SLO on one status item (``latency_slo``; POSIX seconds): a serial
    or canary latency over the SLO is WARNING when it is certain (its lowest possible figure is over: an exact
    figure, or the last check that did not see it was already late), a reference serial or today's canary still
    missing longer than the SLO after its issue is CRITICAL. An upper bound over the SLO is no finding: a note."""
    if slo is None or item.get("error"):
        return []
    found = []
    for what, key in (("serial %s" % reference, "latency"), ("today's canary", "canary_latency")):
        value, low = item.get(key + "_seconds"), item.get(key + "_min_seconds")
        if value is None or value <= slo:
            continue
        if low is not None and low > slo:
            found.append((WARNING, "%s reached the target %s after its issue%s (latency_slo %s)" % (
                what, format_seconds(value if item.get(key + "_bound") == "exact" else low),
                "" if item.get(key + "_bound") == "exact" else " or later", format_seconds(slo))))
        else:
            item.setdefault("notes", []).append(
                "%s reached the target at most %s after its issue (latency_slo %s): not known to be late" % (
                    what, format_seconds(value), format_seconds(slo)))
    serial = item.get("serial")
    if reference is not None and issued is not None and (serial is None or serial < reference) and \
            now - issued > slo:
        found.append((CRITICAL, "serial %d, issued %s ago, is not applied here (latency_slo %s)" % (
            reference, format_seconds(now - issued), format_seconds(slo))))
    if item.get("canary_present") is False and canary_since is not None and now - canary_since > slo:
        found.append((CRITICAL, "today's canary, published %s ago, is not enforced here (latency_slo %s)" % (
            format_seconds(now - canary_since), format_seconds(slo))))
    return found


def verdict(item, reference, where, max_age, critical_age, findings=()):
    """``(status code, [reasons])`` of one target's status ``item`` (see the module docstring); ``findings``: more
    ``(code, reason)`` (``latency_findings``)."""
    if item.get("error"):
        return UNKNOWN, [item["error"]]
    reasons, code = [], OK

    def worse(level, reason):
        reasons.append(reason)
        return max(code, level)

    for problem in item.get("problems") or []:
        code = worse(CRITICAL, problem)
    for label in item.get("canary_missing") or []:
        code = worse(CRITICAL, "%s: not enforced" % label)
    if item.get("canary_present") is False and not item.get("canary_missing"):
        code = worse(CRITICAL, "the canary is not enforced")
    age, serial = item.get("age_seconds"), item.get("serial")
    old = max_age is not None and (age is None or age > max_age)
    if reference is not None and serial is None:
        code = worse(WARNING, "no serial recorded (%s serial %d)" % (where, reference))
    elif reference is not None and serial < reference:
        code = worse(CRITICAL if old else WARNING, "serial %d is behind the %s serial %d%s"
                     % (serial, where, reference, " and older than max_age" if old else ""))
    if critical_age is not None and age is not None and age > critical_age:
        code = worse(CRITICAL, "last change applied %s ago (critical_age %s)"
                     % (format_seconds(age), format_seconds(critical_age)))
    elif old:
        code = worse(WARNING, "no time of an applied change recorded" if age is None else
                     "last change applied %s ago (max_age %s)" % (format_seconds(age), format_seconds(max_age)))
    for level, reason in findings:
        code = worse(level, reason)
    return code, reasons


def nagios_report(items, max_age, critical_age, slo=None):
    """``{code, status, summary, perfdata, text}`` with the plugin API's semantics: the worst target decides, the
    first line is the status and the summary, perfdata after ``|``, one line per target after it."""
    if not items:
        return {"code": UNKNOWN, "status": "UNKNOWN", "summary": "no targets checked", "perfdata": "",
                "text": "SUSPENSION STATUS UNKNOWN - no targets checked"}
    worst = max(item["status_code"] for item in items)
    if worst == OK:
        serials = sorted(set(str(item["serial"]) for item in items if item.get("serial") is not None))
        canary = [item for item in items if item.get("canary_present") is not None]
        summary = "%d/%d targets OK, serial %s, canary enforced on %d/%d" % (
            len(items), len(items), "/".join(serials) or "none", len(canary), len(canary))
    else:
        summary = problem_summary(items, "targets")
    perf = []
    for item in items:
        label = perf_label(item["name"])
        if item.get("serial") is not None:
            perf.append("'%s_serial'=%d;;;0" % (label, item["serial"]))
        if item.get("age_seconds") is not None:
            perf.append("'%s_age'=%ds;%s;%s;0" % (label, item["age_seconds"], _threshold(max_age),
                                                  _threshold(critical_age)))
        if item.get("entries") is not None:
            perf.append("'%s_entries'=%d;;;0" % (label, item["entries"]))
        if item.get("canary_present") is not None:
            perf.append("'%s_canary'=%d;;;0;1" % (label, 1 if item["canary_present"] else 0))
        for key in ("latency", "canary_latency"):
            if item.get(key + "_seconds") is not None:
                perf.append("'%s_%s'=%ds;%s;;0" % (label, key, item[key + "_seconds"], _threshold(slo)))
    lines = ["%s (%s): %s - %s" % (item["name"], item["type"], item["state"].upper(),
                                   "; ".join(item["reasons"]) or _ok_detail(item)) for item in items]
    status = STATUS_NAMES[worst]
    first = "SUSPENSION STATUS %s - %s" % (status, summary)
    return {"code": worst, "status": status, "summary": summary, "perfdata": " ".join(perf),
            "text": first + " | " + " ".join(perf) + "\n" + "\n".join(lines)}


def _threshold(value):
    return "" if value is None else int(value)


def _ok_detail(item):
    parts = ["serial %s" % ("none" if item.get("serial") is None else item["serial"]),
             "%s entries" % item.get("entries")]
    if item.get("age_seconds") is not None:
        parts.append("last change %s ago" % format_seconds(item["age_seconds"]))
    if item.get("canary_present"):
        parts.append("canary enforced")
    return ", ".join(parts)


PROM_METRICS = (
    ("gridsec_suspension_serial", "gauge", "serial of the signed suspension list the target last applied"),
    ("gridsec_suspension_age_seconds", "gauge", "seconds since the target applied its last change"),
    ("gridsec_suspension_entries", "gauge", "identities the target enforces, read from the target"),
    ("gridsec_suspension_canary_present", "gauge", "1 when the target enforces every canary identity checked"),
    ("gridsec_suspension_latency_seconds", "gauge",
     "seconds from the reference serial's issue to the target receiving it (an upper bound when latency_exact is 0)"),
    ("gridsec_suspension_canary_latency_seconds", "gauge",
     "seconds from today's canary publication to the target enforcing it (an upper bound when canary_latency_exact is 0)"),
    ("gridsec_suspension_latency_exact", "gauge", "1 when latency_seconds is exact or within one check interval, 0 for an upper bound"),
    ("gridsec_suspension_canary_latency_exact", "gauge",
     "1 when canary_latency_seconds is exact or within one check interval, 0 for an upper bound"),
    ("gridsec_suspension_latency_slo_seconds", "gauge", "the latency SLO the targets are checked against"),
    ("gridsec_suspension_up", "gauge", "1 when the target could be read"),
    ("gridsec_suspension_status", "gauge", "Nagios status code of the target (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"),
    ("gridsec_suspension_check_timestamp_seconds", "gauge", "time of this status check"),
    ("gridsec_suspension_sync_last_read_timestamp_seconds", "gauge", "last time the sync read its sources successfully"),
)


def prometheus_text(items, sync_name, now_seconds, last_read=None, slo=None):
    """Textfile-collector exposition (text format 0.0.4) of the targets, labelled by sync, target and type;
    ``last_read``: the sync's last successful source read (ISO 8601), when known; ``slo``: the latency SLO."""
    samples = dict((metric[0], []) for metric in PROM_METRICS)
    for item in items:
        labels = labels_text(sync=sync_name, target=item["name"], type=item["type"])
        up = not item.get("error")
        samples["gridsec_suspension_up"].append((labels, 1 if up else 0))
        samples["gridsec_suspension_status"].append((labels, item["status_code"]))
        for key, metric in (("serial", "gridsec_suspension_serial"), ("age_seconds", "gridsec_suspension_age_seconds"),
                            ("entries", "gridsec_suspension_entries"),
                            ("canary_present", "gridsec_suspension_canary_present")):
            if up and item.get(key) is not None:
                samples[metric].append((labels, item[key]))
        for key in ("latency", "canary_latency"):
            if up and item.get(key + "_seconds") is not None:
                samples["gridsec_suspension_%s_seconds" % key].append((labels, item[key + "_seconds"]))
                samples["gridsec_suspension_%s_exact" % key].append(
                    (labels, 0 if item.get(key + "_bound") == "upper" else 1))
    if slo is not None:
        samples["gridsec_suspension_latency_slo_seconds"].append((labels_text(sync=sync_name), int(slo)))
    samples["gridsec_suspension_check_timestamp_seconds"].append((labels_text(sync=sync_name), now_seconds))
    if last_read:
        moment = parse_time(last_read)
        samples["gridsec_suspension_sync_last_read_timestamp_seconds"].append(
            (labels_text(sync=sync_name), calendar.timegm(moment.utctimetuple())))
    return exposition(PROM_METRICS, samples)
