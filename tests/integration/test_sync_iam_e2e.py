# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Issue 17, done-when: ONE suspension_list_sync run takes a list with DN, FQAN and token entries to the lab PAP
(DN, FQAN), the lab IAM (accounts suspended, labelled, tokens revoked), an HTCondor-CE map file, a dCache ban file
and an ARC block, with the DNs expanded to their IAM token identities (resolve_tokens); --check predicts and writes
nothing; a second run writes nothing; removing entries (through the operator playbook by FQCN) lifts them everywhere
they were applied, and an account suspended by someone else is never re-enabled. Every assertion reads the servers
and files back."""
import json
import os
import subprocess
import sys

import pytest

from test_suspension_sync import ANSIBLE_PLAYBOOK, COLLECTIONS, conn, run, synced_literals

pytestmark = pytest.mark.slow
LAB_DN = "/DC=test/DC=gridsec-lab/OU=Users/CN=%s"
SYNC = "e2e"
ARC_CONF = """[common]
[authtokens]
[arex/ws/jobs]
denyaccess = gridsec-banned
allowaccess = atlas
"""


def live(iam, username):
    now = iam.state.now()
    return [t for kind in ("access", "refresh") for t in iam.tokens(username, kind)
            if t.expiration is None or t.expiration > now]


def label_values(iam, username):
    out = []
    for lb in iam.account(username).labels:
        lb = lb if isinstance(lb, dict) else vars(lb)
        if not lb.get("prefix") and lb.get("name") == "gridsec.suspended":
            out.append(lb.get("value"))
    return out


def iam_writes(iam):
    return [e for e in iam.requests() if e["method"] in ("PUT", "PATCH", "DELETE")]


def write_list(path, entries):
    path.write_text("version: 1\nentries:\n" + "".join("  - %s\n" % json.dumps(e) for e in entries))
    return str(path)


def setup(tmp_path, iam, lab, pap):
    users = iam.users
    entries = [{"dn": LAB_DN % "Jean-Luc McDonald", "reason": "INC-17"},
               {"dn": LAB_DN % "Anna Smith", "reason": "INC-17b"},
               {"dn": LAB_DN % "Bruce Wayne"},                             # disabled in IAM by an administrator
               {"fqan": "/atlas/bad"},
               {"issuer": iam.discovery_issuer, "subject": users["ttoken"].id, "reason": "token leak"}]
    (tmp_path / "mapfiles.d").mkdir()
    (tmp_path / "arc.conf").write_text(ARC_CONF)
    iam_conn = {"iam_url": iam.url, "ca_path": iam.ca_file, "timeout": 10, "retries": 0}
    args = {"name": SYNC, "state_dir": str(tmp_path / "state"), "max_shrink_fraction": 1.0,
            "sources": [{"name": "central", "type": "yaml", "path": str(tmp_path / "list.yml")}],
            "resolve_tokens": [dict(iam_conn, name="vo", client_id=iam.clients["reader"].client_id,
                                    client_secret=iam.clients["reader"].secret)],
            "targets": [{"name": "pap", "type": "argus"},
                        dict(iam_conn, name="vo-iam", type="iam", client_id=iam.admin.client_id,
                             client_secret=iam.admin.secret),
                        {"name": "ce", "type": "htcondor_ce", "path": str(tmp_path / "mapfiles.d" / "00-ban.conf"),
                         "mode": "0644"},
                        {"name": "se", "type": "dcache", "path": str(tmp_path / "ban.conf"), "mode": "0644",
                         "dcache_op_aliases": {iam.issuer: "lab"}, "dcache_version": "11.2.1"},
                        {"name": "arc", "type": "arc", "path": str(tmp_path / "arc.conf"), "mode": "0644"}]}
    write_list(tmp_path / "list.yml", entries)
    return entries, args, conn(lab, pap)


def files(tmp_path):
    return dict((name, (tmp_path / rel).read_text() if (tmp_path / rel).exists() else None)
                for name, rel in (("ce", "mapfiles.d/00-ban.conf"), ("se", "ban.conf"), ("arc", "arc.conf")))


def assert_token_banned_in_files(text, iam, sub, banned=True):
    ce, se, arc = text["ce"], text["se"], text["arc"]
    for iss in (iam.issuer, iam.issuer + "/"):
        assert ('SCITOKENS "%s,%s"' % (iss, sub) in ce) is banned
        assert ("authtokens = %s %s * * *" % (sub, iss) in arc) is banned
    assert ("ban oidc:%s@lab" % sub in se) is banned


def test_one_run_reaches_pap_iam_and_the_token_enforcers_then_noop_then_lift(argus_pap, iam, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    users = iam.users
    for name in ("jmcdonald", "asmith", "ttoken", "ttoken"):
        iam.token_for(name)
    entries, args, pap_conn = setup(tmp_path, iam, lab, pap)

    # --check: predicts the IAM writes, writes nothing anywhere
    predicted = run(tmp_path, args, pap_conn, args=("--check", "--diff"))
    by_name = dict((t["name"], t) for t in predicted["targets"])
    assert predicted["changed"] and iam_writes(iam) == [] and synced_literals(lab, pap, SYNC) == set()
    assert sorted(r["account"] for r in by_name["vo-iam"]["added"]) == ["asmith", "jmcdonald", "ttoken"]
    assert any("-tokens/" in op for op in by_name["vo-iam"]["operations"])
    assert all(iam.account(u).active for u in ("jmcdonald", "asmith", "ttoken"))
    assert files(tmp_path)["ce"] is None and files(tmp_path)["se"] is None and "authtokens =" not in files(tmp_path)["arc"]

    applied = run(tmp_path, args, pap_conn)
    by_name = dict((t["name"], t) for t in applied["targets"])
    assert applied["changed"] and not any(t.get("failed") for t in applied["targets"]), applied["targets"]
    assert by_name["vo-iam"]["operations"] == dict((t["name"], t) for t in predicted["targets"])["vo-iam"][
        "operations"]
    # resolve_tokens: the three DNs on accounts gave their token identities, with the DN entry's metadata
    derived = dict((d["username"], d) for d in applied["resolve_tokens"][0]["derived"])
    assert sorted(derived) == ["asmith", "bwayne", "jmcdonald"]
    assert derived["jmcdonald"]["subject"] == users["jmcdonald"].id
    # the PAP: DNs and the FQAN (token identities are not applicable there)
    literals = synced_literals(lab, pap, SYNC)
    assert ("fqan", "/atlas/bad") in literals and len([k for k, _v in literals if k == "dn"]) == 3
    assert by_name["pap"]["not_applicable"]["count"] == 4  # ttoken + three derived identities
    # IAM: suspended, labelled as this sync's, no live token; bwayne stays someone else's (never labelled)
    for name in ("jmcdonald", "asmith", "ttoken"):
        assert iam.account(name).active is False and label_values(iam, name) == ["sync:%s" % SYNC], name
        assert live(iam, name) == [], name
    assert iam.account("bwayne").active is False and label_values(iam, "bwayne") == []
    assert iam.delete_all_calls() == []
    # the files: every token identity (listed and derived), in each grammar
    text = files(tmp_path)
    for name in ("jmcdonald", "asmith", "bwayne", "ttoken"):
        assert_token_banned_in_files(text, iam, users[name].id)
    assert "ban fqan:/atlas/bad" in text["se"] and "ban dn:%s" % (LAB_DN % "Anna Smith") in text["se"]
    assert "subject = %s" % (LAB_DN % "Jean-Luc McDonald") in text["arc"]
    entry = [line for line in (tmp_path / "state" / ("%s.audit.jsonl" % SYNC)).read_text().splitlines()
             if '"derive"' in line and '"check_mode": false' in line]
    assert len(entry) == 3 and all('"dn": "/DC=test' in line for line in entry)

    # a second run writes nothing anywhere
    iam.clear_requests()
    mtimes = [os.stat(tmp_path / p).st_mtime_ns for p in ("mapfiles.d/00-ban.conf", "ban.conf", "arc.conf")]
    again = run(tmp_path, args, pap_conn)
    assert again["changed"] is False, [(t["name"], t.get("operations")) for t in again["targets"]]
    assert all(t["writes"] == 0 for t in again["targets"] if "writes" in t)
    assert iam_writes(iam) == []
    assert mtimes == [os.stat(tmp_path / p).st_mtime_ns for p in ("mapfiles.d/00-ban.conf", "ban.conf", "arc.conf")]

    # Anna Smith's DN, Bruce Wayne's DN and the token entry leave the list; the operator playbook applies it
    write_list(tmp_path / "list.yml", [e for e in entries if e.get("dn", "").find("Anna") < 0
                                       and "Bruce" not in e.get("dn", "") and "issuer" not in e])
    proc = playbook(tmp_path, args, pap_conn)
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert "iam vo-iam: +0 -2 =1 (changed)" in proc.stdout, proc.stdout[-6000:]
    assert "resolve_tokens vo:" in proc.stdout and "1 token identities from DNs" in proc.stdout
    for name in ("asmith", "ttoken"):
        assert iam.account(name).active is True and label_values(iam, name) == [], name
    assert iam.account("jmcdonald").active is False and label_values(iam, "jmcdonald") == ["sync:%s" % SYNC]
    assert iam.account("bwayne").active is False  # suspended by someone else: never re-enabled
    text = files(tmp_path)
    for name in ("asmith", "bwayne", "ttoken"):
        assert_token_banned_in_files(text, iam, users[name].id, banned=False)
    assert_token_banned_in_files(text, iam, users["jmcdonald"].id)
    assert len([k for k, _v in synced_literals(lab, pap, SYNC) if k == "dn"]) == 1
    assert "Anna Smith" not in text["se"] and "Anna Smith" not in text["arc"]
    assert iam.delete_all_calls() == []


def playbook(tmp_path, args, pap_conn):
    """The operator playbook gridsec.ops.sync_suspension_list by FQCN, this host in group suspension_sync."""
    host_vars = {"suspension_sync_name": args["name"], "suspension_sync_sources": args["sources"],
                 "suspension_sync_targets": args["targets"], "suspension_sync_resolve_tokens": args["resolve_tokens"],
                 "suspension_sync_state_dir": args["state_dir"], "suspension_sync_max_shrink_fraction": 1.0,
                 "suspension_sync_connection": pap_conn, "ansible_connection": "local",
                 "ansible_python_interpreter": sys.executable}
    inv = tmp_path / "inventory.json"
    inv.write_text(json.dumps({"suspension_sync": {"hosts": {"site": host_vars}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    return subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(inv), "gridsec.ops.sync_suspension_list"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900, check=False)
