# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The canary's first-seen memory, latency per node and per hop, stalled hops and the worst-case bound (issue 19
item 4), without a PAP."""
import json

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._argus import canary_latency as L
from ansible_collections.gridsec.ops.plugins.module_utils._argus import canary_metrics as M

TODAY = "20261207"
DUE = 1796601600.0  # 2026-12-07 00:00 UTC


def look(name, at, present, upstreams=(), origin=False, absent_at=None, poll=3600.0, downstream=()):
    return {"name": name, "url": "https://%s:8150/pap/services" % name, "error": None, "checked_at": at,
            "first_look_at": absent_at if absent_at is not None else at, "absent_at": absent_at,
            "today_present": present, "upstreams": list(upstreams), "origin": origin, "poll_interval": poll,
            "downstream": list(downstream), "lag_seconds": 0, "lag_min_seconds": 0.0}


def test_history_remembers_first_seen_across_checks_and_is_bounded():
    history = L.load_history("")
    # 00:10 the relay lacks it, 00:20 it has it, 00:30 still has it: first seen stays 00:20, exact
    L.record_looks(history, [look("relay", DUE + 600, False)], TODAY)
    L.record_looks(history, [look("relay", DUE + 1200, True)], TODAY)
    history = L.load_history(L.dump_history(history))  # through the file format
    L.record_looks(history, [look("relay", DUE + 1800, True)], TODAY)
    record = history["nodes"]["relay"]["days"][TODAY]
    assert record == {"first_look": DUE + 600, "last_absent": DUE + 600, "first_seen": DUE + 1200}
    node = L.node_latency(look("relay", DUE + 1800, True), record, DUE)
    assert (node["first_seen"], node["latency_seconds"], node["latency_bound"]) == (DUE + 1200, 1200.0, "exact")
    # the lag says the same as the latency: never two contradicting numbers
    assert (node["lag_seconds"], node["lag_min_seconds"]) == (1200, 600.0)
    # a record eight days old is dropped; the file stays bounded
    history["nodes"]["relay"]["days"]["20261129"] = {"first_seen": 1.0}
    L.record_looks(history, [look("relay", DUE + 2400, True)], TODAY)
    assert sorted(history["nodes"]["relay"]["days"]) == [TODAY]
    with pytest.raises(ValueError):
        L.load_history(json.dumps([1, 2]))


def test_canary_already_there_at_the_first_look_is_an_upper_bound():
    history = L.record_looks(L.load_history(""), [look("site", DUE + 900, True)], TODAY)
    node = L.node_latency(look("site", DUE + 900, True), history["nodes"]["site"]["days"][TODAY], DUE)
    assert (node["latency_seconds"], node["latency_bound"], node["lag_min_seconds"]) == (900.0, "upper", 0.0)


def test_hop_latency_and_stalled_hop():
    central = look("central", DUE + 60, True, origin=True, downstream=["relay"])
    relay = look("relay", DUE + 60, False, upstreams=["central"], poll=300, downstream=["site"])
    site = look("site", DUE + 60, False, upstreams=["relay"], poll=300)
    nodes = [central, relay, site]
    history = L.record_looks(L.load_history(""), nodes, TODAY)
    L.apply_latency(nodes, history, TODAY, DUE)
    assert central["latency_seconds"] == 60.0 and relay["latency_seconds"] is None
    assert relay["hop_upstream"] == "central" and relay["hop_latency_seconds"] is None
    # 10 minutes after the publication the relay (poll 5 min + 60 s) should have pulled: relay<-central stalled
    hops = L.stalled_hops(nodes, 60, DUE, DUE + 600)
    assert [h["hop"] for h in hops] == ["relay<-central"]
    assert hops[0]["hop_budget_seconds"] == 360.0
    assert relay["stalled_upstream"] == "central" and site["stalled_upstream"] is None
    problems = L.stall_problems(nodes, hops)
    assert problems["relay"][0].startswith("stalled hop relay<-central: central has held today's canary for 10 min")
    assert problems["site"] == ["today's canary stops upstream at the stalled hop relay<-central"]
    # 5 minutes after: not yet stalled (the relay's pull may still come)
    assert L.stalled_hops(nodes, 60, DUE, DUE + 300) == []
    # when the relay has it, the hop latency is first seen minus first seen
    relay2 = look("relay", DUE + 400, True, upstreams=["central"], absent_at=DUE + 100)
    history = L.record_looks(history, [relay2], TODAY)
    L.apply_latency([central, relay2], history, TODAY, DUE)
    found = (relay2["hop_upstream"], relay2["hop_latency_seconds"], relay2["latency_bound"])
    assert found == ("central", 340.0, "exact")
    text = M.nagios_report([dict(n, status_code=1, status="WARNING", problems=[]) for n in nodes], 43200, 86400,
                           hops)["text"]
    assert text.splitlines()[0].startswith("ARGUS CANARY WARNING - 3 warning (central, relay, site) of 3 nodes; "
                                           "stalled hop relay<-central | ")


def test_bound_and_slo():
    central = {"name": "central", "origin": True, "budget_seconds": 0.0}
    relay = {"name": "relay", "origin": False, "budget_seconds": 3660.0}
    site = {"name": "site", "origin": False, "budget_seconds": 7320.0, "latency_seconds": 30000.0,
            "latency_bound": "exact", "lag_min_seconds": 29000.0, "today_present": True}
    endpoints = [{"name": "central"}, {"name": "relay", "pdp_retention_interval": 30, "pepd_cached_response_ttl": 60},
                 {"name": "site"}]
    L.apply_bounds([central, relay, site], endpoints, 0)
    assert central["bound_seconds"] == 0.0  # no PDP/PEP on the central PAP unless set
    assert relay["bound_seconds"] == 3660 + 1800 + 60
    assert site["bound_seconds"] == 7320 + 14400 + 600  # Argus's own defaults: 240 min, 600 s
    assert site["bound_parts"] == {"path": 7320.0, "extra": 0.0, "pdp_cache": 14400.0, "pep_cache": 600.0}
    slo = 6 * 3600.0
    assert L.slo_problems(relay, slo) == [] and relay["bound_within_slo"] is True
    problems = L.slo_problems(site, slo)
    assert problems[0].startswith("worst-case bound 6 h 12 min = PAP path 2 h 2 min + PDP cache 4 h + PEP cache "
                                  "10 min exceeds the latency SLO 6 h")
    assert problems[1] == "latency 8 h 20 min exceeds the latency SLO 6 h" and site["within_slo"] is False
    # extra_delay is counted once, in the PAP budget the bound starts from
    node = {"name": "relay", "origin": False, "budget_seconds": 3660.0 + 100}
    L.apply_bounds([node], [{"name": "relay"}], 100)
    assert node["bound_parts"]["path"] == 3660.0 and node["bound_seconds"] == 3760 + 14400 + 600
    # an upper bound above the SLO proves nothing
    upper = {"name": "x", "latency_seconds": 30000.0, "latency_bound": "upper", "lag_min_seconds": 0.0}
    assert L.slo_problems(upper, slo) == [] and upper["within_slo"] is None


def test_prometheus_gauges():
    node = {"name": "site", "status_code": 0, "latency_seconds": 12.5, "bound_seconds": 22320.0,
            "hop_latency_seconds": 3.0, "hop_upstream": "relay", "stalled_upstream": None}
    text = M.prometheus_text([node], DUE, slo=3600.0)
    assert 'argus_canary_latency_seconds{node="site"} 12.5' in text
    assert 'argus_canary_bound_seconds{node="site"} 22320' in text
    assert 'argus_canary_hop_latency_seconds{node="site",upstream="relay"} 3' in text
    assert 'argus_canary_stalled{node="site"} 0' in text
    assert "argus_canary_latency_slo_seconds 3600" in text


def test_report_shows_latency_hop_bound_and_slo():
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_report import render
    relay = {"name": "relay", "status": "WARNING", "today": TODAY, "today_present": False, "newest_date": "20261206",
             "checked_at": DUE + 600, "lag_seconds": 600, "stalled_upstream": "central", "hop_upstream": "central",
             "bound_seconds": 18660.0, "bound_parts": {"path": 3660.0, "extra": 0.0, "pdp_cache": 14400.0,
                                                       "pep_cache": 600.0}, "bound_within_slo": False}
    page = render({"nodes": [relay], "thresholds": {"latency_slo": 3600.0},
                   "stalled_hops": [{"hop": "relay<-central"}]})
    assert 'id="latency-slo">Latency SLO: 1 h' in page
    assert '<span class="no stalled-hop">relay&lt;-central</span>' in page
    assert "5 h 11 min = PAP path 1 h 1 min + PDP cache 4 h + PEP cache 10 min" in page
    assert "stalled: relay&lt;-central" in page
