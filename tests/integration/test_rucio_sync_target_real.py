"""The sync's ``rucio`` target (``_sync/rucio.py``) against a real Rucio 41.5.1 server (the rucio_real tier).

The target is built directly, with a small stand-in for the sync's ``SyncContext`` (contract C3); every outcome
is read back from the server by the tier's independent stdlib client (status, logins).
"""
import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._http_options import transport_options
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN, Entry
from ansible_collections.gridsec.ops.plugins.module_utils._sync.rucio import RucioTarget

pytestmark = pytest.mark.rucio_real


class Ctx(object):
    """What RucioTarget uses of SyncContext; ``states`` stands for the sync's state file."""

    def __init__(self, check_mode=False, states=None):
        self.params = {}
        self.check_mode = check_mode
        self.sync_name = "rucio-test"
        self.states = {} if states is None else states
        self.warnings = []

    def target_state(self, name):
        return self.states.setdefault(name, {})

    def tls_options(self, spec):
        return transport_options(spec)

    def settings(self, spec, keys):
        return dict((k, spec.get(k)) for k in keys)

    def warn(self, msg):
        self.warnings.append(msg)


def spec(lab, **extra):
    out = {"name": "rucio1", "type": "rucio", "rucio_url": lab.url, "rucio_auth_type": "userpass",
           "rucio_account": "root", "rucio_username": lab.endpoint.root_username,
           "rucio_password": lab.endpoint.root_password, "ca_path": lab.pki.ca_cert_path,
           "rucio_lookup_max_age": "24h"}
    out.update(extra)
    return out


def wanted(*dns):
    entries = [Entry(DN, dn) for dn in dns]
    return dict((e.key, e) for e in entries)


def sync(lab, states, want, check=False, **extra):
    ctx = Ctx(check_mode=check, states=states)
    the_spec = spec(lab, **extra)
    assert RucioTarget.spec_problems(the_spec) == []
    target = RucioTarget(the_spec, ctx)
    try:
        data = target.sync(want, check)
        data["audit"] = target.audit_records(data, check)
        return data
    finally:
        target.close()


def suspend_by_hand(lab, name, status="SUSPENDED"):
    lab.raw.expect((200,), "PUT", "/accounts/%s" % name, token=lab.root_token(), body={"status": status})


def test_first_sync_suspends_noop_reads_only_unsuspend_reactivates(rucio_real):
    lab = rucio_real
    one, two = lab.new_user("sa"), lab.new_user("sb")
    states = {}
    want = wanted(one.cred.dn, two.dn)  # slash form and RFC 2253 form

    predicted = sync(lab, states, want, check=True)
    assert predicted["changed"] is True and predicted["writes"] == 0, predicted
    assert sorted(a["account"] for a in predicted["added"]) == sorted([one.name, two.name])
    assert lab.status(one.name) == "ACTIVE" and lab.status(two.name) == "ACTIVE"
    assert states.get("rucio1", {}).get("owned") in (None, {})  # check mode records nothing

    done = sync(lab, states, want)
    assert done["changed"] is True and done["operations"] == predicted["operations"], done
    assert done["writes"] == 2 and "problems" not in done
    for user in (one, two):
        assert lab.status(user.name) == "SUSPENDED"
        assert not lab.can_login_userpass(user) and not lab.can_login_x509(user)
    assert sorted(states["rucio1"]["owned"]) == sorted([one.name, two.name])
    assert done["stale_token_window"]["token_lifetime_seconds"] == 3600 and "until" in done["stale_token_window"]
    assert [r[0] for r in done["audit"]] == ["suspend", "suspend"]

    noop = sync(lab, states, want)
    assert noop["changed"] is False and noop["writes"] == 0 and noop["added"] == [] and noop["removed"] == []
    assert noop["reads"] == 2 and noop["lookups"] == 0, noop  # one login, one listing of the active accounts
    assert noop["kept_count"] == 2

    # two leaves the list: re-activated (the sync suspended it); one stays suspended
    predicted = sync(lab, states, wanted(one.cred.dn), check=True)
    assert [a["account"] for a in predicted["removed"]] == [two.name] and lab.status(two.name) == "SUSPENDED"
    lifted = sync(lab, states, wanted(one.cred.dn))
    assert [a["account"] for a in lifted["removed"]] == [two.name] and lifted["added"] == []
    assert lab.status(two.name) == "ACTIVE" and lab.can_login_userpass(two)
    assert lab.status(one.name) == "SUSPENDED"
    assert sorted(states["rucio1"]["owned"]) == [one.name]


def test_foreign_suspension_left_alone_and_drift_resuspended(rucio_real):
    lab = rucio_real
    mine, theirs = lab.new_user("sm"), lab.new_user("st")
    suspend_by_hand(lab, theirs.name)  # someone else's suspension
    states = {}
    first = sync(lab, states, wanted(mine.dn, theirs.dn))
    assert [a["account"] for a in first["added"]] == [mine.name]
    assert first["foreign_kept"] == [theirs.name]
    assert theirs.name not in states["rucio1"]["owned"]

    after = sync(lab, states, wanted())  # both leave the list
    assert [a["account"] for a in after["removed"]] == [mine.name]
    assert lab.status(mine.name) == "ACTIVE"
    assert lab.status(theirs.name) == "SUSPENDED"  # not the sync's to lift

    again = sync(lab, states, wanted(mine.dn))
    assert [a["account"] for a in again["added"]] == [mine.name]
    suspend_by_hand(lab, mine.name, "ACTIVE")  # drift: re-activated by hand while still on the list
    fixed = sync(lab, states, wanted(mine.dn))
    assert [a["account"] for a in fixed["added"]] == [mine.name] and fixed["changed"] is True
    assert lab.status(mine.name) == "SUSPENDED"

    # re-activated by hand and then removed from the list: the record is dropped, nothing written
    suspend_by_hand(lab, mine.name, "ACTIVE")
    released = sync(lab, states, wanted())
    assert released["writes"] == 0 and released["removed"] == []
    assert released["released_without_write"] == [{"account": mine.name, "status": "ACTIVE"}]
    assert mine.name not in states["rucio1"]["owned"]


def test_identity_without_account_is_reported_not_failed(rucio_real):
    lab = rucio_real
    user = lab.new_user("sn")
    states = {}
    ghost = "/DC=test/OU=Users/CN=nobody-has-this"
    data = sync(lab, states, wanted(ghost, user.dn))
    assert data["no_account"] == [ghost] and data["no_account_count"] == 1
    assert [a["account"] for a in data["added"]] == [user.name]
    # looked up again only when older than rucio_lookup_max_age
    again = sync(lab, states, wanted(ghost, user.dn))
    assert again["lookups"] == 0 and again["no_account"] == [ghost]
    for record in states["rucio1"]["lookups"].values():
        record["at"] = "2026-01-01T00:00:00Z"  # older than 1h
    fresh = sync(lab, states, wanted(ghost, user.dn), rucio_lookup_max_age="1h")
    assert fresh["lookups"] == 4  # two spellings each (the one given is the RFC 2253 or the slash form)
    assert fresh["no_account"] == [ghost] and fresh["writes"] == 0
    sync(lab, states, wanted())
    assert lab.status(user.name) == "ACTIVE"


def test_suspension_list_sync_module_drives_the_rucio_target(rucio_real, tmp_path):
    """The same target through gridsec.ops.suspension_list_sync (the registry, the options, the state file, the
    audit log): a YAML list suspends the account behind a DN, a second run changes nothing, an FQAN is reported
    as not applicable, the password appears nowhere."""
    import json
    import os
    import subprocess
    import sys

    lab = rucio_real
    user = lab.new_user("sm")
    (tmp_path / "list.yml").write_text('version: 1\nentries:\n  - dn: "%s"\n  - fqan: /atlas/bad\n' % user.cred.dn)
    target = dict(spec(lab), name="vo-rucio")
    args = {"name": "rucio-e2e", "state_dir": str(tmp_path / "state"),
            "sources": [{"name": "central", "type": "yaml", "path": str(tmp_path / "list.yml")}],
            "targets": [target]}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"gridsec.ops.suspension_list_sync": args, "register": "r"},
        {"ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(tmp_path / "r.json")}}]}]
    (tmp_path / "play.json").write_text(json.dumps(play))
    collections = os.path.join(os.path.dirname(__file__), "..", "..", ".tmp", "collections")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.abspath(collections), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOME=str(tmp_path / "ah"), ANSIBLE_LOCALHOST_WARNING="False")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=%s" % sys.executable, "-vvv", str(tmp_path / "play.json")]

    def run():
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert lab.endpoint.root_password not in proc.stdout
        return json.loads((tmp_path / "r.json").read_text())["targets"][0]

    first = run()
    assert first["changed"] and [a["account"] for a in first["added"]] == [user.name]
    assert first["not_applicable"]["count"] == 1  # the FQAN: Rucio accounts are found from identities only
    assert lab.status(user.name) == "SUSPENDED"
    second = run()
    assert not second["changed"] and second["writes"] == 0
    state = (tmp_path / "state" / "rucio-e2e.state.json").read_text()
    audit = (tmp_path / "state" / "rucio-e2e.audit.jsonl").read_text()
    assert lab.endpoint.root_password not in state + audit and user.name in state
