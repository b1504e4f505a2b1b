# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Issue 14, item 15: a module whose Python library cannot be imported fails cleanly, with Ansible's
``missing_required_lib`` wording naming the library, ``error.kind == "missing_library"`` and nothing sent.

Each module runs as its own process (``python <module>.py <args file>``, as AnsiballZ runs it) with a
``sitecustomize`` on PYTHONPATH whose meta-path finder refuses the blocked top-level packages, so that the
test does not depend on what this machine has installed. The unreachable port 9 shows that nothing is
contacted: a module that got as far as connecting would fail with a connection error instead.
"""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
MODULES = os.path.join(COLLECTIONS, "ansible_collections", "gridsec", "ops", "plugins", "modules")

BLOCKER = '''
import os, sys
BLOCKED = set(os.environ.get("GRIDSEC_TEST_BLOCK_IMPORTS", "").split(","))

class _Blocker(object):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError("No module named %r (blocked by the test)" % name, name=name)
        return None

sys.meta_path.insert(0, _Blocker())
'''

PAP = {"pap_host": "localhost", "pap_port": 9, "retries": 0, "timeout": 3}
DB = {"db_host": "localhost", "db_port": 9, "db_name": "panda", "db_user": "panda", "db_password": "s3cret"}

CASES = [
    ("argus_policy", "lxml", dict(PAP, subjects=["/DC=test/DC=gridsec/CN=Jane Doe"])),
    ("argus_policy", "lxml", dict(PAP, subjects=["/DC=test/DC=gridsec/CN=Jane Doe"], _ansible_check_mode=True)),
    ("argus_policy_info", "lxml", dict(PAP)),
    ("argus_pap", "lxml", dict(PAP, polling_interval=5)),
    ("argus_canary", "lxml", dict(PAP, state="checked", endpoints=[{"host": "localhost", "port": 9}])),
    ("argus_canary", "lxml", dict(PAP, state="published", salt="pepper")),
    ("argus_hierarchy_lint", "lxml", dict(PAP)),
    ("suspension_list_sync", "lxml", {"name": "t", "sources": [dict(PAP, name="central", type="argus")],
                                      "targets": [{"name": "f", "type": "file", "format": "plain",
                                                   "path": "{tmp}/ban.txt"}],
                                      "state_dir": "{tmp}/state"}),
    ("suspension_list_sync", "yaml", {"name": "t", "sources": [{"name": "y", "type": "yaml", "path": "{tmp}/l.yml"}],
                                      "targets": [{"name": "f", "type": "file", "format": "plain",
                                                   "path": "{tmp}/ban.txt"}],
                                      "state_dir": "{tmp}/state"}),
    ("suspension_list_sync", "psycopg", dict(DB, name="t", sources=[{"name": "y", "type": "plain",
                                                                     "path": "{tmp}/l.txt"}],
                                             targets=[{"name": "panda", "type": "panda"}], state_dir="{tmp}/state")),
    ("panda_user_ban", "psycopg", dict(DB, dn="/DC=test/DC=gridsec/CN=Jane Doe")),
    ("panda_user_ban", "oracledb", dict(DB, dn="/DC=test/DC=gridsec/CN=Jane Doe", db_backend="oracle")),
    ("panda_job_kill", "psycopg", dict(DB, dn="/DC=test/DC=gridsec/CN=Jane Doe", panda_url="https://localhost:9")),
]


def _fill(value, tmp):
    if isinstance(value, str):
        return value.replace("{tmp}", tmp)
    if isinstance(value, list):
        return [_fill(v, tmp) for v in value]
    if isinstance(value, dict):
        return dict((k, _fill(v, tmp)) for k, v in value.items())
    return value


def run_module(name, args, blocked, tmp_path):
    blocker_dir = tmp_path / "blocker"
    blocker_dir.mkdir(exist_ok=True)
    (blocker_dir / "sitecustomize.py").write_text(BLOCKER)
    (tmp_path / "l.yml").write_text("- dn: /DC=test/DC=gridsec/CN=Jane Doe\n")
    (tmp_path / "l.txt").write_text("/DC=test/DC=gridsec/CN=Jane Doe\n")
    args = dict(_fill(args, str(tmp_path)), _ansible_tmpdir=str(tmp_path), ca_path=str(tmp_path))
    args_file = tmp_path / ("args-%s.json" % name)
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker_dir), COLLECTIONS]),
               GRIDSEC_TEST_BLOCK_IMPORTS=blocked, HOME=str(tmp_path))
    for variable in ("X509_USER_PROXY", "X509_USER_CERT", "X509_USER_KEY", "PYTHONSTARTUP"):
        env.pop(variable, None)
    proc = subprocess.run([sys.executable, os.path.join(MODULES, name + ".py"), str(args_file)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    try:
        return proc.returncode, json.loads(proc.stdout), proc.stderr
    except ValueError:
        pytest.fail("%s printed no JSON result (rc %d):\n%s\n%s" % (name, proc.returncode, proc.stdout, proc.stderr))


@pytest.mark.parametrize("name,blocked,args", CASES,
                         ids=["%s-%s-%d" % (c[0], c[1], i) for i, c in enumerate(CASES)])
def test_missing_library_fails_cleanly_naming_it(name, blocked, args, tmp_path):
    rc, result, stderr = run_module(name, args, blocked, tmp_path)
    assert rc != 0 and result.get("failed") is True, result
    msg = result["msg"]
    library = {"yaml": "PyYAML"}.get(blocked, blocked)  # the distribution's name, not the import name
    # ansible's missing_required_lib wording: 'Failed to import the required Python library (<name>) on ...'
    assert "Failed to import the required Python library (%s)" % library in msg, msg
    assert "NoneType" not in msg and "Traceback" not in msg, msg
    assert result["error"]["kind"] == "missing_library" and result["error"]["details"] == {"library": library}
    assert result.get("changed") is False
    assert "s3cret" not in json.dumps(result)


def test_blocker_really_blocks(tmp_path):
    """The harness itself: the blocked library cannot be imported in the module process."""
    blocker_dir = tmp_path / "blocker"
    blocker_dir.mkdir()
    (blocker_dir / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ, PYTHONPATH=str(blocker_dir), GRIDSEC_TEST_BLOCK_IMPORTS="lxml")
    proc = subprocess.run([sys.executable, "-c", "import lxml.etree"], env=env, stderr=subprocess.PIPE, text=True,
                          check=False)
    assert proc.returncode == 1 and "blocked by the test" in proc.stderr
