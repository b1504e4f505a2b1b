# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The README's demo runs from a fresh clone: no ../shared (no PanDA schema DDL) and no running PostgreSQL.

The checkout is copied (without virtualenvs, .tmp and .git) into a directory that has no ``shared`` sibling,
``GRIDSEC_PANDA_SCHEMA_DIR`` is unset and ``GRIDSEC_PG_ADMIN_DSN`` names a closed port, so the lab PanDA must
create its own tables in a private throwaway PostgreSQL cluster. Then scripts/demo.py runs end to end.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys

import lxml.html
import pytest

from gridsec_lab import ports

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def closed_port():
    # held bound (not listening) for the session: no other process, e.g. the other xdist worker, can take it
    return ports.closed_port()


@pytest.mark.slow
def test_demo_runs_from_a_clone_without_shared_and_without_postgresql(tmp_path):
    clone = tmp_path / "fresh" / "gridsec-ops"
    shutil.copytree(ROOT, clone, symlinks=True, ignore=shutil.ignore_patterns(
        ".venv*", ".tmp", ".git", "__pycache__", ".pytest_cache", "bench", "*.tar.gz"))
    assert not (clone.parent / "shared").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDSEC_", "ANSIBLE_", "PG"))}
    env.update(GRIDSEC_PG_ADMIN_DSN="host=127.0.0.1 port=%d dbname=postgres user=postgres connect_timeout=3"
               % closed_port(), GRIDSEC_DEMO_WORKDIR=str(tmp_path / "demo"), HOME=str(tmp_path / "home"))
    proc = subprocess.run([sys.executable, str(clone / "scripts" / "demo.py")], env=env, cwd=str(clone),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-15000:]
    out = proc.stdout
    assert "starting a private throwaway cluster" in out
    assert "PanDA schema not found" not in out and "skipped" not in out.split("Demo finished")[1]
    assert "Demo finished" in out
    record = json.loads((tmp_path / "demo" / "incidents" / "GRIDSEC-DEMO-001.json").read_text())
    runs = record["runs"]
    assert [a["name"] for a in runs[0]["actions"]] == ["identify", "ban_panda", "suspend_central", "kill_jobs",
                                                       "mail_site", "mail_csirt"]
    assert all(a["status"] in ("ok", "changed") for a in runs[0]["actions"])
    # the second incident run changed nothing (not appended); then the unban run
    assert len(runs) == 2 and [a["name"] for a in runs[1]["actions"]] == ["unban_panda", "unsuspend_central",
                                                                           "mail_unban"]
    assert sorted(record["mails"]) == ["csirt", "site_reply", "unban"]
    mails = sorted(os.listdir(tmp_path / "demo" / "smtp" / "mail"))
    # three for the incident, three for the token act (site reply, CSIRT, unban)
    assert mails == ["%04d.eml" % n for n in range(1, 7)] + ["index.jsonl"]
    dn = record["summary"]["dn"]
    # the canary check: every node of the lab hierarchy holds today's canary and would deny it
    canary = json.loads((tmp_path / "demo" / "reports" / "canary.json").read_text())
    assert [(n["name"], n["status"], n["effective_deny"]) for n in canary["nodes"]] == [
        ("central", "OK", True), ("relay", "OK", True), ("site", "OK", True)]
    # the HTML propagation report (argus_canary report_html): the hierarchy as a tree, each node with its status
    # and the suspended DN as the check saw it, with the check time
    page = lxml.html.parse(str(tmp_path / "demo" / "reports" / "propagation.html")).getroot()
    assert [li.text_content() for li in page.get_element_by_id("subjects").xpath("./li")] == [dn]
    assert "Checked at 20" in page.get_element_by_id("checked-at").text_content()
    nodes = page.xpath("//li[contains(concat(' ', @class, ' '), ' node ')]")
    assert [(li.get("data-node"), li.get("data-status"),
             [a.get("data-node") for a in li.xpath("ancestor::li")]) for li in nodes] == [
        ("central", "OK", []), ("relay", "OK", ["central"]), ("site", "OK", ["central", "relay"])]
    assert [li.xpath(".//td[@class='subject']")[0].text_content().split(" \u2014 ")[0] for li in nodes] == [
        "denied (stored in alias default)", "denied (stored in alias central)", "denied (stored in alias relay)"]
    # the same check after the unban: the DN is neither stored nor denied anywhere
    after = lxml.html.parse(str(tmp_path / "demo" / "reports" / "after-unban.html")).getroot()
    assert [li.xpath(".//td[@class='subject']")[0].text_content().split(" \u2014 ")[0]
            for li in after.xpath("//li[contains(concat(' ', @class, ' '), ' node ')]")] == [
        "not denied (stored in no alias)"] * 3
    # the list sync: the DN reached the site alias and the ban file, then left both with the unban
    audit = [json.loads(line) for line in (tmp_path / "demo" / "sync" / "lab-site.audit.jsonl").read_text()
             .splitlines()]
    assert [(a["target"], a["action"]) for a in audit if a["entry"]["value"] == dn] == [
        ("argus:site-pap", "add"), ("file:lcas-ban-file", "add"),
        ("argus:site-pap", "remove"), ("file:lcas-ban-file", "remove")]
    ban_file = (tmp_path / "demo" / "banfiles" / "ban_users.db").read_text()
    # the daily canary is kept on Argus (it proves propagation) but never written into the ban file, where it is junk
    assert '"%s"' % dn not in ban_file and "CN=Test Subject" not in ban_file
    sync = json.loads((tmp_path / "demo" / "reports" / "sync.json").read_text())
    canary_modes = dict((t["name"], t["canary"]["mode"]) for t in sync["first"])
    assert canary_modes == {"site-pap": "keep", "lcas-ban-file": "skip", "panda-lab": "skip"}, canary_modes
    # the CE/SE files: the second sync of act 3 took the central list and the site's token list (the token act's
    # user: the lab IAM's issuer and his subject, and his certificate DN) to an HTCondor-CE map file and a dCache ban
    # file; after the unban Alice's DN left both and the token user stayed
    demo = tmp_path / "demo"
    iam = json.loads(open(json.loads((demo / "vars.json").read_text())["demo_iam_json"]).read())
    iss, sub = iam["issuer"].rstrip("/"), iam["users"]["jmcdonald"]["id"]
    user_dn = iam["users"]["jmcdonald"]["certificate_dns_slash"][0]
    mapfile = (demo / "condor-ce" / "mapfiles.d" / "00-gridsec-ban.conf").read_text().splitlines()
    assert sorted(line for line in mapfile if line.startswith("SCITOKENS ")) == [
        'SCITOKENS "%s%s,%s" gridsec-LAB-TICKET-2@banned.htcondor.org' % (iss, slash, sub) for slash in ("", "/")]
    [ssl] = [line.split(" ") for line in mapfile if line.startswith("SSL ")]
    # HTCondor hands PCRE the field between the slashes with "\/" read as "/"
    regex = " ".join(ssl[1:-1])[1:-1].replace("\\/", "/")
    assert re.search(regex, user_dn) and re.search(regex, user_dn + ",/atlas/Role=NULL/Capability=NULL")
    assert not re.search(regex, dn) and not re.search(regex, user_dn + "x")
    assert ssl[-1] == "gridsec-LAB-TICKET-2@banned.htcondor.org"
    ban_conf = (demo / "dcache" / "ban.conf").read_text().splitlines()
    assert sorted(line for line in ban_conf if line and not line.startswith("#")) == [
        "ban dn:%s" % user_dn, "ban oidc:%s@LABIAM" % sub]
    files_audit = [json.loads(line) for line in (demo / "sync" / "lab-site-files.audit.jsonl").read_text()
                   .splitlines()]
    assert [(a["target"], a["action"]) for a in files_audit if a.get("entry", {}).get("value") == dn] == [
        ("htcondor_ce:ce-mapfile", "add"), ("dcache:dcache-banfile", "add"),
        ("htcondor_ce:ce-mapfile", "remove"), ("dcache:dcache-banfile", "remove")]
    assert "ban oidc:%s@LABIAM" % sub in out.split("What happened:")[1]  # shown to the viewer
    # the narrative names every artefact, and each exists
    artefacts = out.split("Artefacts:")[1]
    for label in ("incident record", "mail", "canary report", "HTML report", "ban file", "sync audit log",
                  "CE map file", "dCache ban file"):
        assert label in artefacts
    assert "not written" not in artefacts
    # the token act: IAM suspension with token revocation, PanDA refuses the token name, the unban restores it;
    # the clone has no .tmp, so no real Rucio tier: the Rucio act is not run and the demo says so
    token = json.loads((tmp_path / "demo" / "incidents" / "GRIDSEC-DEMO-TOKEN.json").read_text())
    token_actions = {a["name"]: a for a in token["runs"][0]["actions"]}
    assert token["summary"]["token_user"] is True
    assert token_actions["suspend_iam"]["status"] == "changed" and token_actions["suspend_central"]["status"] == "skipped"
    assert token_actions["suspend_iam"]["result"]["revoked"] == {"access": 2, "refresh": 2,
                                                                 "valid_offline_until": token_actions["suspend_iam"]
                                                                 ["result"]["revoked"]["valid_offline_until"]}
    assert "suspend_rucio" not in token_actions
    assert "Rucio act: not run, the real Rucio tier is not installed" in out
    assert "after the incident: IAM account jmcdonald active: False; tokens in IAM's listing: 0 access, 0 refresh" in out
    assert "after the incident: refresh grant with the user's refresh token: HTTP 401 invalid_token" in out
    assert "after the incident: PanDA accepts a new job from Jean-luc Mcdonald: False" in out
    assert "after the unban: IAM account jmcdonald active: True" in out
    assert "after the unban: PanDA accepts a new job from Jean-luc Mcdonald: True" in out
    assert [a["name"] for a in token["runs"][-1]["actions"]] == ["unban_panda", "unsuspend_central", "unsuspend_iam",
                                                                 "mail_unban"]
    # the throwaway cluster stopped with the demo
    port = int(out.split("PostgreSQL host=127.0.0.1 port=")[1].split()[0])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
