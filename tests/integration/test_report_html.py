# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The HTML propagation report (argus_canary option report_html), rendered in headless Chromium.

A lab hierarchy with one healthy branch, one site with the ordering pitfall (its own permit before the
upstream: CRITICAL), a relay that does not re-export its upstream (CRITICAL) and one node that does not answer
(UNKNOWN) is checked by gridsec.ops.argus_canary with ``subjects`` (a DN full of HTML metacharacters, suspended on
the central PAP; a node has such a name too) and ``report_html``: the module writes the page. Then Chromium
(Debian package ``chromium``) opens it: ``--dump-dom`` must show every node with its status, nested as the
hierarchy is, the check time, exact statements (a relay whose own PDPs deny but that serves nothing downstream
never reads "effective deny: no - decision deny") and the hostile values as text; ``--screenshot`` must show the
status colours. After the unban, a second check's page says the DN is no longer stored nor denied.

Without Chromium the test fails when ``CI`` is set (scripts/run-tests.sh installs it when run as root) and is
skipped, with the reason, otherwise.
"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib

import lxml.html
import pytest

from gridsec_lab import ports
from gridsec_lab.argus import rawclient as rc
from gridsec_lab.argus.lab import ArgusLab

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
BIN = os.path.dirname(sys.executable)
XACML_NS = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"
HL = "http://org.glite.authz/wsdl/pap/services/highlevel_policy_management"
SALT = "report-canary-salt"
HOSTILE_DN = '/DC=test/DC=gridsec-lab/OU=Users/CN=Mallory <script>console.log("x")</script> & <b>Co</b>'
HOSTILE_SITE = 'site <i>"after"</i> & default'
WINDOW = (1200, 1600)

# The report's badge colours (plugins/module_utils/_argus/canary_report.py), as RGB.
GREEN, RED, PURPLE = (0x2E, 0x7D, 0x32), (0xC6, 0x28, 0x28), (0x6A, 0x1B, 0x9A)

LAB = {
    "paps": [
        {"name": "central", "acl": [{"principal": "pap:relay", "permissions": "POLICY_READ_LOCAL"},
                                    {"principal": "pap:relay_private", "permissions": "POLICY_READ_LOCAL"}]},
        {"name": "relay", "remotes": [{"alias": "central", "pap": "central", "public": True}],
         "order": ["central", "default"],
         "acl": [{"principal": "pap:site_ok", "permissions": "POLICY_READ_LOCAL"},
                 {"principal": "pap:site_after_default", "permissions": "POLICY_READ_LOCAL"}]},
        {"name": "site_ok", "remotes": [{"alias": "ngi", "pap": "relay"}], "order": ["ngi", "default"]},
        # the ordering pitfall (ARGUS.md 9.4): default before the upstream, and a local permit in default
        {"name": "site_after_default", "remotes": [{"alias": "ngi", "pap": "relay"}], "order": ["default", "ngi"]},
        # an NGI relay that forgot --public on its upstream: its PDPs deny, it serves nothing of it downstream
        {"name": "relay_private", "remotes": [{"alias": "central", "pap": "central", "public": False}],
         "order": ["central", "default"]},
    ],
}


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    message = ("headless Chromium is needed to test the HTML report and was not found on PATH: install the Debian "
               "package 'chromium' (apt-get install --no-install-recommends chromium; scripts/run-tests.sh does it "
               "when run as root)")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run_chromium(binary, tmp_path, *args):
    profile = tmp_path / "chromium-profile"
    cmd = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--disable-extensions", "--hide-scrollbars", "--force-device-scale-factor=1",
           "--user-data-dir=%s" % profile, "--window-size=%d,%d" % WINDOW] + list(args)
    env = dict(os.environ, HOME=str(tmp_path / "chromium-home"))
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180,
                          check=False)
    assert proc.returncode == 0, "%s failed (%d):\n%s" % (" ".join(cmd), proc.returncode, proc.stderr[-5000:])
    return proc.stdout


def png_pixels(path):
    """(width, height, rows of (r, g, b)) of an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes)."""
    with open(path, "rb") as handle:
        data = handle.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG format %r" % (header,)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous, pos = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 0xFF
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, channels)])
        previous = line
    return width, height, rows


def count_colour(rows, rgb, tolerance=8):
    return sum(1 for row in rows for pixel in row if all(abs(a - b) <= tolerance for a, b in zip(pixel, rgb)))


def call(lab, name, service, operation, params, ns=rc.AXIS_NS):
    return rc.call(lab.paps[name].service(service), operation, params, cred=lab.creds["admin"], ca_dir=lab.ca_dir,
                   ns=ns)


def ban(lab, name, value):
    call(lab, name, "HighLevelPolicyManagementService", "ban",
         [("alias", "default"), ("id", "subject"), ("value", value), ("resource", ".*"), ("action", ".*"),
          ("isPublic", True)], ns=HL)


def permit_vo(lab, name, vo="dteam"):
    """The site's own rule in default: permit any resource and action to the VO (like pap-admin add-rule)."""
    call(lab, name, "HighLevelPolicyManagementService", "addRule",
         [("alias", "default"), ("isPermit", True), ("attributeList", ["vo=%s" % vo]), ("actionValue", ".*"),
          ("resourceValue", ".*"), ("actionIdentifier", None), ("ruleIdentifier", None), ("obligationValue", None),
          ("obligationScope", "action"), ("moveAfter", False)], ns=HL)


def values(lab, name, alias):
    """Every AttributeValue of the policies of ``alias`` on PAP ``name`` (None: no such alias)."""
    try:
        policies = rc.ret(call(lab, name, "XACMLPolicyManagementService", "listPolicies", [("alias", alias)]))
    except rc.Fault:
        return None
    return [v.text for v in policies.iter("{%s}AttributeValue" % XACML_NS)]


def aliases_holding(lab, name, value):
    """Aliases of PAP ``name`` (local and cached remote) holding a rule on exactly ``value``."""
    return [alias for alias in ("default", "central", "ngi") if value in (values(lab, name, alias) or [])]


def closed_port():
    # held bound (not listening) for the session: no other process, e.g. the other xdist worker, can take it
    return ports.closed_port()


def wait_for(condition, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail("timed out waiting until %s" % what)


def run_check(work, lab, endpoints, since, page, title):
    """gridsec.ops.argus_canary state=checked with subjects and report_html (the test playbook); the result."""
    reader = lab.creds["reader"]
    result_file = work / ("canary-%d.json" % time.monotonic_ns())
    extravars = {"endpoints": endpoints, "salt": SALT, "since": since, "wait_for_today": 60, "endpoint_timeout": 10,
                 "subjects": [HOSTILE_DN], "report_html": str(page), "report_title": title,
                 "result_file": str(result_file),
                 "conn": {"client_cert": reader.cert, "client_key": reader.key, "ca_path": lab.ca_dir}}
    vars_file = work / ("vars-%d.json" % time.monotonic_ns())
    vars_file.write_text(json.dumps(extravars))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=str(work / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"),
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@%s" % vars_file,
                           os.path.join(HERE, "playbooks", "canary_check_saved.yml")], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-15000:]
    return json.loads(result_file.read_text())


@pytest.fixture(scope="module")
def checked(tmp_path_factory, argus_pki):
    """(lab, result, page, result after the unban, page after the unban)."""
    work = tmp_path_factory.mktemp("report-lab")
    lab = ArgusLab(LAB, str(work / "argus"), poll_interval=0.3, pki=argus_pki)
    lab.start()
    try:
        permit_vo(lab, "site_after_default")
        since = time.time()
        date = time.strftime("%Y%m%d", time.gmtime())
        canary = ("CN=%s, CN=%s, CN=Test Subject, CN=000001, CN=tsubject, OU=Users, OU=Organic Units, DC=cern, "
                  "DC=ch" % (hashlib.sha256((SALT + date).encode()).hexdigest()[:8], date))
        ban(lab, "central", canary)
        ban(lab, "central", HOSTILE_DN)
        names = {"central": "central", "relay": "relay", "site_ok": "site_ok", "site_after_default": HOSTILE_SITE,
                 "relay_private": "relay_private"}
        endpoints = [{"name": shown, "host": "localhost", "port": lab.paps[pap].port} for pap, shown in names.items()]
        endpoints[-1]["exports"] = True  # its sites are not among the checked nodes
        endpoints.append({"name": "site_down", "host": "127.0.0.1", "port": closed_port()})
        stored = [v for v in values(lab, "central", "default") if "Mallory" in v]
        assert len(stored) == 1, stored
        wait_for(lambda: aliases_holding(lab, "site_ok", stored[0]) and
                 aliases_holding(lab, "site_after_default", stored[0]), "the suspension reaches the sites")
        page = work / "propagation.html"
        result = run_check(work, lab, endpoints, since, page, "Propagation <test> & report")
        # the false positive: the DN is unbanned on central and the lifting reaches the sites
        call(lab, "central", "HighLevelPolicyManagementService", "unban",
             [("alias", "default"), ("id", "subject"), ("value", HOSTILE_DN), ("resource", ".*"), ("action", ".*")],
             ns=HL)
        wait_for(lambda: not aliases_holding(lab, "site_ok", stored[0]), "the unban reaches the sites")
        after_page = work / "after-unban.html"
        after = run_check(work, lab, endpoints, since, after_page, "After the unban")
        yield lab, result, page, after, after_page
    finally:
        lab.stop()


@pytest.mark.slow
def test_propagation_report_in_headless_chromium(checked, tmp_path):
    binary = chromium()
    _, result, page, after, after_page = checked
    # What the module said, so that the report is compared with it and not with a guess.
    statuses = {node["name"]: node["status"] for node in result["nodes"]}
    assert statuses == {"central": "OK", "relay": "OK", "site_ok": "OK", HOSTILE_SITE: "CRITICAL",
                        "relay_private": "CRITICAL", "site_down": "UNKNOWN"}
    assert result["report_html_written"] is True

    dom = lxml.html.fromstring(run_chromium(binary, tmp_path, "--dump-dom", page.as_uri()))
    # Nothing in the values became markup: the only elements are the report's own.
    assert dom.xpath("//script") == [] and dom.xpath("//i") == []
    assert dom.xpath("//h1")[0].text_content() == "Propagation <test> & report"
    assert [li.text_content() for li in dom.get_element_by_id("subjects").xpath("./li")] == [HOSTILE_DN]
    assert not [b for b in dom.xpath("//b") if b.text_content() == "Co"]
    # When: the check time on the page, and each node's own read time.
    checked_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(result["checked_at"]))
    assert checked_at in dom.get_element_by_id("checked-at").text_content()

    items = dom.xpath("//li[contains(concat(' ', @class, ' '), ' node ')]")
    shown = {li.get("data-node"): li.xpath("./div/span[contains(@class, 'status')]")[0].text_content()
             for li in items}
    assert shown == statuses
    names_in_cards = [li.xpath("./div/span[@class='node-name']")[0].text_content() for li in items]
    assert sorted(names_in_cards) == sorted(statuses)

    def parent_node(name):
        li = [item for item in items if item.get("data-node") == name][0]
        up = li.xpath("ancestor::li[contains(concat(' ', @class, ' '), ' node ')][1]")
        return up[0].get("data-node") if up else None

    # The tree is the hierarchy: sites under the relay, the relays under central; the dead node at the top.
    assert {name: parent_node(name) for name in statuses} == {
        "central": None, "relay": "central", "site_ok": "relay", HOSTILE_SITE: "relay", "relay_private": "central",
        "site_down": None}

    def fact(name, label, items=items):
        li = [item for item in items if item.get("data-node") == name][0]
        for row in li.xpath("./div/table//tr"):  # the parser adds tbody
            if row.xpath("./th")[0].text_content() == label:
                return row.xpath("./td")[0].text_content()
        return None

    nodes = {node["name"]: node for node in result["nodes"]}
    for name in ("central", "relay", "site_ok", HOSTILE_SITE, "relay_private"):
        read_at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(nodes[name]["checked_at"]))
        assert fact(name, "read at") == read_at
        assert fact(name, "canary").startswith("present (today's canary, %s)" % nodes[name]["today"])
    assert fact("site_ok", "effective deny").startswith("yes")
    assert fact(HOSTILE_SITE, "effective deny").startswith("no")
    assert "permit" in fact(HOSTILE_SITE, "effective deny")
    assert fact(HOSTILE_SITE, "its PDPs").startswith("does not deny: may be PERMITTED")
    # the relay that does not re-export: exact, never "no - decision deny"
    relay_private = fact("relay_private", "effective deny")
    assert relay_private.startswith("no") and "decision deny" not in relay_private
    assert "its PDPs deny the canary, but what it serves downstream does not" in relay_private
    assert fact("relay_private", "its PDPs").startswith("denies: denied by rule")
    assert fact("relay_private", "served downstream").startswith("does not deny: no rule applies")
    # the suspended DN on each node, as it was at the check
    assert fact("site_ok", "subject 1").startswith("denied (stored in alias ngi)")
    assert fact(HOSTILE_SITE, "subject 1").startswith("not denied (stored in alias ngi)")
    assert fact("central", "subject 1").startswith("denied (stored in alias default)")
    assert fact("site_down", "error")
    assert fact("site_down", "effective deny").startswith("unknown")
    for name in ("central", "relay", "site_ok"):
        assert "after publication" in fact(name, "lag"), fact(name, "lag")
    critical = [li for li in items if li.get("data-node") == HOSTILE_SITE][0]
    assert critical.xpath(".//ul[@class='problems']/li"), "a CRITICAL node lists its problems"

    # After the unban: the second page says the DN is gone, with its own check time.
    dom = lxml.html.fromstring(run_chromium(binary, tmp_path, "--dump-dom", after_page.as_uri()))
    after_items = dom.xpath("//li[contains(concat(' ', @class, ' '), ' node ')]")
    assert time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(after["checked_at"])) in \
        dom.get_element_by_id("checked-at").text_content()
    for name in ("central", "relay", "site_ok"):
        assert fact(name, "subject 1", after_items).startswith("not denied (stored in no alias)"), name

    # The screenshot: the page really renders, with the green, red and purple status badges.
    shot = tmp_path / "report.png"
    run_chromium(binary, tmp_path, "--screenshot=%s" % shot, page.as_uri())
    width, height, rows = png_pixels(str(shot))
    assert (width, height) == WINDOW
    assert count_colour(rows, GREEN) > 200
    assert count_colour(rows, RED) > 100
    assert count_colour(rows, PURPLE) > 100
