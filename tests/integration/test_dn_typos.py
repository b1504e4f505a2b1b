# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""A misspelt attribute type in a DN (issue 14 item 4): ``/DC=org/DC=example/CM=John Doe`` for ``.../CN=John Doe``.

Before, ``ban_user`` banned the misspelt DN on every PAP and created a junk PanDA user, ``argus_unban`` with the
same typo reported ok, and ``suspension_list_sync`` wrote it everywhere. Now every path that takes a DN refuses an
attribute type that is neither a known keyword nor a numeric OID. The shipped playbooks are run by FQCN against
three lab PAPs and the lab PanDA, and what the servers hold is read back independently: no PAP rule, no PanDA
user row, a non-zero exit and a message naming the attribute. A run with the correct DN shows that the same
set-up does reach all three PAPs and PanDA (so "nothing written" is not an artefact of the test).
"""
import json
import os
import random
import string
import subprocess
import sys

import psycopg
import pytest
from psycopg import sql

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _hardening import pap_rules, raw_ban  # noqa: E402 pylint: disable=wrong-import-position
from test_incident import panda_vars  # noqa: E402 pylint: disable=wrong-import-position
from test_suspension_sync import (  # noqa: E402 pylint: disable=wrong-import-position
    base_args,
    conn,
    panda_db_args,
    run as run_sync,
    write_yaml,
    yaml_source,
)

from gridsec_lab.argus.lab import ArgusLab  # noqa: E402 pylint: disable=wrong-import-position

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
SUBJECT_ID = "urn:oasis:names:tc:xacml:1.0:subject:subject-id"
PAPS = ("central", "relay", "site")


def letters(n=6):
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))


def john(tag):
    """The right DN and the one with the typo (a tag keeps PanDA user names apart between runs)."""
    return ("/DC=org/DC=example/CN=John Doe %s" % tag, "/DC=org/DC=example/CM=John Doe %s" % tag)


@pytest.fixture
def three_paps(tmp_path, argus_pki):
    lab = ArgusLab({"paps": [{"name": name} for name in PAPS]}, str(tmp_path / "argus-paps"), pki=argus_pki,
                   poll_interval=0.3)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


def inventory(tmp_path, lab):
    path = tmp_path / "paps.ini"
    lines = ["localhost ansible_connection=local", "[argus_paps]"]
    lines += ["%s argus_pap_host=localhost argus_pap_port=%d ansible_connection=local" % (name, lab.paps[name].port)
              for name in PAPS]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def argus_vars(lab):
    admin = lab.creds["admin"]
    return {"argus_client_cert": admin.cert, "argus_client_key": admin.key, "argus_ca_path": lab.ca_dir}


def run_playbook(playbook, extravars, tmp_path, inventory_path):
    """ansible-playbook gridsec.ops.<playbook> as an operator runs it: (exit code, output)."""
    vars_file = tmp_path / ("vars-%s-%s.json" % (playbook, letters()))
    vars_file.write_text(json.dumps(extravars))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
               ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCALHOST_WARNING="False")
    cmd = [ANSIBLE_PLAYBOOK, "-i", inventory_path, "-e", "ansible_python_interpreter=%s" % sys.executable,
           "-e", "@%s" % vars_file, "gridsec.ops." + playbook]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900,
                          cwd=str(tmp_path), check=False)
    return proc.returncode, proc.stdout


def subjects_on(lab, name):
    return [value for _effect, attrs in pap_rules(lab, lab.paps[name]) for attr_id, value in attrs
            if attr_id == SUBJECT_ID]


def panda_users(ep):
    """(name, dn, status) of every PanDA user row."""
    query = sql.SQL("SELECT name, dn, status FROM {}.users ORDER BY id").format(sql.Identifier(ep.db.meta_schema))
    with psycopg.connect(ep.db.dsn()) as db:
        return [tuple(row) for row in db.execute(query).fetchall()]


def assert_refused(rc, out, playbook):
    assert rc != 0, "%s with a misspelt DN exited 0:\n%s" % (playbook, out[-8000:])
    assert "unknown attribute type 'CM'" in out, out[-8000:]
    assert "did you mean CN" in out, out[-8000:]


def test_ban_user_with_a_misspelt_attribute_bans_nothing_anywhere(panda_lab_endpoint, three_paps, tmp_path):
    ep, lab = panda_lab_endpoint, three_paps
    right, typo = john(letters())
    paps = inventory(tmp_path, lab)
    extravars = dict(argus_vars(lab), ban_dn=typo, **panda_vars(ep))
    users_before = panda_users(ep)

    rc, out = run_playbook("ban_user", extravars, tmp_path, paps)
    assert_refused(rc, out, "ban_user")
    assert [subjects_on(lab, name) for name in PAPS] == [[], [], []]
    assert panda_users(ep) == users_before, "a PanDA user row was created or changed for the misspelt DN"

    # the same run with the right DN reaches the three PAPs and PanDA
    rc, out = run_playbook("ban_user", dict(extravars, ban_dn=right), tmp_path, paps)
    assert rc == 0, out[-8000:]
    stored = "CN=John Doe %s,DC=example,DC=org" % right.rsplit(" ", 1)[1]
    assert [subjects_on(lab, name) for name in PAPS] == [[stored]] * 3
    assert [row for row in panda_users(ep) if row not in users_before] == \
        [("John Doe %s" % right.rsplit(" ", 1)[1], right, "disabled")]


def test_argus_unban_with_a_misspelt_attribute_fails_and_lifts_nothing(three_paps, tmp_path):
    lab = three_paps
    right, typo = john(letters())
    paps = inventory(tmp_path, lab)
    stored = "CN=John Doe %s,DC=example,DC=org" % right.rsplit(" ", 1)[1]
    for name in PAPS:
        raw_ban(lab, lab.paps[name], stored)

    rc, out = run_playbook("argus_unban", dict(argus_vars(lab), argus_subjects=[typo]), tmp_path, paps)
    assert_refused(rc, out, "argus_unban")
    assert [subjects_on(lab, name) for name in PAPS] == [[stored]] * 3

    rc, out = run_playbook("argus_unban", dict(argus_vars(lab), argus_subjects=[right]), tmp_path, paps)
    assert rc == 0, out[-8000:]
    assert [subjects_on(lab, name) for name in PAPS] == [[], [], []]

    # nothing banned at all: the typo still fails rather than reporting ok
    rc, out = run_playbook("argus_unban", dict(argus_vars(lab), argus_subjects=[typo]), tmp_path, paps)
    assert_refused(rc, out, "argus_unban")

    # junk an older version (or another tool) stored from the misspelt DN stays removable with that DN
    junk = "CM=John Doe %s,DC=example,DC=org" % right.rsplit(" ", 1)[1]
    for name in PAPS:
        raw_ban(lab, lab.paps[name], junk)
    rc, out = run_playbook("argus_unban", dict(argus_vars(lab), argus_subjects=[typo]), tmp_path, paps)
    assert rc == 0, out[-8000:]
    assert "removed as asked" in out
    assert [subjects_on(lab, name) for name in PAPS] == [[], [], []]


def test_sync_with_a_misspelt_attribute_in_a_yaml_source_writes_nothing(panda_lab_endpoint, argus_pap, tmp_path):
    ep, lab, pap = panda_lab_endpoint, argus_pap, argus_pap.pap
    tag = letters()
    right, typo = john(tag)
    other = "/DC=org/DC=example/CN=Jane Roe %s" % tag
    listfile = write_yaml(tmp_path / "list.yml", [other, typo])
    targets = [{"name": "pap", "type": "argus"}, dict({"name": "panda", "type": "panda"}, **panda_db_args(ep))]
    users_before = panda_users(ep)

    result = run_sync(tmp_path, base_args(tmp_path, "typo-" + tag, [yaml_source(listfile)], targets),
                      conn(lab, pap), expect_failure=True)
    assert result.get("failed") is True
    assert "entries[1]" in result["msg"] and "unknown attribute type 'CM'" in result["msg"], result["msg"]
    assert "did you mean CN" in result["msg"]
    assert pap_rules(lab, pap) == []  # the whole source is refused: not even the good entry is written
    assert panda_users(ep) == users_before

    # a misspelt allow-list entry would protect nobody: refused too
    listfile = write_yaml(tmp_path / "list.yml", [other])
    result = run_sync(tmp_path, base_args(tmp_path, "typo-allow-" + tag, [yaml_source(listfile)], targets[:1],
                                          allow_list=[typo]),
                      conn(lab, pap), expect_failure=True)
    assert result.get("failed") is True and "unknown attribute type 'CM'" in result["msg"], result["msg"]
    assert pap_rules(lab, pap) == []

    # control: the list with the right DN is written to the PAP
    listfile = write_yaml(tmp_path / "list.yml", [other, right])
    result = run_sync(tmp_path, base_args(tmp_path, "typo-ok-" + tag, [yaml_source(listfile)], targets[:1]),
                      conn(lab, pap))
    assert result.get("failed") is not True
    assert sorted(v for _e, attrs in pap_rules(lab, pap) for _a, v in attrs) == sorted(
        ["CN=John Doe %s,DC=example,DC=org" % tag, "CN=Jane Roe %s,DC=example,DC=org" % tag])
