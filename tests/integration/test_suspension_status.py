"""gridsec.ops.suspension_status (issue 19 items 2 and 3) against what the sync wrote, with the lab PKI and PanDA.

The chain: suspension_list_publish signs a list with today's canary DN and canary token identity, the sync applies
it (require_signature) to ban files, an HTCondor-CE map file, a dCache ban file and the lab PanDA, and the status
reads every target back: the serial, the entries, the canary. Then a file loses its canary line, and a target
misses a newer serial. The Prometheus metrics pass ``promtool check metrics``."""
import calendar
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import (
    canary_dn,
    canary_token_subject,
    utc_date,
)
from ansible_collections.gridsec.ops.plugins.module_utils._dn import parse_dn, to_canl_slash
from gridsec_lab.pki import TestPKI
from test_suspension_list_publish import publish
from test_suspension_sync import letters, panda_db_args, run, user_status

SALT = "status-salt"
ISSUER = "https://iam.lab.example"
PANDA_BASE = "/DC=test/DC=gridsec-lab/OU=Users"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return TestPKI(str(tmp_path_factory.mktemp("status-pki")))


def promtool_check(text, tmp_path):
    """``promtool check metrics`` on ``text`` (Debian package prometheus; scripts/run-tests.sh installs it)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed: apt-get install --no-install-recommends prometheus "
                    "(scripts/run-tests.sh does it when run as root)")
    proc = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def targets(tmp_path, panda_ep):
    out = tmp_path / "out"
    files = [
        {"name": "lcas", "type": "file", "format": "lcas", "path": str(out / "ban_users.db")},
        {"name": "gplazma", "type": "file", "format": "gplazma", "path": str(out / "gplazma-ban.conf")},
        {"name": "ce", "type": "htcondor_ce", "path": str(out / "mapfiles.d" / "00-ban.conf")},
        {"name": "dcache", "type": "dcache", "path": str(out / "dcache-ban.conf"), "group": "root",
         "dcache_op_aliases": {ISSUER: "lab"}},
    ]
    specs = [dict(spec, canary="keep") for spec in files]
    specs.append(dict({"name": "panda", "type": "panda", "canary": "keep"}, **panda_db_args(panda_ep)))
    return specs


def sync_args(tmp_path, pki, officer, specs):
    source = {"name": "central", "type": "yaml", "path": str(tmp_path / "www" / "list.json"),
              "require_signature": True, "trusted_signers": [officer.dn], "ca_path": pki.ca_dir}
    return {"name": "site", "sources": [source], "targets": specs, "state_dir": str(tmp_path / "state")}


def status(tmp_path, specs, expect_failure=False, **extra):
    args = {"name": "site", "targets": specs, "state_dir": str(tmp_path / "state"), "canary_salt": SALT,
            "canary_issuer": ISSUER, "fail_on": "never"}
    args.update(extra)
    result_file = tmp_path / ("status-%s.json" % letters())
    # the sync's run() helper runs any playbook with these extra variables
    out = run(tmp_path, None, args=("-e", json.dumps({"status_args": args, "result_file": str(result_file),
                                                      "expect_failure": expect_failure})),
              playbook="suspension_status_run.yml")
    return json.loads(result_file.read_text()) if result_file.exists() else out


WRAPPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "extras", "check_suspension_status")


def plugin(result, tmp_path, *args):
    """``(exit code, output)`` of extras/check_suspension_status on a saved result."""
    path = tmp_path / ("saved-%s.json" % letters())
    path.write_text(json.dumps(result))
    proc = subprocess.run([sys.executable, WRAPPER, "--result", str(path)] + list(args), capture_output=True,
                          text=True, timeout=60)
    return proc.returncode, proc.stdout


def by_name(result):
    return dict((item["name"], item) for item in result["targets"])


def test_status_reads_serial_entries_and_canary_then_tampering_and_staleness(pki, panda_endpoint, tmp_path):
    officer = pki.user("Status Officer %s" % letters())
    tag = letters()
    person = "%s/CN=status person %s" % (PANDA_BASE, tag)
    src = tmp_path / "list.yml"
    src.write_text('version: 1\nentries:\n  - dn: "%s"\n    reason: INC-19\n' % person)
    pub = {"src": str(src), "dest": str(tmp_path / "www" / "list.json"), "cert": officer.cert, "key": officer.key,
           "canary_salt": SALT, "canary_issuer": ISSUER}
    published = publish(tmp_path, pub)
    today = utc_date()
    assert published["serial"] == 1 and published["entries"] == 3
    assert published["canary"][0]["dn"] == canary_dn(SALT, today)
    assert published["canary"][1] == {"issuer": ISSUER, "subject": canary_token_subject(SALT, today),
                                      "reason": published["canary"][1]["reason"]}

    specs = targets(tmp_path, panda_endpoint)
    synced = run(tmp_path, sync_args(tmp_path, pki, officer, specs))
    assert all(not t.get("failed") for t in synced["targets"]), synced["targets"]
    # the stamp of the applied serial is in each file, once
    lcas = tmp_path / "out" / "ban_users.db"
    assert lcas.read_text().count("# gridsec.ops applied: serial=1 applied=") == 1
    # a second sync of the same serial rewrites nothing (the time in the stamp does not move)
    before = dict((p, os.stat(str(p)).st_mtime_ns) for p in (tmp_path / "out").rglob("*") if p.is_file())
    again = run(tmp_path, sync_args(tmp_path, pki, officer, specs))
    assert not again["changed"]
    assert before == dict((p, os.stat(str(p)).st_mtime_ns) for p in (tmp_path / "out").rglob("*") if p.is_file())

    res = status(tmp_path, specs, serial=1, max_age="1h")
    items = by_name(res)
    assert res["status"] == "ok" and res["nagios"]["code"] == 0, res["nagios"]["text"]
    for name in ("lcas", "gplazma", "ce", "dcache", "panda"):
        assert items[name]["serial"] == 1 and items[name]["canary_present"] is True, items[name]
        assert 0 <= items[name]["age_seconds"] < 3600
    # the files hold the person and the canary DN (lcas/gplazma hold DNs only; the CE and dCache the token too)
    assert items["lcas"]["entries"] == 2 and items["ce"]["entries"] == 3 and items["dcache"]["entries"] == 3
    assert items["panda"]["entries"] >= 3
    assert res["nagios"]["text"].startswith("SUSPENSION STATUS OK - 5/5 targets OK, serial 1")
    assert 0 <= res["checked_at"] - calendar.timegm(time.strptime(res["sync_last_read"], "%Y-%m-%dT%H:%M:%SZ")) < 600
    assert "'lcas_serial'=1;;;0" in res["nagios"]["perfdata"]
    assert 'gridsec_suspension_serial{sync="site",target="panda",type="panda"} 1' in res["prometheus"]
    promtool_check(res["prometheus"], tmp_path)
    assert plugin(res, tmp_path, "--max-age", "600") == (0, res["nagios"]["text"] + "\n")

    # the person is banned at PanDA under the name the server derives (read back from the database)
    from ansible_collections.gridsec.ops.plugins.module_utils._panda.names import clean_user_id
    assert user_status(panda_endpoint, clean_user_id(person)) == ["disabled"]

    # tamper: the canary's line is taken out of the LCAS file -> that target is CRITICAL, the others stay OK
    canary_slash = parse_dn(canary_dn(SALT, today)).to_openssl()
    text = lcas.read_text()
    assert canary_slash in text
    lcas.write_text("".join(line for line in text.splitlines(True) if canary_slash not in line))
    dcache = tmp_path / "out" / "dcache-ban.conf"
    token_line = "ban oidc:%s@lab" % canary_token_subject(SALT, today)
    assert token_line in dcache.read_text()
    dcache.write_text(dcache.read_text().replace(token_line + "\n", ""))
    res = status(tmp_path, specs, serial=1, max_age="1h")
    items = by_name(res)
    assert res["status"] == "critical" and res["nagios"]["code"] == 2
    assert items["lcas"]["canary_present"] is False and items["lcas"]["state"] == "critical"
    assert items["lcas"]["canary_missing"] == ["dn %s" % canary_slash]
    assert items["dcache"]["state"] == "critical" and items["dcache"]["canary_missing"] == [
        "token %s %s" % (ISSUER, canary_token_subject(SALT, today))]
    assert items["gplazma"]["state"] == "ok" and items["panda"]["state"] == "ok"
    assert res["nagios"]["summary"] == "2 critical (lcas, dcache) of 5 targets"
    promtool_check(res["prometheus"], tmp_path)
    assert 'gridsec_suspension_canary_present{sync="site",target="lcas",type="file"} 0' in res["prometheus"]
    code, out = plugin(res, tmp_path)
    assert code == 2 and out.startswith("SUSPENSION STATUS CRITICAL - 2 critical (lcas, dcache) of 5 targets | ")
    assert "lcas (file): CRITICAL - dn %s: not enforced" % canary_slash in out
    # a stale saved result is UNKNOWN, never the old verdict
    assert plugin(dict(res, checked_at=res["checked_at"] - 7200), tmp_path, "--max-age", "3600")[0] == 3
    # fail_on: critical (the default) fails the task with the status line
    out = status(tmp_path, specs, expect_failure=True, serial=1, fail_on="critical")
    assert out["failed"] and out["msg"].startswith("SUSPENSION STATUS CRITICAL")

    # staleness: a newer serial reaches every target but the gplazma file; the sync puts the tampered files right
    src.write_text(src.read_text() + '  - dn: "%s/CN=status second %s"\n' % (PANDA_BASE, tag))
    assert publish(tmp_path, pub)["serial"] == 2
    fresh = [spec for spec in specs if spec["name"] != "gplazma"]
    synced = run(tmp_path, sync_args(tmp_path, pki, officer, fresh))
    assert all(not t.get("failed") for t in synced["targets"]), synced["targets"]
    res = status(tmp_path, specs)
    items = by_name(res)
    assert res["reference_serial"] == 2 and res["status"] == "warning", res["nagios"]["text"]
    assert items["gplazma"]["state"] == "warning" and items["gplazma"]["serial"] == 1
    assert items["gplazma"]["reasons"] == ["serial 1 is behind the newest at another target serial 2"]
    assert all(items[n]["state"] == "ok" and items[n]["serial"] == 2 for n in ("lcas", "ce", "dcache", "panda"))
    assert res["nagios"]["summary"] == "1 warning (gplazma) of 5 targets"
    assert plugin(res, tmp_path)[0] == 1
    # stale AND old: critical, naming the target
    time.sleep(2)
    res = status(tmp_path, specs, serial=2, max_age="1s")
    items = by_name(res)
    assert items["gplazma"]["state"] == "critical" and "behind the expected serial 2" in items["gplazma"]["reasons"][0]
    assert res["nagios"]["code"] == 2 and "gplazma" in res["nagios"]["summary"]
    # the ban file's DN form of the dCache target is canl's slash form
    assert "ban dn:%s" % to_canl_slash(parse_dn(person)) in dcache.read_text()
