"""One list with a DN, an FQAN and a token identity through suspension_list_sync to a ban file, an HTCondor-CE map
file and a dCache ban file (issue 17): each target enforces what it can and reports the rest under
not_applicable; a second run writes nothing; removing the token entry removes only its lines."""
import json
import os
import subprocess
import sys

COLLECTIONS = os.path.join(os.path.dirname(__file__), "..", "..", ".tmp", "collections")
ISS = "https://iam.example.org"
LIST = """version: 1
entries:
  - dn: "/DC=org/DC=example/CN=Mallory 42"
  - fqan: /atlas/bad
  - issuer: "%s/"
    subject: "a1b2c3d4-0000-4000-8000-000000000042"
    reason: INC-9
""" % ISS


def sync(tmp_path, check=False):
    args = {"name": "tok", "state_dir": str(tmp_path / "state"),
            "sources": [{"name": "central", "type": "yaml", "path": str(tmp_path / "list.yml")}],
            "max_shrink_fraction": 1.0,
            "targets": [{"name": "plain", "type": "file", "path": str(tmp_path / "plain.txt")},
                        {"name": "ce", "type": "htcondor_ce", "path": str(tmp_path / "mapfiles.d" / "00-ban.conf"),
                         "mode": "0644", "reload_command": ["touch", str(tmp_path / "reloaded")]},
                        {"name": "se", "type": "dcache", "path": str(tmp_path / "ban.conf"), "mode": "0644",
                         "dcache_op_aliases": {ISS: "wlcg"}, "dcache_version": "11.2.1"}]}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"gridsec.ops.suspension_list_sync": args, "register": "r"},
        {"ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(tmp_path / "r.json")},
         "check_mode": False}]}]
    (tmp_path / "play.json").write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.abspath(COLLECTIONS), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=str(tmp_path / "ah"), ANSIBLE_LOCALHOST_WARNING="False")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=%s" % sys.executable, str(tmp_path / "play.json")]
    proc = subprocess.run(cmd + (["--check"] if check else []), env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    result = json.loads((tmp_path / "r.json").read_text())
    return result, dict((t["name"], t) for t in result["targets"])


def test_one_list_to_file_htcondor_ce_and_dcache(tmp_path):
    (tmp_path / "list.yml").write_text(LIST)
    (tmp_path / "mapfiles.d").mkdir()
    res, targets = sync(tmp_path, check=True)
    assert res["changed"] and not (tmp_path / "ban.conf").exists()
    res, targets = sync(tmp_path)
    assert res["changed"]
    # the CE's reload command ran (through the module's run_command) after the map file was written
    assert (tmp_path / "reloaded").exists()
    (tmp_path / "reloaded").unlink()
    # the plain file holds the DN only; the token identity is reported, not written as a DN or FQAN
    plain = (tmp_path / "plain.txt").read_text()
    assert "/DC=org/DC=example/CN=Mallory 42" in plain and ISS not in plain and "a1b2c3d4" not in plain
    assert targets["plain"]["not_applicable"]["count"] >= 1
    # HTCondor-CE: the token in both issuer spellings, exact (quoted), and the DN; the FQAN is not applicable
    ce = (tmp_path / "mapfiles.d" / "00-ban.conf").read_text()
    assert 'SCITOKENS "%s,a1b2c3d4-0000-4000-8000-000000000042"' % ISS in ce
    assert 'SCITOKENS "%s/,a1b2c3d4-0000-4000-8000-000000000042"' % ISS in ce
    assert "SSL " in ce and "Mallory 42" in ce and "/atlas/bad" not in ce
    assert targets["ce"]["not_applicable"]["count"] == 1
    # dCache: ban oidc:<sub>@<alias>, ban dn:, ban fqan:
    se = (tmp_path / "ban.conf").read_text()
    assert "ban oidc:a1b2c3d4-0000-4000-8000-000000000042@wlcg" in se and "ban fqan:/atlas/bad" in se
    assert "ban dn:/DC=org/DC=example/CN=Mallory 42" in se
    # a second run writes nothing
    mtimes = [os.stat(p).st_mtime_ns for p in (tmp_path / "ban.conf", tmp_path / "mapfiles.d" / "00-ban.conf")]
    res, _targets = sync(tmp_path)
    assert not res["changed"] and not (tmp_path / "reloaded").exists()  # no write, no reload
    assert mtimes == [os.stat(p).st_mtime_ns for p in (tmp_path / "ban.conf", tmp_path / "mapfiles.d" / "00-ban.conf")]
    # the token entry leaves the list: only its lines go
    (tmp_path / "list.yml").write_text(LIST.split("  - issuer")[0])
    res, targets = sync(tmp_path)
    ce = (tmp_path / "mapfiles.d" / "00-ban.conf").read_text()
    assert "SCITOKENS" not in ce and "Mallory 42" in ce
    assert "ban oidc:" not in (tmp_path / "ban.conf").read_text()
