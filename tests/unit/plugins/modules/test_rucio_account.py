# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""rucio_account option checks and identity lookup, with a fake RucioClient (the real-server behaviour is covered
by tests/integration/test_rucio_account.py)."""
import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.gridsec.ops.plugins.module_utils import _rucio_module
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
