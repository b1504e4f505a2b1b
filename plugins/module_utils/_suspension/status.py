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

from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary import (
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


def verdict(item, reference, where, max_age, critical_age):
    """``(status code, [reasons])`` of one target's status ``item`` (see the module docstring)."""
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
    return code, reasons


def nagios_report(items, max_age, critical_age):
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
    ("gridsec_suspension_up", "gauge", "1 when the target could be read"),
    ("gridsec_suspension_status", "gauge", "Nagios status code of the target (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"),
    ("gridsec_suspension_check_timestamp_seconds", "gauge", "time of this status check"),
    ("gridsec_suspension_sync_last_read_timestamp_seconds", "gauge", "last time the sync read its sources successfully"),
)


def prometheus_text(items, sync_name, now_seconds, last_read=None):
    """Textfile-collector exposition (text format 0.0.4) of the targets, labelled by sync, target and type;
    ``last_read``: the sync's last successful source read (ISO 8601), when known."""
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
    samples["gridsec_suspension_check_timestamp_seconds"].append((labels_text(sync=sync_name), now_seconds))
    if last_read:
        moment = parse_time(last_read)
        samples["gridsec_suspension_sync_last_read_timestamp_seconds"].append(
            (labels_text(sync=sync_name), calendar.timegm(moment.utctimetuple())))
    return exposition(PROM_METRICS, samples)
