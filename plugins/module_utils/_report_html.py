# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""What the collection's HTML reports share: escaping, the time format, the status names and the page style with
its status colours (``argus_canary``'s propagation report, ``_argus.canary_report``, and ``suspension_status``'s
target report, ``_suspension.status_report``): one look for every page.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Standard library only: it runs where the module runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

try:
    from html import escape as _escape
except ImportError:  # pragma: no cover - Python 2 is not supported by the collection
    from cgi import escape as _escape

STATUSES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")

STYLE = """
  body { font-family: sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.4em; margin-bottom: .2em; }
  .meta { color: #555; margin: .1em 0; }
  .dn, code { font-family: monospace; word-break: break-all; }
  .summary span { margin-right: 1em; }
  ul.tree, ul.tree ul { list-style: none; padding-left: 2em; margin: 0; }
  ul.tree { padding-left: 0; margin-top: 1em; }
  ul.tree ul { border-left: 2px solid #bbb; margin-left: 1em; padding-left: 1.5em; }
  .card { border: 1px solid #ccc; border-left-width: 8px; border-radius: 4px; padding: .5em .8em;
          margin: .5em 0; max-width: 60em; background: #fafafa; }
  .status-OK > .card { border-left-color: #2e7d32; }
  .status-WARNING > .card { border-left-color: #f9a825; }
  .status-CRITICAL > .card { border-left-color: #c62828; }
  .status-UNKNOWN > .card { border-left-color: #6a1b9a; }
  .badge { display: inline-block; padding: 0 .5em; border-radius: 3px; color: #fff; font-weight: bold;
           font-size: .9em; }
  .badge.OK { background: #2e7d32; } .badge.WARNING { background: #f9a825; color: #222; }
  .badge.CRITICAL { background: #c62828; } .badge.UNKNOWN { background: #6a1b9a; }
  .node-name { font-weight: bold; font-size: 1.1em; margin-right: .5em; }
  table.facts { border-collapse: collapse; margin-top: .3em; }
  table.facts th { text-align: left; font-weight: normal; color: #555; padding: 1px 1em 1px 0;
                   vertical-align: top; white-space: nowrap; }
  table.facts td { padding: 1px 0; }
  .yes { color: #2e7d32; font-weight: bold; } .no { color: #c62828; font-weight: bold; }
  ul.tree ul.problems, .problems { color: #c62828; margin: .3em 0 0 0; padding-left: 1.2em; border-left: none;
                                   list-style: disc; }
  .also { color: #555; font-style: italic; }
"""


def esc(value):
    return _escape("" if value is None else str(value), quote=True)


def utc(timestamp):
    """``YYYY-MM-DD HH:MM:SS UTC`` of a POSIX time, ``unknown`` when there is none."""
    if not isinstance(timestamp, (int, float)) or isinstance(timestamp, bool):
        return "unknown"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))
