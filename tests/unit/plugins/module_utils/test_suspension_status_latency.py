# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Latency memory of suspension_status (_suspension/latency.py): exact, check-interval and upper-bound figures."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import latency as lt
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import status as st

T0 = lt.parse_moment("2026-12-07T00:00:00Z", "t")
DAY = "20261207"


def item(name="ce", serial=7, applied=None, canary=True):
    return {"name": name, "serial": serial, "applied": applied and lt.iso_of(applied), "canary_present": canary}


def fresh():
    return lt.load("/nonexistent/history.json")[0]


def test_parse_moment_posix_iso_and_garbage():
    assert lt.parse_moment("1765065600", "x") == 1765065600
    assert lt.parse_moment("2025-12-07T00:00:00Z", "x") == 1765065600
    assert lt.parse_moment(None, "x") is None
    with pytest.raises(ConfigError, match="serial_issued"):
        lt.parse_moment("yesterday", "serial_issued")


def test_first_read_with_the_sync_stamp_is_exact_for_the_serial_and_an_upper_bound_for_the_canary():
    history = fresh()
    it = item(applied=T0 + 3600)
    lt.observe(history, [it], T0 + 7200, DAY)
    got = lt.latencies(history, it, 7, T0 + 600, DAY, T0)
    assert (got["latency_seconds"], got["latency_bound"], got["latency_min_seconds"]) == (3000, "exact", 3000)
    # the canary was there when the history first read the target: only an upper bound (the stamp's time)
    assert (got["canary_latency_seconds"], got["canary_latency_bound"]) == (3600, "upper")
    assert got["canary_latency_min_seconds"] is None


def test_first_read_without_stamp_is_an_upper_bound():
    history = fresh()
    it = item(applied=None)
    lt.observe(history, [it], T0 + 7200, DAY)
    got = lt.latencies(history, it, 7, T0, DAY, T0)
    assert (got["latency_seconds"], got["latency_bound"], got["latency_min_seconds"]) == (7200, "upper", None)


def test_seen_missing_then_present_is_bounded_by_the_checks_or_exact_with_a_later_stamp():
    history = fresh()
    lt.observe(history, [item(serial=6, canary=False)], T0 + 1000, DAY)
    late = item(serial=7, applied=None)
    lt.observe(history, [late], T0 + 2000, DAY)
    got = lt.latencies(history, late, 7, T0 + 100, DAY, T0)
    assert (got["latency_seconds"], got["latency_min_seconds"], got["latency_bound"]) == (1900, 900, "check")
    assert (got["canary_latency_seconds"], got["canary_latency_min_seconds"], got["canary_latency_bound"]) == \
        (2000, 1000, "check")
    stamped = item(serial=7, applied=T0 + 1500)
    got = lt.latencies(history, stamped, 7, T0 + 100, DAY, T0)
    assert (got["latency_seconds"], got["latency_bound"]) == (1400, "exact")
    assert (got["canary_latency_seconds"], got["canary_latency_bound"]) == (1500, "exact")


def test_issue_time_from_the_first_target_and_errors_are_not_observed():
    history = fresh()
    a, b, down = item("a", applied=T0 + 50), item("b", applied=T0 + 500), dict(item("down"), error="x")
    lt.observe(history, [a, b, down], T0 + 1000, DAY)
    assert lt.serial_issued(history, 7, None) == (T0 + 50, "first target")
    assert lt.serial_issued(history, 7, T0) == (T0, "option")
    assert lt.serial_issued(history, 8, None) == (None, None)
    assert "down" not in history["targets"]
    assert lt.latencies(history, b, 7, T0 + 50, DAY, T0)["latency_seconds"] == 450


def test_history_stays_bounded_and_round_trips(tmp_path):
    history = fresh()
    for n in range(60):
        lt.observe(history, [item(serial=n)], T0 + n, "2026%04d" % (1000 + n))
    tgt = history["targets"]["ce"]
    assert sorted(map(int, tgt["serials"])) == list(range(60 - lt.KEEP_SERIALS, 60))
    assert len(tgt["canary"]) == lt.KEEP_DAYS and len(history["serials_first"]) == lt.KEEP_SERIALS
    path = tmp_path / "h.json"
    path.write_bytes(lt.dump(history))
    assert lt.load(str(path)) == (history, None)
    path.write_text("{broken")
    loaded, note = lt.load(str(path))
    assert loaded["targets"] == {} and "not JSON" in note


def _verdict(it, slo=4 * 3600, issued=T0, now=T0 + 5 * 3600, reference=7):
    it = dict({"type": "file", "entries": 3, "problems": [], "age_seconds": 60, "notes": []}, **it)
    findings = st.latency_findings(it, reference, slo, issued, T0, now)
    code, reasons = st.verdict(it, reference, "expected", None, None, findings)
    it.update(status_code=code, state=st.STATUS_NAMES[code].lower(), reasons=reasons)
    return it


def test_latency_slo_warning_critical_and_upper_bound_note():
    exact = _verdict({"name": "slow", "serial": 7, "latency_seconds": 5 * 3600, "latency_min_seconds": 5 * 3600,
                      "latency_bound": "exact", "canary_present": True})
    assert exact["state"] == "warning"
    assert exact["reasons"] == ["serial 7 reached the target 5 h after its issue (latency_slo 4 h)"]
    upper = _verdict({"name": "new", "serial": 7, "latency_seconds": 5 * 3600, "latency_min_seconds": None,
                      "latency_bound": "upper", "canary_present": True})
    assert upper["state"] == "ok" and "at most 5 h" in upper["notes"][0]
    late = _verdict({"name": "late", "serial": 6, "canary_present": False, "canary_missing": ["dn /CN=c"]})
    assert late["state"] == "critical"
    assert "serial 7, issued 5 h ago, is not applied here (latency_slo 4 h)" in late["reasons"]
    assert "today's canary, published 5 h ago, is not enforced here (latency_slo 4 h)" in late["reasons"]
    # not late yet: behind, but within the SLO -> only the existing warning
    early = _verdict({"name": "early", "serial": 6, "canary_present": True}, now=T0 + 3600)
    assert early["state"] == "warning" and early["reasons"] == ["serial 6 is behind the expected serial 7"]

    items = [exact, upper, late]
    nagios = st.nagios_report(items, None, None, slo=4 * 3600)
    assert "'slow_latency'=18000s;14400;;0" in nagios["perfdata"]
    assert nagios["code"] == 2 and nagios["summary"] == "1 critical (late); 1 warning (slow) of 3 targets"
    text = st.prometheus_text(items, "site", T0, slo=4 * 3600)
    assert 'gridsec_suspension_latency_seconds{sync="site",target="slow",type="file"} 18000' in text
    assert 'gridsec_suspension_latency_seconds{sync="site",target="new",type="file"} 18000' in text
    assert 'target="late"' not in text.split("# HELP gridsec_suspension_latency_seconds")[1].split("# HELP")[0]
    assert 'gridsec_suspension_latency_exact{sync="site",target="slow",type="file"} 1' in text
    assert 'gridsec_suspension_latency_exact{sync="site",target="new",type="file"} 0' in text
    assert 'gridsec_suspension_latency_slo_seconds{sync="site"} 14400' in text
