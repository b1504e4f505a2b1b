# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""rucio_account option checks and identity lookup, with a fake RucioClient (the real-server behaviour is covered
by tests/integration/test_rucio_account.py)."""
import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.gridsec.ops.plugins.module_utils._rucio import module as _rucio_module
from ansible_collections.gridsec.ops.plugins.modules import rucio_account

CONN = {"rucio_url": "https://rucio.test", "rucio_username": "ddmlab", "rucio_password": "pw-secret",
        "ca_path": "/nonexistent"}


def run(monkeypatch, capsys, args, client=None):
    if client is not None:
        monkeypatch.setattr(_rucio_module.RucioModule, "client", lambda self: client)
    full = dict(CONN)
    full.update(args)
    with patch_module_args(full):
        with pytest.raises(SystemExit):
            rucio_account.main()
    return json.loads(capsys.readouterr().out)


class Boom(object):
    """A client that must not be used: the run has to fail on the options."""

    def __getattr__(self, name):
        raise AssertionError("client used: %s" % name)


@pytest.mark.parametrize("url", ["http://rucio.test", "HTTP://rucio.test:80/", "rucio.test"])
def test_plain_http_url_is_refused_before_anything_is_sent(monkeypatch, capsys, url):
    out = run(monkeypatch, capsys, {"rucio_url": url, "account": "jdoe"}, client=Boom())
    assert out["failed"] is True
    assert "rucio_url" in out["msg"] and "https://" in out["msg"], out["msg"]
    assert "pw-secret" not in json.dumps(out)


class Identities(object):
    """A client that only answers identity lookups, from ``{(identity, type): [accounts]}``."""

    server_label = "Rucio server rucio.test"

    def __init__(self, table):
        self.table = table
        self.asked = []
        self.operations = []

    def accounts_for_identity(self, identity, id_type):
        self.asked.append((identity, id_type))
        return list(self.table.get((identity, id_type), []))


SUB = "8e6f1d2c-0000-4000-8000-000000000001"


@pytest.mark.parametrize("stored, given", [("https://iam.test/", "https://iam.test"),
                                           ("https://iam.test", "https://iam.test/")])
def test_oidc_issuer_found_with_or_without_trailing_slash(stored, given):
    fake = Identities({("SUB=%s, ISS=%s" % (SUB, stored), "OIDC"): ["jdoe"]})
    names, what = rucio_account.find_accounts(fake, {"oidc_subject": SUB, "oidc_issuer": given})
    assert names == ["jdoe"], fake.asked
    assert fake.asked[0] == ("SUB=%s, ISS=%s" % (SUB, given), "OIDC")  # the spelling given is tried first
    assert given in what


def test_oidc_issuer_spellings_mapped_to_different_accounts_fail(monkeypatch, capsys):
    fake = Identities({("SUB=%s, ISS=https://iam.test/" % SUB, "OIDC"): ["jdoe"],
                       ("SUB=%s, ISS=https://iam.test" % SUB, "OIDC"): ["jdoe2"]})
    out = run(monkeypatch, capsys, {"oidc_subject": SUB, "oidc_issuer": "https://iam.test"}, client=fake)
    assert out["failed"] is True and "several accounts (jdoe, jdoe2)" in out["msg"], out
    assert out["changed"] is False


def test_dn_docs_say_what_is_looked_up():
    """The DN is looked up under three exact spellings, not compared semantically: the docs must say so."""
    import yaml
    doc = yaml.safe_load(rucio_account.DOCUMENTATION)
    text = " ".join(doc["options"]["dn"]["description"])
    assert "Not compared semantically" in text and "three spellings" in text and "not found" in text
    assert "Compared semantically" not in text


def test_dn_spellings_are_exactly_three_and_a_fourth_is_not_found():
    spellings = rucio_account.dn_spellings("/C=CH/O=Example/OU=Users/CN=Jane Doe")
    assert spellings == ["/C=CH/O=Example/OU=Users/CN=Jane Doe", "CN=Jane Doe,OU=Users,O=Example,C=CH"]
    stored = "CN=Jane Doe, OU=Users, O=Example, C=CH"  # a fourth spelling, as the server may store it
    fake = Identities({(stored, "X509"): ["jdoe"]})
    names = rucio_account.find_accounts(fake, {"dn": "/C=CH/O=Example/OU=Users/CN=Jane Doe"})[0]
    assert names == [] and [asked[0] for asked in fake.asked] == spellings
