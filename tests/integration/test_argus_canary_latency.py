# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Issue 19 item 4 against the lab hierarchy: the propagation latency per node and per hop remembered across checks
(history_file), a relay that stops pulling (its sites go stale and the status names the stalled hop relay<-central),
the worst-case bound of each node against latency_slo, the Prometheus gauges (promtool) and the HTML report in
headless Chromium."""
import json
import time

import lxml.html
import pytest

from gridsec_lab.argus.distribution import Distributor
from gridsec_lab.argus.lab import ArgusLab
from test_argus_canary import SALT, ban_on, canary, conn, endpoints, parse_prometheus, run_playbook, utc_today, \
    wait_for_value, wrapper_agrees
from test_report_html import chromium, run_chromium

POLL = 0.5  # every PAP pulls every 0.5 s
HOP_ALLOWANCE = 1.0
LAB = {
    "poll_interval": POLL,
    "paps": [
        {"name": "central", "acl": [{"principal": "pap:relay", "permissions": "POLICY_READ_LOCAL"}]},
        {"name": "relay", "remotes": [{"alias": "central", "pap": "central", "public": True}],
         "order": ["central", "default"],
         "acl": [{"principal": "pap:site1", "permissions": "POLICY_READ_LOCAL"},
                 {"principal": "pap:site2", "permissions": "POLICY_READ_LOCAL"}]},
        {"name": "site1", "remotes": [{"alias": "ngi", "pap": "relay"}], "order": ["ngi", "default"]},
        {"name": "site2", "remotes": [{"alias": "ngi", "pap": "relay"}], "order": ["ngi", "default"]},
    ],
}
NAMES = ["central", "relay", "site1", "site2"]


def stop_pulling(lab, name):
    lab.servers[name].distributor.stop()


def resume_pulling(lab, name):
    server = lab.servers[name]
    distributor = Distributor(server.state, server.cert, server.key, server.ca_dir)
    server.distributor = server.httpd.distributor = distributor
    distributor.start()


def check(lab, work, **options):
    result_file = work / ("result-%d.json" % time.monotonic_ns())
    nodes = endpoints(lab, NAMES)
    # the relay and site1 as the argus_server role renders them (30 min PDP retention, 600 s PEP cache), site2 with
    # Argus's own defaults (240 min, 600 s)
    for item in nodes[1:3]:
        item.update(pdp_retention_interval=30, pepd_cached_response_ttl=600)
    extravars = dict(conn=conn(lab, lab.paps["central"], "reader"), salt=SALT, endpoints=nodes,
                     result_file=str(result_file), history_file=str(work / "history.json"), latency_slo="2h",
                     hop_allowance=HOP_ALLOWANCE)
    extravars.update(options)
    run_playbook("canary_check_saved.yml", extravars, work)
    return json.loads(result_file.read_text())


@pytest.mark.slow
def test_stalled_relay_latency_bound_and_report(tmp_path, argus_pki):
    work = tmp_path
    lab = ArgusLab(LAB, str(work / "argus"), pki=argus_pki)
    lab.start()
    try:
        today, yesterday = utc_today(), utc_today(-1)
        ban_on(lab, "central", canary(SALT, yesterday))
        for name, alias in (("relay", "central"), ("site1", "ngi"), ("site2", "ngi")):
            wait_for_value(lab, name, alias, canary(SALT, yesterday))
        stop_pulling(lab, "relay")
        first = check(lab, work)  # before the publication: every node is on yesterday's canary
        assert [n["today_present"] for n in first["nodes"]] == [False] * 4
        assert first["stalled_hops"] == [] and first["history_written"] is True

        since = time.time()
        ban_on(lab, "central", canary(SALT, today))
        time.sleep(POLL + HOP_ALLOWANCE + 1.5)  # more than the relay's poll interval + hop allowance
        page = work / "stalled.html"
        stalled = check(lab, work, since=since, report_html=str(page))
        nodes = dict((n["name"], n) for n in stalled["nodes"])
        assert nodes["central"]["today_present"] is True
        for name in ("relay", "site1", "site2"):  # the relay and its sites are stale: still on yesterday's canary
            assert nodes[name]["today_present"] is False and nodes[name]["newest_date"] == yesterday, nodes[name]
            assert nodes[name]["latency_seconds"] is None and nodes[name]["first_seen"] is None
        # the status says which hop: relay<-central, not the sites' hops
        assert [h["hop"] for h in stalled["stalled_hops"]] == ["relay<-central"]
        assert stalled["stalled_hops"][0]["hop_budget_seconds"] == POLL + HOP_ALLOWANCE
        assert stalled["stalled_hops"][0]["held_seconds"] > POLL + HOP_ALLOWANCE
        assert nodes["relay"]["stalled_upstream"] == "central" and nodes["relay"]["status"] == "WARNING"
        assert [p for p in nodes["relay"]["problems"] if p.startswith("stalled hop relay<-central: central has held")]
        for name in ("site1", "site2"):
            assert nodes[name]["stalled_upstream"] is None
            assert "today's canary stops upstream at the stalled hop relay<-central" in nodes[name]["problems"]
        first_line = stalled["nagios"]["text"].splitlines()[0]
        assert "; stalled hop relay<-central | " in first_line, first_line
        assert "relay: WARNING - " in stalled["nagios"]["text"]
        wrapper_agrees(stalled, work)
        samples = parse_prometheus(stalled["prometheus"], work)
        stalled_gauge = dict((s.labels["node"], s.value) for s in samples if s.name == "argus_canary_stalled")
        assert stalled_gauge == {"central": 0, "relay": 1, "site1": 0, "site2": 0}

        # the relay pulls again: the canary reaches the relay and the sites; the history remembers the looks
        resume_pulling(lab, "relay")
        for name, alias in (("relay", "central"), ("site1", "ngi"), ("site2", "ngi")):
            wait_for_value(lab, name, alias, canary(SALT, today))
        page = work / "recovered.html"
        recovered = check(lab, work, since=since, report_html=str(page))
        nodes = dict((n["name"], n) for n in recovered["nodes"])
        assert recovered["stalled_hops"] == []
        history = json.loads((work / "history.json").read_text())
        for name in NAMES:
            node = nodes[name]
            assert node["today_present"] is True
            record = history["nodes"][name]["days"][today]
            assert node["first_seen"] == record["first_seen"]
            assert node["latency_seconds"] == pytest.approx(max(0.0, node["first_seen"] - since), abs=0.01)
            assert node["lag_seconds"] == int(node["latency_seconds"])  # one number, not two
        # central was first seen with it by the previous check; its last look without it was before the
        # publication, so its latency is only an upper bound
        assert nodes["central"]["first_seen"] == stalled["nodes"][0]["checked_at"]
        assert nodes["central"]["latency_bound"] == "upper"
        # the relay's last look without it was after the publication: exact, and it arrived after the stall
        assert nodes["relay"]["latency_bound"] == "exact"
        assert nodes["relay"]["lag_min_seconds"] > POLL + HOP_ALLOWANCE
        assert nodes["relay"]["hop_upstream"] == "central"
        assert nodes["relay"]["hop_latency_seconds"] == pytest.approx(
            nodes["relay"]["first_seen"] - nodes["central"]["first_seen"], abs=0.01)
        assert nodes["site1"]["hop_upstream"] == "relay" and nodes["site1"]["hop_latency_seconds"] is not None

        # worst-case bounds: PAP path + PDP cache + PEP cache against the 2 h SLO
        assert nodes["central"]["bound_seconds"] == 0
        assert nodes["relay"]["bound_seconds"] == pytest.approx(POLL + HOP_ALLOWANCE + 1800 + 600)
        assert nodes["site1"]["bound_seconds"] == pytest.approx(2 * (POLL + HOP_ALLOWANCE) + 1800 + 600)
        assert nodes["site2"]["bound_seconds"] == pytest.approx(2 * (POLL + HOP_ALLOWANCE) + 14400 + 600)
        assert recovered["thresholds"]["latency_slo"] == 7200
        assert [nodes[n]["bound_within_slo"] for n in NAMES] == [True, True, True, False]
        assert nodes["site2"]["status"] == "WARNING" and nodes["site1"]["status"] == "OK"
        assert [p for p in nodes["site2"]["problems"]
                if p.startswith("worst-case bound 4 h 10 min = PAP path 3 s + PDP cache 4 h + PEP cache 10 min "
                                "exceeds the latency SLO 2 h")], nodes["site2"]["problems"]
        wrapper_agrees(recovered, work)
        samples = parse_prometheus(recovered["prometheus"], work)
        bound = dict((s.labels["node"], s.value) for s in samples if s.name == "argus_canary_bound_seconds")
        latency = dict((s.labels["node"], s.value) for s in samples if s.name == "argus_canary_latency_seconds")
        hop = dict(((s.labels["node"], s.labels["upstream"]), s.value) for s in samples
                   if s.name == "argus_canary_hop_latency_seconds")
        assert bound["site2"] == pytest.approx(nodes["site2"]["bound_seconds"])
        assert latency == dict((n, pytest.approx(nodes[n]["latency_seconds"], abs=0.001)) for n in NAMES)
        assert ("relay", "central") in hop and ("site1", "relay") in hop
        assert [s.value for s in samples if s.name == "argus_canary_latency_slo_seconds"] == [7200]

        # the HTML reports in headless Chromium: latency, hop, bound and SLO per node; the stalled hop
        binary = chromium()
        dom = lxml.html.fromstring(run_chromium(binary, work, "--dump-dom", (work / "stalled.html").as_uri()))
        assert dom.get_element_by_id("latency-slo").text_content().startswith("Latency SLO: 2 h")
        assert dom.get_element_by_id("stalled-hops").text_content() == "Today's canary stops at: relay<-central"
        assert fact(dom, "relay", "hop").startswith("stalled: relay<-central")
        assert fact(dom, "site1", "latency").startswith("not arrived")
        dom = lxml.html.fromstring(run_chromium(binary, work, "--dump-dom", page.as_uri()))
        for name in NAMES:
            assert fact(dom, name, "latency").endswith("SLO 2 h: within"), fact(dom, name, "latency")
        assert fact(dom, "relay", "hop").endswith(" after central")
        assert fact(dom, "site1", "hop").endswith(" after relay")
        assert fact(dom, "site2", "worst-case bound") == (
            "4 h 10 min = PAP path 3 s + PDP cache 4 h + PEP cache 10 min \u2014 exceeds the SLO 2 h")
        assert fact(dom, "site1", "worst-case bound").endswith("within the SLO 2 h")
    finally:
        lab.stop()


def fact(dom, name, label):
    li = [item for item in dom.xpath("//li[contains(concat(' ', @class, ' '), ' node ')]")
          if item.get("data-node") == name][0]
    for row in li.xpath("./div/table//tr"):
        if row.xpath("./th")[0].text_content() == label:
            return row.xpath("./td")[0].text_content()
    return None
