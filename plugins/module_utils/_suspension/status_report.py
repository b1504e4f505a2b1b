# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""HTML report of a ``suspension_status`` result (option ``report_html``).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

One self-contained page (no script, no external resource): when the check ran, the reference serial and when it
was issued, the latency SLO, and one table row per target - name, type, status badge, serial, age of the last
applied change, entries, canary present or missing, serial and canary latency (and whether the figure is exact,
between two checks or only an upper bound) and the reasons of its verdict. Every value is HTML-escaped (target
names, DNs and reasons may contain ``<>&"'``). The escaping, the time format and the badge colours are shared with the
argus_canary report (``_report_html``): one look for both pages.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import format_seconds
from ansible_collections.gridsec.ops.plugins.module_utils._report_html import STATUSES, STYLE, esc, utc
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.latency import parse_moment

TABLE_STYLE = """
  table.targets { border-collapse: collapse; margin-top: 1em; }
  table.targets th, table.targets td { border: 1px solid #ccc; padding: .3em .6em; text-align: left;
                                       vertical-align: top; }
  table.targets th { background: #eee; }
  tr.status-OK td.status { border-left: 6px solid #2e7d32; }
  tr.status-WARNING td.status { border-left: 6px solid #f9a825; }
  tr.status-CRITICAL td.status { border-left: 6px solid #c62828; }
  tr.status-UNKNOWN td.status { border-left: 6px solid #6a1b9a; }
  td.reasons ul { margin: 0; padding-left: 1.2em; }
  td.reasons li.note { color: #555; font-style: italic; list-style: circle; }
  .bound { color: #555; }
"""

COLUMNS = ("target", "type", "status", "serial", "age", "entries", "canary", "latency", "canary latency", "reasons")

BOUND_TEXT = {"exact": "exact, from the sync's stamp", "check": "between two checks", "upper": "upper bound"}


def _when(text):
    """``YYYY-MM-DD HH:MM:SS UTC`` of an ISO 8601 time (``unknown`` when there is none)."""
    try:
        return utc(parse_moment(text, "time"))
    except Exception:  # pylint: disable=broad-except  # a report never fails on one odd value
        return "unknown"


def latency_text(item, key, missing_text):
    """What the user reads of one latency: the figure and how exact it is."""
    value, low, bound = item.get(key + "_seconds"), item.get(key + "_min_seconds"), item.get(key + "_bound")
    if value is None:
        return missing_text
    if bound == "check" and low is not None and low != value:
        figure = "%s to %s" % (format_seconds(low), format_seconds(value))
    elif bound == "upper":
        figure = "at most %s" % format_seconds(value)
    else:
        figure = format_seconds(value)
    return '%s <span class="bound">(%s)</span>' % (esc(figure), esc(BOUND_TEXT.get(bound, bound or "unknown")))


def serial_text(item, reference):
    serial = item.get("serial")
    if item.get("error"):
        return "unknown"
    if serial is None:
        return "none"
    if reference is not None and serial < reference:
        return "%d (behind %d)" % (serial, reference)
    return str(serial)


def canary_text(item):
    if item.get("error"):
        return "unknown"
    if item.get("canary_present") is True:
        return '<span class="yes">present</span>'
    if item.get("canary_present") is False:
        missing = item.get("canary_missing") or []
        return '<span class="no">missing</span>%s' % (": " + esc("; ".join(missing)) if missing else "")
    return "not checked"


def target_row(item, reference):
    status = str(item.get("state") or "unknown").upper()
    status = status if status in STATUSES else "UNKNOWN"
    age = item.get("age_seconds")
    age_text = esc("unknown" if age is None else "%s ago" % format_seconds(age))
    if item.get("applied"):
        age_text += ' <span class="bound">(applied %s)</span>' % esc(_when(item["applied"]))
    reasons = "".join("<li>%s</li>" % esc(r) for r in item.get("reasons") or [])
    reasons += "".join('<li class="note">%s</li>' % esc(n) for n in item.get("notes") or [])
    behind = reference is not None and not item.get("error") and (item.get("serial") is None or
                                                                  item["serial"] < reference)
    cells = [
        ("name", esc(item.get("name"))),
        ("type", esc(item.get("type"))),
        ("status", '<span class="badge %s">%s</span>' % (status, status)),
        ("serial", esc(serial_text(item, reference))),
        ("age", age_text),
        ("entries", esc("unknown" if item.get("entries") is None else item["entries"])),
        ("canary", canary_text(item)),
        ("latency", latency_text(item, "latency", "not received" if behind else "unknown")),
        ("canary-latency", latency_text(item, "canary_latency", "not enforced" if item.get("canary_present") is False
                                        else "unknown")),
        ("reasons", "<ul>%s</ul>" % reasons if reasons else "none"),
    ]
    return '<tr class="target status-%s" data-target="%s" data-status="%s">%s</tr>' % (
        status, esc(item.get("name")), status, "".join('<td class="%s">%s</td>' % cell for cell in cells))


def render(result, title="Suspension list status", sync_name=None):
    """The HTML page (str) of a suspension_status result (of the sync ``sync_name``)."""
    items = [item for item in result.get("targets") or [] if isinstance(item, dict)]
    reference = result.get("reference_serial")
    counts = dict((s, 0) for s in STATUSES)
    for item in items:
        state = str(item.get("state") or "unknown").upper()
        counts[state if state in STATUSES else "UNKNOWN"] += 1
    if reference is None:
        ref_text = "none (no target holds a serial)"
    else:
        ref_text = "%s, issued %s%s" % (reference, _when(result.get("serial_issued")) if result.get("serial_issued")
                                        else "at an unknown time",
                                        " (the first time a target held it)"
                                        if result.get("serial_issued_source") == "first target" else "")
    slo = result.get("latency_slo")
    head = ['<!DOCTYPE html>', '<html lang="en">', "<head>", '<meta charset="utf-8">', "<title>%s</title>" % esc(title),
            "<style>%s%s</style>" % (STYLE, TABLE_STYLE), "</head>", "<body>", "<h1>%s</h1>" % esc(title),
            '<p class="meta" id="checked-at">Checked at %s; %d target(s) of sync <code>%s</code>; this page shows '
            'that moment, not what happened since.</p>' % (esc(utc(result.get("checked_at"))), len(items), esc(sync_name)),
            '<p class="meta" id="reference">Reference serial: <span id="reference-serial">%s</span></p>' % esc(ref_text),
            '<p class="meta" id="slo">Latency SLO: %s</p>' % esc(format_seconds(slo) if slo is not None else "none set"),
            '<p class="meta" id="canary">Canary: %s</p>' % esc(
                "today's canary of %s, published %s" % (result["canary_date"], _when(result.get("canary_since")))
                if result.get("canary_date") else ("%d fixed identities" % len(result.get("canary") or [])
                                                   if result.get("canary") else "none checked")),
            '<p class="summary" id="summary">%s</p>' % "".join(
                '<span class="count-%s"><span class="badge %s">%s</span> %d</span>' % (s, s, s, counts[s])
                for s in STATUSES)]
    if result.get("nagios"):
        head.append('<p class="meta" id="status-line">%s</p>' % esc(
            str(result["nagios"].get("text", "")).split(" | ", 1)[0]))
    table = ['<table class="targets" id="targets">',
             "<thead><tr>%s</tr></thead>" % "".join("<th>%s</th>" % esc(c) for c in COLUMNS), "<tbody>"]
    table.extend(target_row(item, reference) for item in items)
    table.extend(["</tbody>", "</table>"])
    return "\n".join(head + table + ["</body>", "</html>"]) + "\n"
