#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: suspension_status
short_description: Read what every suspension sync target enforces, how fresh it is and whether it holds the canary
version_added: 0.3.0
description:
  - For each target of a M(gridsec.ops.suspension_list_sync) task (the same O(targets) items), reads what the target
    really enforces, never the sync's state alone - a ban file, map file or C(arc.conf) parsed with the enforcer's
    grammar (the sync's block and the site's own lines), the PanDA banned users as the sync reads them, the Rucio
    accounts the sync suspended in the server's account listing - and reports per target the serial of the signed
    list it last applied, the age of that change, the identities it enforces and whether it enforces the canary.
  - The serial and the time are those the sync recorded with the last change it applied (in the file's block or
    the target's state; docs/sync-targets.md, "Freshness"). A run of the sync that changes nothing writes nothing,
    so the age is the time since the last applied change - with a signed list, renewed by its publisher with a new
    serial at least every C(validity - renew_before), a healthy target never gets older than that plus the sync's
    interval, and a target whose serial is behind the others is stale.
  - "Verdict per target (RV(targets[].state)): V(unknown) when it cannot be read; V(critical) for an enforcement
    problem the target reports, a canary identity it does not enforce, an age over O(critical_age), or a serial
    behind the reference and an age over O(max_age); V(warning) for a serial behind the reference (O(serial), else
    the newest serial another target holds), no serial while there is a reference, or an age over O(max_age).
    With O(latency_slo): V(warning) for a latency over it, V(critical) for a serial or canary still missing longer
    than it after its issue."
  - "Propagation latency: the module remembers in O(history_file) when it first saw each serial and each day's
    canary at each target, and reports per target the latency from the serial's issue (O(serial_issued)) and from
    the canary's publication (O(canary_since)) to the target, with how exact it is (RV(targets[].latency_bound)):
    from the sync's own stamp of the serial (V(exact)), between two checks (V(check)), or, when it was already
    there the first time this history read the target, only an upper bound (V(upper))."
  - The worst target decides RV(status) and the Nagios rendering RV(nagios) (status line, perfdata, one line per
    target; the exit code of the plugin API under C(code)); RV(prometheus) holds textfile-collector metrics,
    written atomically to O(prometheus_file) when given. C(extras/check_suspension_status) turns a saved result
    into a Nagios plugin.
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - The libraries of the targets read (as for M(gridsec.ops.suspension_list_sync)), for example C(psycopg) for a
    PanDA target.
extends_documentation_fragment:
  - gridsec.ops._sync_targets
  - gridsec.ops._argus
  - gridsec.ops._panda
  - gridsec.ops._panda_db
  - gridsec.ops._tls
  - gridsec.ops._attributes
attributes:
  check_mode:
    support: full
    details:
      - The module never writes to a target or to the sync's state; in check mode O(prometheus_file) and
        O(history_file) and O(report_html) are not written either.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - It reads the targets only (O(prometheus_file), when given, holds the metrics of the last run;
        O(history_file) the first sight of each serial and canary).
  action_group:
    description: Use C(group/gridsec.ops.argus) or C(group/gridsec.ops.panda) in C(module_defaults) to set the
      connection options once.
    support: full
    membership:
      - gridsec.ops.argus
      - gridsec.ops.panda
options:
  name:
    description:
      - Name of the sync whose targets are read (O(name) of M(gridsec.ops.suspension_list_sync)). It names the
        block of the sync in a shared file and the state file that holds the serial of the PanDA and Rucio targets.
    type: str
    required: true
  state_dir:
    description: Directory of the sync's state file C(<name>.state.json) (read only).
    type: path
    default: /var/lib/gridsec-suspension-sync
  canary:
    description:
      - Canary identities every target must enforce, each a C(dn) or an C(issuer) and a C(subject) (a token
        identity). Added to today's canary of O(canary_salt).
      - A target whose C(canary) option (or its type's default) is V(skip) is not checked for the canary
        (RV(targets[].canary_present) null, with a note).
    type: list
    elements: dict
    default: []
    suboptions:
      dn:
        description: A canary DN (slash or comma form).
        type: str
      issuer:
        description: The issuer of a canary token identity.
        type: str
      subject:
        description: The subject of a canary token identity.
        type: str
  canary_salt:
    description:
      - The salt of the central team's daily canary (as for M(gridsec.ops.argus_canary)); with it, today's canary DN
        (and, with O(canary_issuer), today's canary token identity) is checked at every target.
    type: str
  canary_issuer:
    description:
      - The issuer of the daily canary token identity (subject C(gridsec-canary-<YYYYMMDD>-<hash8>), the date and
        hash of the canary DN), as M(gridsec.ops.suspension_list_publish) adds it with O(canary_salt).
    type: str
  canary_date:
    description: The date of the canary checked (YYYYMMDD, UTC); today by default.
    type: str
  serial:
    description:
      - The serial every target should hold (for example RV(gridsec.ops.suspension_list_publish#module:serial)).
        Without it, the newest serial any target holds is the reference.
    type: int
  max_age:
    description:
      - A target whose last applied change is older than this (for example V(1d)) is V(warning) (V(critical) when its
        serial is also behind). Leave it unset with unsigned sources, whose quiet list ages.
    type: str
  critical_age:
    description: A target whose last applied change is older than this is V(critical).
    type: str
  prometheus_file:
    description:
      - Textfile-collector file to write RV(prometheus) to (atomically, mode 0644), for example
        V(/var/lib/node_exporter/textfile/gridsec_suspension.prom). Not written in check mode.
    type: path
  history_file:
    description:
      - JSON file in which the module remembers, per target, when it first saw each serial and each day's canary
        (the newest 20 serials and 14 days; a target not read for 60 days is forgotten), to measure the
        propagation latency (RV(targets[].latency_seconds), RV(targets[].canary_latency_seconds)).
      - Written atomically (mode 0600) by every run but not in check mode; when it cannot be written the module
        warns and goes on. Default C(<state_dir>/<name>.status-history.json).
    type: path
  serial_issued:
    description:
      - When the reference serial was issued (ISO 8601 or POSIX time), for example
        RV(gridsec.ops.suspension_list_publish#module:issued); the serial latency of each target is measured from it.
      - Without it the earliest time any target is known to have held the serial is used (RV(serial_issued_source)
        is V(first target)); the latencies are then relative to the fastest target.
    type: str
  canary_since:
    description:
      - When today's canary was published (ISO 8601 or POSIX time); the canary latency of each target is measured
        from it. Default 00:00 UTC of the canary's date. Needs O(canary_salt).
    type: str
  latency_slo:
    description:
      - The propagation latency the operator promises (a duration, for example V(4h)). A target whose serial or
        canary latency certainly exceeds it (its exact figure, or the last check that did not see it was already
        later) is V(warning); a target still without the reference serial, or without today's canary, longer than
        this after its issue (RV(serial_issued), RV(canary_since)) is V(critical). A latency known only as an upper
        bound over the SLO is a note, not a warning.
      - Perfdata C(<target>_latency) and C(<target>_canary_latency) carry it as their warning threshold.
    type: str
  report_html:
    description:
      - Write a self-contained HTML page (no script, no external resource, every value escaped) to this path,
        atomically (mode 0644) - the check time, the reference serial and its issue, the latency SLO, and a row per
        target with its status, serial, age, entries, canary present or missing, serial and canary latency (exact,
        between two checks, or an upper bound) and the reasons. Not written in check mode.
    type: path
  report_title:
    description: Title of the O(report_html) page.
    type: str
    default: Suspension list status
  max_workers:
    description:
      - How many targets are read at the same time (threads); the results keep the order of O(targets). V(1) reads
        them one after the other.
    type: int
    default: 8
  fail_on:
    description: Fail the task when the worst target is at least this status (V(never) - always succeed).
    type: str
    choices: [critical, warning, never]
    default: critical
"""

EXAMPLES = r"""
- name: Status of the site's targets, with today's canary and the published serial
  gridsec.ops.suspension_status:
    name: site
    targets: "{{ suspension_targets }}"
    canary_salt: "{{ canary_salt }}"
    canary_issuer: https://iam.example.org
    serial: "{{ published.serial }}"
    max_age: 1d
    critical_age: 2d
    prometheus_file: /var/lib/node_exporter/textfile/gridsec_suspension.prom
    fail_on: never
  register: suspension

- name: Show the Nagios status line
  ansible.builtin.debug:
    msg: "{{ suspension.nagios.text }}"
"""

RETURN = r"""
status:
  description: The worst target's verdict (V(ok), V(warning), V(critical), V(unknown)).
  returned: always
  type: str
  sample: critical
reference_serial:
  description: The serial the targets are compared with (O(serial), else the newest a target holds), or null.
  returned: always
  type: int
canary:
  description: The canary identities checked (C(kind), C(value)).
  returned: always
  type: list
  elements: dict
targets:
  description: One item per target, in the order of O(targets).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The target's name.
      type: str
    type:
      description: The target's type.
      type: str
    state:
      description: The verdict (V(ok), V(warning), V(critical), V(unknown)).
      type: str
    status_code:
      description: The verdict as a Nagios code (0 to 3).
      type: int
    reasons:
      description: Why the verdict is not V(ok), each naming what was found.
      type: list
      elements: str
    serial:
      description: The serial of the signed list the target last applied (null - none recorded, or unsigned).
      type: int
    applied:
      description: When the target applied its last change (UTC, ISO 8601), or null.
      type: str
    age_seconds:
      description: Seconds since RV(targets[].applied), or null.
      type: int
    entries:
      description: How many identities the target enforces, read from the target.
      type: int
    canary_present:
      description: Whether the target enforces every applicable canary identity; null when none is checked there.
      type: bool
    canary_missing:
      description: The canary identities the target does not enforce.
      type: list
      elements: str
    problems:
      description: Enforcement problems the target reported.
      type: list
      elements: str
    notes:
      description: Facts that are no problem (for example why the canary is not checked on this target).
      type: list
      elements: str
    error:
      description: Why the target could not be read (V(unknown)).
      type: str
    latency_seconds:
      description:
        - Seconds from the reference serial's issue (RV(serial_issued)) to when the target received it, or null
          (not received, no reference, no issue time). How exact it is says RV(targets[].latency_bound).
      type: int
    latency_min_seconds:
      description:
        - The lowest the serial latency can be (V(check) bound - the last read that did not show it; V(exact) - the
          latency), null for an upper bound.
      type: int
    latency_bound:
      description:
        - V(exact) - from the time the sync stamped when it applied that serial at the target; V(check) - first
          seen by this check, an earlier check did not see it (the latency lies between
          RV(targets[].latency_min_seconds) and RV(targets[].latency_seconds)); V(upper) - already there the first
          time the history read this target, the figure is only an upper bound. Null without a latency.
      type: str
    serial_seen:
      description: When the target is taken to have received the reference serial (UTC, ISO 8601), or null.
      type: str
    canary_latency_seconds:
      description: Seconds from RV(canary_since) to when the target first enforced today's canary, or null.
      type: int
    canary_latency_min_seconds:
      description: The lowest the canary latency can be (as RV(targets[].latency_min_seconds)).
      type: int
    canary_latency_bound:
      description:
        - As RV(targets[].latency_bound), for the canary; V(exact) only when an earlier check saw the canary
          missing and the sync's stamp is later than that check.
      type: str
    canary_seen:
      description: When the target is taken to have started enforcing today's canary (UTC, ISO 8601), or null.
      type: str
nagios:
  description: The Nagios plugin rendering - C(code) (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), C(status),
    C(summary), C(perfdata) and C(text) (status line with perfdata, then one line per target).
  returned: always
  type: dict
  sample: {"code": 2, "status": "CRITICAL", "summary": "1 critical (ce) of 2 targets", "perfdata": "'ce_serial'=7;;;0",
    "text": "SUSPENSION STATUS CRITICAL - 1 critical (ce) of 2 targets | 'ce_serial'=7;;;0\nce (htcondor_ce): ..."}
prometheus:
  description: Prometheus text exposition (format 0.0.4) of C(gridsec_suspension_serial), C(_age_seconds),
    C(_entries), C(_canary_present), C(_latency_seconds), C(_canary_latency_seconds), C(_latency_exact),
    C(_canary_latency_exact), C(_up) and C(_status), labelled by C(sync), C(target) and C(type); with
    O(latency_slo) also C(gridsec_suspension_latency_slo_seconds).
  returned: always
  type: str
sync_last_read:
  description:
    - When the sync last read its sources successfully (UTC, ISO 8601; the newest of C(<state_dir>/<name>.sources.json),
      which every run that reads a source rewrites), or null. With unsigned sources, whose quiet list ages at the
      targets, this tells a sync that still runs from one that stopped.
  returned: always
  type: str
checked_at:
  description: POSIX time of the check (C(extras/check_suspension_status --max-age) compares it with the clock).
  returned: always
  type: int
prometheus_written:
  description: Whether O(prometheus_file) was written.
  returned: always
  type: bool
serial_issued:
  description: When the reference serial was issued (UTC, ISO 8601; RV(serial_issued_source) says from what), or null.
  returned: always
  type: str
serial_issued_source:
  description: V(option) (O(serial_issued)), V(first target) (the earliest a target held it), or null.
  returned: always
  type: str
canary_date:
  description: The date of the daily canary checked (YYYYMMDD), or null without O(canary_salt).
  returned: always
  type: str
canary_since:
  description: When today's canary was published (UTC, ISO 8601; O(canary_since), else 00:00 UTC of its date), or null.
  returned: always
  type: str
report_html_written:
  description: Whether O(report_html) was written.
  returned: always
  type: bool
latency_slo:
  description: O(latency_slo) in seconds, or null.
  returned: always
  type: int
history_file:
  description: The path of the latency history (O(history_file) or its default).
  returned: always
  type: str
history_written:
  description: Whether the latency history was written (never in check mode).
  returned: always
  type: bool
history_note:
  description: Why the history was started afresh (unreadable or unknown format); its latencies are upper bounds.
  returned: when the history file could not be used
  type: str
error:
  description:
    - Why the task failed, in the same shape for every failure (also one found before any server was contacted).
    - C(type) (the error class, for example V(TLSError), V(AuthorizationError), V(ConfigError), V(MissingLibrary),
      V(ModuleFailure)), C(kind) (V(transport), V(tls), V(remote), V(authorization), V(not_found),
      V(write_refused), V(config), V(missing_library) or V(error)), C(msg), C(server) and C(operation) (null
      when no server operation failed), C(details) (dict of extra facts, never a secret).
  returned: failed
  type: dict
  sample: {"type": "AuthorizationError", "kind": "authorization", "msg": "HTTP 403 Forbidden: the server refused
    this credential", "server": "server.example.org:8443", "operation": "ban", "details": {"status": 403}}
"""

import copy
import os
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import entries as sl_entries
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import latency as lt
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import state as sl_state
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import status as st
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import status_report
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import STATUS_NAMES, daily_canary
from ansible_collections.gridsec.ops.plugins.module_utils._argus.specs import ARGUS_SPEC
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._files import write_atomic
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import GridsecModule
from ansible_collections.gridsec.ops.plugins.module_utils._panda.module import PANDA_DB_SPEC, PANDA_SPEC
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncContext
from ansible_collections.gridsec.ops.plugins.module_utils._sync.registry import (
    resolved_spec,
    target_class,
    target_spec,
)


def argument_spec():
    return dict(
        name=dict(type="str", required=True),
        targets=dict(type="list", elements="dict", required=True, options=target_spec()),
        state_dir=dict(type="path", default="/var/lib/gridsec-suspension-sync"),
        canary=dict(type="list", elements="dict", default=[], options=dict(
            dn=dict(type="str"), issuer=dict(type="str"), subject=dict(type="str"))),
        canary_salt=dict(type="str", no_log=True),
        canary_issuer=dict(type="str"),
        canary_date=dict(type="str"),
        serial=dict(type="int"),
        max_age=dict(type="str"),
        critical_age=dict(type="str"),
        prometheus_file=dict(type="path"),
        fail_on=dict(type="str", choices=["critical", "warning", "never"], default="critical"),
        history_file=dict(type="path"),
        serial_issued=dict(type="str"),
        canary_since=dict(type="str"),
        latency_slo=dict(type="str"),
        report_html=dict(type="path"),
        report_title=dict(type="str", default="Suspension list status"),
        max_workers=dict(type="int", default=8),
    )


def canary_entries(p):
    """``(entries, date)``: the canary identities to check - the given ones, then today's canary DN and token
    identity (salt) - and the date of that daily canary (None without a salt)."""
    entries, date = [], None
    for index, item in enumerate(p["canary"]):
        try:
            if item.get("dn") and not (item.get("issuer") or item.get("subject")):
                entries.append(sl_entries.Entry(sl_entries.DN, item["dn"]))
            elif item.get("issuer") and item.get("subject") and not item.get("dn"):
                entries.append(sl_entries.Entry(sl_entries.TOKEN, (item["issuer"], item["subject"])))
            else:
                raise ConfigError("give a dn, or an issuer and a subject")
        except GridsecError as err:
            raise ConfigError("canary[%d]: %s" % (index, err.msg), operation="check options")
    if p["canary_salt"]:
        try:
            date, items = daily_canary(p["canary_salt"], p["canary_date"], p["canary_issuer"])
        except ValueError as err:
            raise ConfigError("canary_date: %s" % err, operation="check options")
        entries.extend(sl_entries.Entry(sl_entries.DN, i["dn"]) if "dn" in i else sl_entries.Entry(sl_entries.TOKEN, (i["issuer"], i["subject"]))
                       for i in items)
    elif p["canary_issuer"] or p["canary_date"]:
        raise ConfigError("canary_issuer and canary_date need canary_salt", operation="check options")
    return entries, date


def _durations(p):
    out = {}
    for option in ("max_age", "critical_age", "latency_slo"):
        out[option] = sl_state.parse_duration(p[option], option) if p[option] else None
    return out


def read_target(spec, ctx, params, canary):
    """The status item of one target: what ``SyncTarget.status`` read, or the error that kept it from reading."""
    cls = target_class(spec)
    item = {"name": spec["name"], "type": spec["type"], "notes": []}
    resolved = resolved_spec(spec, params)
    problems = cls.spec_problems(resolved)
    if problems:
        item["error"] = "; ".join(problems)
        return item
    checked = canary
    if canary and (spec.get("canary") or cls.CANARY_DEFAULT) == "skip":
        checked = []
        item["notes"].append("canary not checked: the target's canary option is skip (the default of type %s is %s);"
                             " set canary: keep on the sync's target to prove the canary here"
                             % (spec["type"], cls.CANARY_DEFAULT))
    target = None
    try:
        target = cls(resolved, ctx)
        item.update(target.status(checked))
    except GridsecError as err:
        item["error"] = "%s%s" % (err, " (%s)" % err.operation if getattr(err, "operation", None) else "")
    except NotImplementedError as err:
        item["error"] = str(err) or "target type %s has no status reading" % spec["type"]
    except Exception as err:  # pylint: disable=broad-except  # one target's surprise must not hide the others
        item["error"] = "%s: %s" % (type(err).__name__, err)
    finally:
        if target is not None:
            target.close()
    return item


def read_targets(specs, ctx, params, canary):
    """The status items of ``specs``, in their order, read by at most ``max_workers`` threads at once (a server
    target waits on the network; a file target is quick either way)."""
    workers = min(params["max_workers"], len(specs))
    if workers <= 1:
        return [read_target(copy.deepcopy(spec), ctx, params, canary) for spec in specs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda spec: read_target(copy.deepcopy(spec), ctx, params, canary), specs))


def run(module):
    p = module.params
    if p["max_workers"] < 1:
        raise ConfigError("max_workers must be at least 1 (got %d)" % p["max_workers"], operation="check options")
    canary, canary_date = canary_entries(p)
    ages = _durations(p)
    issued_option = lt.parse_moment(p["serial_issued"], "serial_issued")
    canary_since = lt.parse_moment(p["canary_since"], "canary_since")
    if canary_since is None and canary_date:
        canary_since = lt.parse_moment("%s-%s-%sT00:00:00Z" % (canary_date[:4], canary_date[4:6], canary_date[6:]),
                                       "canary_date")
    history_path = p["history_file"] or os.path.join(p["state_dir"], "%s.status-history.json" % p["name"])
    state = sl_state.State(os.path.join(p["state_dir"], "%s.state.json" % p["name"]))
    if os.path.exists(state.path):
        state.load()
    ctx = SyncContext(module, state)
    for spec in p["targets"]:
        for library, import_error, why in target_class(spec).LIBRARIES:
            module.require_library(library, import_error, why=why)
    times = sl_state.SourceTimes(os.path.join(p["state_dir"], "%s.sources.json" % p["name"]), state.path).load().times
    last_read = max([item["read_ok"] for item in times.values()] or [None], key=lambda t: t or "")
    now = sl_entries.utcnow()
    items = read_targets(p["targets"], ctx, p, canary)
    for item in items:
        item["age_seconds"] = st.age_seconds(item.get("applied"), now)
    reference, where = st.reference_serial(items, p["serial"])
    history, history_note = lt.load(history_path)
    now_seconds = lt.to_seconds(now)
    lt.observe(history, items, now_seconds, canary_date)
    issued, issued_source = lt.serial_issued(history, reference, issued_option)
    for item in items:
        item.update(lt.latencies(history, item, reference, issued, canary_date, canary_since))
    for item in items:
        findings = st.latency_findings(item, reference, ages["latency_slo"], issued, canary_since, now_seconds)
        code, reasons = st.verdict(item, reference, where, ages["max_age"], ages["critical_age"], findings)
        item.update(status_code=code, state=STATUS_NAMES[code].lower(), reasons=reasons)
    nagios = st.nagios_report(items, ages["max_age"], ages["critical_age"], slo=ages["latency_slo"])
    checked_at = int(time.time())
    prom = st.prometheus_text(items, p["name"], checked_at, last_read=last_read, slo=ages["latency_slo"])
    result = dict(changed=False, status=nagios["status"].lower(), reference_serial=reference, targets=items,
                  checked_at=checked_at, sync_last_read=last_read,
                  canary=[e.to_dict(with_meta=False) for e in canary], nagios=nagios, prometheus=prom,
                  prometheus_written=False, canary_date=canary_date,
                  serial_issued=None if issued is None else lt.iso_of(issued), serial_issued_source=issued_source,
                  canary_since=None if canary_since is None else lt.iso_of(canary_since),
                  history_file=history_path, history_written=False,
                  latency_slo=None if ages["latency_slo"] is None else int(ages["latency_slo"]))
    if history_note:
        result["history_note"] = history_note
    if not module.check_mode:
        try:
            write_atomic(history_path, lt.dump(history), 0o600)
        except (IOError, OSError) as err:
            module.warn("cannot write the history file %s (%s): the next check cannot measure the latency of what "
                        "it sees first" % (history_path, err))
        else:
            result["history_written"] = True
    result["report_html_written"] = False
    if p["report_html"] and not module.check_mode:
        try:
            write_atomic(p["report_html"], status_report.render(result, p["report_title"], p["name"]).encode("utf-8"),
                         0o644)
        except (IOError, OSError) as err:
            raise ConfigError("cannot write the HTML report %s: %s" % (p["report_html"], err),
                              operation="write report_html", result=result)
        result["report_html_written"] = True
    if p["prometheus_file"] and not module.check_mode:
        try:
            write_atomic(p["prometheus_file"], prom.encode("utf-8"), 0o644)
        except (IOError, OSError) as err:
            raise ConfigError("cannot write the Prometheus file %s: %s" % (p["prometheus_file"], err),
                              operation="write prometheus_file", result=result)
        result["prometheus_written"] = True
    limit = {"critical": 2, "warning": 1, "never": None}[p["fail_on"]]
    if limit is not None and nagios["code"] >= limit:
        module.fail_json(msg=nagios["text"].splitlines()[0], **result)
    module.exit_json(**result)


def main():
    module = GridsecModule(connection_specs=(ARGUS_SPEC, PANDA_SPEC, PANDA_DB_SPEC), argument_spec=argument_spec(),
                           supports_check_mode=True)
    module.run_guarded(run, module)


if __name__ == "__main__":
    main()
