"""The HTML report of gridsec.ops.suspension_status (option report_html), rendered in headless Chromium.

Lab file targets written by the sync's own target classes (as the sync writes them, with its serial stamp): an
LCAS ban file whose target name is full of HTML metacharacters, an HTCondor-CE map file and a dCache ban file at
serial 7 with today's canary, a gplazma ban file still at serial 6 (stale) and a plain ban file at serial 7 without
the canary. gridsec.ops.suspension_status checks them (expected serial 7, issued 30 minutes ago, latency_slo 4h)
and writes the page. Chromium's ``--dump-dom`` must show, per target, the serial, age, canary and status as the
user reads them, the hostile name as text; ``--screenshot`` the green, amber and red badges. Then the stale
target receives serial 7, and the second page shows it at serial 7 with an exact latency.

Without Chromium the test fails when ``CI`` is set (scripts/run-tests.sh installs it when run as root) and is
skipped, with the reason, otherwise (as test_report_html.py).
"""
import os
import time

import lxml.html
import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import daily_canary, format_seconds
from ansible_collections.gridsec.ops.plugins.module_utils._dn import parse_dn
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import entries as sl_entries
from ansible_collections.gridsec.ops.plugins.module_utils._sync.registry import target_class
from test_report_html import GREEN, RED, WINDOW, chromium, count_colour, png_pixels, run_chromium
from test_suspension_status import ISSUER, SALT, by_name, status

HOSTILE = 'ban <b>"file"</b> & <script>alert(1)</script>'
AMBER = (0xF9, 0xA8, 0x25)
PEOPLE = ["/DC=test/DC=gridsec-lab/OU=Users/CN=html person %d" % i for i in range(3)]


class Ctx(object):
    """What a target needs from the sync to write its file (the sync's name, the list's serial)."""
    sync_name = "site"
    check_mode = False
    params = {}

    def __init__(self, serial):
        self.list_serial = serial
        self.applied_at = sl_entries.iso(sl_entries.utcnow())

    def warn(self, msg):
        pass

    def run_command(self, argv):
        return 0, "", ""


def write(spec, serial, canary=True):
    _date, items = daily_canary(SALT, None, ISSUER)
    wanted = [sl_entries.Entry(sl_entries.DN, dn) for dn in PEOPLE]
    if canary:
        wanted += [sl_entries.Entry(sl_entries.DN, c["dn"]) if "dn" in c else
                   sl_entries.Entry(sl_entries.TOKEN, (c["issuer"], c["subject"])) for c in items]
    cls = target_class(spec)
    full = dict((key, None) for key in cls.OPTIONS)
    full.update(spec)
    cls(full, Ctx(serial)).sync(dict((e.key, e) for e in wanted if e.kind in cls.KINDS), False)


def page_rows(binary, tmp_path, page):
    dom = lxml.html.fromstring(run_chromium(binary, tmp_path, "--dump-dom", page.as_uri()))
    rows = {}
    for tr in dom.xpath("//table[@id='targets']//tr[contains(concat(' ', @class, ' '), ' target ')]"):
        rows[tr.get("data-target")] = dict((td.get("class"), td.text_content()) for td in tr.xpath("./td"))
    return dom, rows


@pytest.mark.slow
def test_status_report_in_headless_chromium(tmp_path):
    binary = chromium()
    out = tmp_path / "out"
    (out / "mapfiles.d").mkdir(parents=True)
    specs = [
        {"name": HOSTILE, "type": "file", "format": "lcas", "path": str(out / "ban_users.db")},
        {"name": "ce", "type": "htcondor_ce", "path": str(out / "mapfiles.d" / "00-ban.conf")},
        {"name": "dcache", "type": "dcache", "path": str(out / "dcache-ban.conf"), "dcache_op_aliases": {ISSUER: "lab"}},
        {"name": "stale", "type": "file", "format": "gplazma", "path": str(out / "gplazma-ban.conf")},
        {"name": "nocanary", "type": "file", "format": "plain", "path": str(out / "plain-ban.txt")},
    ]
    specs = [dict(spec, canary="keep", mode="0644") for spec in specs]
    for spec in specs:
        write(spec, 6 if spec["name"] == "stale" else 7, canary=spec["name"] != "nocanary")
    issued = int(time.time()) - 1800
    page = tmp_path / "status.html"
    args = dict(serial=7, serial_issued=str(issued), canary_since=str(issued - 5 * 3600), latency_slo="4h",
                report_html=str(page),
                report_title="Status <of> & the \"lab\"")
    res = status(tmp_path, specs, **args)
    items = by_name(res)
    assert res["report_html_written"] is True and res["history_written"] is True
    # what the module said, so that the page is compared with it and not with a guess
    assert dict((n, i["state"]) for n, i in items.items()) == {
        HOSTILE: "ok", "ce": "ok", "dcache": "ok", "stale": "warning", "nocanary": "critical"}, res["nagios"]["text"]
    for name in (HOSTILE, "ce", "dcache"):
        # the sync stamped serial 7 after its issue: an exact latency of about 30 minutes, within the SLO
        assert items[name]["latency_bound"] == "exact" and 1790 <= items[name]["latency_seconds"] < 1800 + 600
        assert items[name]["canary_latency_bound"] == "upper"  # present at the history's first read

    dom, rows = page_rows(binary, tmp_path, page)
    assert dom.xpath("//script") == [] and dom.xpath("//b") == []
    assert dom.xpath("//h1")[0].text_content() == 'Status <of> & the "lab"'
    assert time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(res["checked_at"])) in \
        dom.get_element_by_id("checked-at").text_content()
    assert dom.get_element_by_id("reference-serial").text_content().startswith(
        "7, issued %s" % time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(issued)))
    assert dom.get_element_by_id("slo").text_content() == "Latency SLO: 4 h"
    assert sorted(rows) == sorted(items)  # the hostile name is one row, its name text
    assert rows[HOSTILE]["name"] == HOSTILE
    for name, item in items.items():
        row = rows[name]
        assert row["status"] == item["state"].upper()
        assert row["entries"] == str(item["entries"])
        assert row["age"].startswith("%s ago" % format_seconds(item["age_seconds"]))
    assert [rows[n]["serial"] for n in (HOSTILE, "ce", "dcache", "stale", "nocanary")] == [
        "7", "7", "7", "6 (behind 7)", "7"]
    assert all(rows[n]["canary"] == "present" for n in (HOSTILE, "ce", "dcache", "stale"))
    canary_slash = parse_dn(res["canary"][0]["value"]).to_openssl() if res["canary"][0]["kind"] == "dn" else None
    assert rows["nocanary"]["canary"].startswith("missing: dn ")
    assert canary_slash is None or canary_slash in rows["nocanary"]["canary"]
    assert rows["ce"]["latency"] == "%s (exact, from the sync's stamp)" % format_seconds(items["ce"]["latency_seconds"])
    assert rows["stale"]["latency"] == "not received"
    assert rows["ce"]["canary-latency"].startswith("at most ") and rows["ce"]["canary-latency"].endswith(
        "(upper bound)")
    assert rows["stale"]["reasons"] == "serial 6 is behind the expected serial 7" + "".join(items["stale"]["notes"])
    assert "not enforced" in rows["nocanary"]["reasons"]
    assert rows["ce"]["reasons"].startswith("today's canary reached the target at most ")  # a note, not a reason

    shot = tmp_path / "status.png"
    run_chromium(binary, tmp_path, "--screenshot=%s" % shot, page.as_uri())
    width, height, pixels = png_pixels(str(shot))
    assert (width, height) == WINDOW
    assert count_colour(pixels, GREEN) > 200 and count_colour(pixels, AMBER) > 100 and count_colour(pixels, RED) > 100

    # the stale target catches up: the second check saw it behind, so its latency is known (the sync's stamp)
    time.sleep(1)
    write(specs[3], 7)
    page2 = tmp_path / "status-2.html"
    res = status(tmp_path, specs, **dict(args, report_html=str(page2)))
    stale = by_name(res)["stale"]
    assert stale["state"] == "ok" and stale["latency_bound"] == "exact" and stale["latency_seconds"] >= 1800
    _dom, rows = page_rows(binary, tmp_path, page2)
    assert rows["stale"]["serial"] == "7" and rows["stale"]["status"] == "OK"
    assert rows["stale"]["latency"] == "%s (exact, from the sync's stamp)" % format_seconds(stale["latency_seconds"])
    assert os.path.exists(str(tmp_path / "state" / "site.status-history.json"))
