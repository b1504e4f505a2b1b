# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The shipped playbooks' targeting (issue 14, items 2 and 3) and the DN they send (item 1), run by FQCN the way an
operator runs them, against lab PAPs (and the lab PanDA for ban_user); the state is read back from the PAPs
(listPolicies through the lab's raw client) and the PanDA database, never from the playbook's own output.

* a misspelt inventory group fails before anything is written, and the message names the group;
* ``--limit down-pap,site-pap`` (down-pap: a PAP address where nothing listens): the run fails, the summary runs
  and names down-pap, the site PAP really holds the ban, the PAP outside the limit does not, PanDA is banned;
* a ``--limit`` that leaves none of the group's hosts fails and names the limit, nothing is written;
* every PAP up: exit 0, the ban is on every PAP;
* a DN ending in a number is banned exactly as given; a proxy subject declared as such loses its proxy CN, and the
  summary says so (these two need the ``strip_proxy_rdns`` values of wp-dn, contract C2).
"""
import json
import os
import random
import re
import subprocess
import sys
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from gridsec_lab.argus.lab import ArgusLab
from gridsec_lab.panda.naming import clean_user_id

from _hardening import letters, pap_rules

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
SUBJECT_ID = "urn:oasis:names:tc:xacml:1.0:subject:subject-id"
BASE = "/DC=test/DC=gridsec-lab/OU=Users"


@pytest.fixture
def two_paps(tmp_path, argus_pki):
    """Two fresh lab PAPs (site-pap and other-pap), each with an empty repository."""
    lab = ArgusLab({"paps": [{"name": "site"}, {"name": "other"}]}, str(tmp_path / "argus-paps"), pki=argus_pki,
                   poll_interval=0.3)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


def inventory(tmp_path, lab, dead_url=None, group="argus_paps"):
    """localhost, the lab PAPs as site-pap/other-pap and (dead_url) down-pap in ``group``, one unrelated host."""
    admin = lab.creds["admin"]
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    paps = {"%s-pap" % name: dict(local, argus_pap_host="localhost", argus_pap_port=info.port)
            for name, info in lab.paps.items()}
    if dead_url:
        paps["down-pap"] = dict(local, argus_pap_host="localhost", argus_pap_port=urlsplit(dead_url).port)
    data = {"all": {"hosts": {"localhost": local},
                    "vars": {"argus_client_cert": admin.cert, "argus_client_key": admin.key,
                             "argus_ca_path": lab.ca_dir},
                    "children": {group: {"hosts": paps}, "monitoring": {"hosts": {"mon01": local}}}}}
    path = tmp_path / ("inventory-%s.json" % letters())
    path.write_text(json.dumps(data))
    return path


def run(playbook, inv, extravars, tmp_path, *args):
    """ansible-playbook gridsec.ops.<playbook>; the CompletedProcess (stdout and stderr together)."""
    vars_file = tmp_path / ("vars-%s.json" % letters())
    vars_file.write_text(json.dumps(extravars))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCALHOST_WARNING="False")
    return subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(inv), "-e", "@%s" % vars_file, "gridsec.ops." + playbook]
                          + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=600, cwd=str(tmp_path), check=False)


def outcome_line(output, label):
    """The hosts of one line of the summary (``ban changed on: a, b``), as a set."""
    line = [ln for ln in output.splitlines() if ln.strip().strip('",').startswith(label + ":")][-1]
    hosts = line.strip().strip('",').split(":", 1)[1].strip()
    return set() if hosts == "none" else set(hosts.split(", "))


def recap(output, host):
    line = [ln for ln in output.splitlines() if ln.startswith(host + " ") and "ok=" in ln][-1]
    return dict(item.split("=") for item in line.split(":", 1)[1].split())


def denied(lab, name):
    """The subject DNs a PAP of the lab denies (as stored: RFC 2253 / canl form)."""
    return [value for effect, attrs in pap_rules(lab, lab.paps[name]) if effect == "Deny"
            for attr, value in attrs if attr == SUBJECT_ID]


def rfc2253(slash_dn):
    return ",".join(reversed(slash_dn.strip("/").split("/")))


def banned_rows(ep, name):
    with psycopg.connect(ep.db.dsn()) as db:
        return [r[0] for r in db.execute(sql.SQL("SELECT status FROM {}.users WHERE name = %s ORDER BY id")
                                         .format(sql.Identifier(ep.db.meta_schema)), (name,)).fetchall()]


def panda_vars(ep):
    out = {"panda_db_host": ep.db.host, "panda_db_port": ep.db.port, "panda_db_name": ep.db.dbname,
           "panda_db_user": ep.db.user, "panda_db_meta_schema": ep.db.meta_schema}
    if ep.db.password:
        out["panda_db_password"] = ep.db.password
    return out


def new_dn(suffix=""):
    return "%s/CN=Target %s%s" % (BASE, letters(), suffix)


def sync_vars(lab, tmp_path, dn):
    listfile = tmp_path / "list.yml"
    listfile.write_text(json.dumps({"version": 1, "origin": "test list", "entries": [{"dn": dn}]}))
    admin = lab.creds["admin"]
    return {"suspension_sync_sources": [{"name": "list", "type": "yaml", "path": str(listfile)}],
            "suspension_sync_targets": [{"name": "pap", "type": "argus"}],
            "suspension_sync_state_dir": str(tmp_path / "sync-state"),
            "suspension_sync_connection": {"pap_host": "localhost", "pap_port": lab.paps["site"].port,
                                           "client_cert": admin.cert, "client_key": admin.key,
                                           "ca_path": lab.ca_dir}}


# ---- item 2: a misspelt inventory group ------------------------------------------------------------------------

@pytest.mark.parametrize("playbook,group_var", [("argus_ban", "argus_pap_group"), ("argus_unban", "argus_pap_group"),
                                                ("ban_user", "argus_pap_group"),
                                                ("canary_check", "argus_pap_group"),
                                                ("sync_suspension_list", "suspension_sync_group")])
def test_misspelt_group_fails_and_names_it(two_paps, tmp_path, playbook, group_var):
    dn = new_dn()
    group = "suspension_sync" if playbook == "sync_suspension_list" else "argus_paps"
    inv = inventory(tmp_path, two_paps, group=group)
    extravars = {"argus_subjects": [dn], "ban_dn": dn, group_var: group[:-1]}  # argus_pap / suspension_syn
    if playbook == "sync_suspension_list":
        extravars.update(sync_vars(two_paps, tmp_path, dn))
    proc = run(playbook, inv, extravars, tmp_path)
    assert proc.returncode != 0, proc.stdout[-5000:]
    assert "inventory group %s is not in the inventory" % group[:-1] in proc.stdout, proc.stdout[-5000:]
    assert "its groups: %s, monitoring" % group in proc.stdout or "its groups: monitoring, %s" % group in proc.stdout
    assert denied(two_paps, "site") == [] and denied(two_paps, "other") == []


# ---- item 3: --limit down-pap,site-pap ---------------------------------------------------------------------------

def assert_limit_outcome(proc, lab, dn):
    out = proc.stdout
    assert proc.returncode != 0, out[-5000:]
    assert outcome_line(out, "ban failed on") == {"down-pap"}, out[-5000:]   # the summary ran and names it
    assert outcome_line(out, "ban changed on") == {"site-pap"}, out[-5000:]
    assert int(recap(out, "down-pap")["failed"]) >= 1, out[-3000:]  # the recap says so too
    assert rfc2253(dn) in denied(lab, "site")                       # the site PAP really holds the ban
    assert denied(lab, "other") == []                               # outside the limit: untouched


def test_argus_ban_limit_with_a_down_pap(two_paps, argus_dead_url, tmp_path):
    dn = new_dn()
    inv = inventory(tmp_path, two_paps, argus_dead_url)
    proc = run("argus_ban", inv, {"argus_subjects": [dn]}, tmp_path, "--limit", "down-pap,site-pap")
    assert_limit_outcome(proc, two_paps, dn)
    # unban under the same limit: the same rules
    proc = run("argus_unban", inv, {"argus_subjects": [dn]}, tmp_path, "--limit", "down-pap,site-pap")
    assert proc.returncode != 0 and outcome_line(proc.stdout, "unban failed on") == {"down-pap"}, proc.stdout[-5000:]
    assert denied(two_paps, "site") == []


@pytest.mark.panda_lab
def test_ban_user_limit_with_a_down_pap(two_paps, argus_dead_url, panda_lab_endpoint, tmp_path):
    ep, dn = panda_lab_endpoint, new_dn()
    inv = inventory(tmp_path, two_paps, argus_dead_url)
    extravars = dict(panda_vars(ep), ban_dn=dn)
    proc = run("ban_user", inv, extravars, tmp_path, "--limit", "down-pap,site-pap")
    assert_limit_outcome(proc, two_paps, dn)
    assert "PanDA: user %s: banned now" % clean_user_id(dn) in proc.stdout, proc.stdout[-5000:]
    assert banned_rows(ep, clean_user_id(dn)) == ["disabled"]       # the PanDA ban happened


@pytest.mark.panda_lab
def test_ban_user_limit_outside_the_group_does_nothing(two_paps, panda_lab_endpoint, tmp_path):
    ep, dn = panda_lab_endpoint, new_dn()
    inv = inventory(tmp_path, two_paps)
    proc = run("ban_user", inv, dict(panda_vars(ep), ban_dn=dn), tmp_path, "--limit", "mon01")
    assert proc.returncode != 0, proc.stdout[-5000:]
    assert "--limit 'mon01' leaves none of the 2 hosts of group argus_paps" in proc.stdout, proc.stdout[-5000:]
    assert denied(two_paps, "site") == [] and denied(two_paps, "other") == []
    assert banned_rows(ep, clean_user_id(dn)) == []                 # checked before anything was written


@pytest.mark.parametrize("playbook", ["argus_ban", "canary_check"])
def test_limit_outside_the_group_fails(two_paps, tmp_path, playbook):
    dn = new_dn()
    inv = inventory(tmp_path, two_paps)
    proc = run(playbook, inv, {"argus_subjects": [dn]}, tmp_path, "--limit", "localhost")
    assert proc.returncode != 0, proc.stdout[-5000:]
    assert "--limit 'localhost' leaves none of the 2 hosts of group argus_paps" in proc.stdout, proc.stdout[-5000:]
    assert denied(two_paps, "site") == [] and denied(two_paps, "other") == []


def test_every_pap_up(two_paps, tmp_path):
    dn = new_dn()
    inv = inventory(tmp_path, two_paps)
    proc = run("argus_ban", inv, {"argus_subjects": [dn]}, tmp_path)
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert outcome_line(proc.stdout, "ban changed on") == {"site-pap", "other-pap"}, proc.stdout[-5000:]
    assert outcome_line(proc.stdout, "ban failed on") == set()
    assert denied(two_paps, "site") == [rfc2253(dn)] and denied(two_paps, "other") == [rfc2253(dn)]
    proc = run("argus_ban", inv, {"argus_subjects": [dn]}, tmp_path)
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert outcome_line(proc.stdout, "ban unchanged on") == {"site-pap", "other-pap"}, proc.stdout[-5000:]


def test_sync_limit_with_an_unreachable_host(two_paps, tmp_path):
    """A sync host that cannot be reached (ssh to a closed port) is listed and fails the run; the other syncs."""
    dn = new_dn()
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    extravars = sync_vars(two_paps, tmp_path, dn)
    data = {"all": {"hosts": {"localhost": local}, "children": {"suspension_sync": {"hosts": {
        "site-sync": local,
        "down-sync": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1,
                      "ansible_ssh_common_args": "-o ConnectTimeout=3 -o BatchMode=yes"}}}}}}
    inv = tmp_path / "sync-inventory.json"
    inv.write_text(json.dumps(data))
    proc = run("sync_suspension_list", inv, extravars, tmp_path, "--limit", "down-sync,site-sync")
    assert proc.returncode != 0, proc.stdout[-5000:]
    assert outcome_line(proc.stdout, "unreachable") == {"down-sync"}, proc.stdout[-5000:]
    assert outcome_line(proc.stdout, "sync changed on") == {"site-sync"}, proc.stdout[-5000:]
    assert denied(two_paps, "site") == [rfc2253(dn)]


# ---- item 1: the DN the playbooks send (needs wp-dn's strip_proxy_rdns: legacy | all | none) ------------------------

@pytest.mark.panda_lab
def test_ban_user_dn_ending_in_a_number_is_banned_as_given(two_paps, panda_lab_endpoint, tmp_path):
    ep = panda_lab_endpoint
    dn = "%s/CN=Eve Mallory %s/CN=%d" % (BASE, letters(), random.randint(100, 999))
    inv = inventory(tmp_path, two_paps)
    proc = run("ban_user", inv, dict(panda_vars(ep), ban_dn=dn), tmp_path)
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert denied(two_paps, "site") == [rfc2253(dn)] and denied(two_paps, "other") == [rfc2253(dn)]
    assert "DN for the PAPs: %s (used as given)" % dn in proc.stdout, proc.stdout[-5000:]
    assert banned_rows(ep, clean_user_id(dn)) == ["disabled"]


def test_argus_ban_proxy_subjects_lose_the_proxy_cn_and_say_so(two_paps, tmp_path):
    user = new_dn()
    proxy = user + "/CN=%d" % random.randint(10 ** 8, 10 ** 9)
    inv = inventory(tmp_path, two_paps)
    plain = run("argus_ban", inv, {"argus_subjects": [proxy]}, tmp_path, "--limit", "site-pap")
    assert plain.returncode == 0, plain.stdout[-5000:]
    assert denied(two_paps, "site") == [rfc2253(proxy)]          # not declared a proxy: as given
    declared = run("argus_ban", inv, {"argus_subjects": [proxy], "argus_subjects_are_proxies": True}, tmp_path,
                   "--limit", "other-pap")
    assert declared.returncode == 0, declared.stdout[-5000:]
    assert denied(two_paps, "other") == [rfc2253(user)]
    # the summary shows what was removed (the module's stripped_rdns: input, subject, stripped RDNs)
    assert re.search(r'"stripped": \[\s*"/?%s"' % re.escape(proxy.rsplit("/", 1)[1]), declared.stdout), \
        declared.stdout[-5000:]


# ---- deploy_argus: the same targeting, per-node outcome and the role's restart facts -------------------------------

def deploy_inventory(tmp_path, argus_pki, nodes):
    """argus_central: the rendering-only nodes ``nodes`` (local; no packages, no services, no API part) and
    down-central, a node reached over ssh on a closed port."""
    host = argus_pki.host("central")
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    hosts = {}
    for index, name in enumerate(nodes):
        root = tmp_path / "nodes" / name
        hosts[name] = dict(local, argus_server_manage_packages=False, argus_server_manage_services=False,
                           argus_server_configure_api=False, argus_server_fqdn="localhost",
                           argus_server_pap_port=18150 + index, argus_server_host_cert=host.cert,
                           argus_server_host_key=host.key, argus_server_host_dn=host.dn,
                           argus_server_ca_dir=argus_pki.ca_dir,
                           argus_server_pap_conf_dir=str(root / "pap"), argus_server_pdp_conf_dir=str(root / "pdp"),
                           argus_server_pepd_conf_dir=str(root / "pepd"))
    hosts["down-central"] = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1,
                             "ansible_ssh_common_args": "-o ConnectTimeout=3 -o BatchMode=yes"}
    path = tmp_path / "deploy-inventory.json"
    path.write_text(json.dumps({"all": {"hosts": {"localhost": local},
                                        "children": {"argus_central": {"hosts": hosts},
                                                     "monitoring": {"hosts": {"mon01": local}}}}}))
    return path


def test_deploy_argus_targets_and_outcome(argus_pki, tmp_path):
    inv = deploy_inventory(tmp_path, argus_pki, ["central"])
    proc = run("deploy_argus", inv, {}, tmp_path, "--limit", "mon01")
    assert proc.returncode != 0, proc.stdout[-5000:]
    assert ("--limit 'mon01' leaves none of the 2 hosts of group argus_central, argus_relay, argus_site"
            in proc.stdout), proc.stdout[-5000:]
    assert not (tmp_path / "nodes" / "central" / "pap" / "pap_configuration.ini").exists()

    # one node down (not even the "localhost" of the inventory in the limit): the other is deployed, the summary
    # runs and names the down node, the run fails
    proc = run("deploy_argus", inv, {}, tmp_path, "--limit", "central,down-central")
    assert proc.returncode != 0, proc.stdout[-5000:]
    assert outcome_line(proc.stdout, "unreachable") == {"down-central"}, proc.stdout[-5000:]
    assert outcome_line(proc.stdout, "deploy done (changes in the recap) on") == {"central"}, proc.stdout[-5000:]
    assert (tmp_path / "nodes" / "central" / "pap" / "pap_configuration.ini").exists()


def test_deploy_argus_summary_says_which_restarts_are_needed(argus_pki, tmp_path):
    """Needs wp-role (contract C3: argus_server_restart_required / argus_server_restart_reasons)."""
    inv = deploy_inventory(tmp_path, argus_pki, ["central"])
    proc = run("deploy_argus", inv, {}, tmp_path, "--limit", "central")
    assert proc.returncode == 0, proc.stdout[-5000:]
    # files were written and the role manages no service: the summary says that a restart is needed
    assert "central: restart required: " in proc.stdout, proc.stdout[-5000:]
    proc = run("deploy_argus", inv, {}, tmp_path, "--limit", "central")
    assert proc.returncode == 0 and "central: no restart required" in proc.stdout, proc.stdout[-5000:]
