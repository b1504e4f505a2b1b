# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""argus_canary state=checked: every endpoint is built by the one PAP endpoint builder and checked up front;
failures go through the base's failure boundary (typed errors, structured ``error``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.gridsec.ops.plugins.module_utils._argus import endpoint as _argus_endpoint
from ansible_collections.gridsec.ops.plugins.modules import argus_canary
from ansible_collections.gridsec.ops.tests.unit.plugins.modules.argus_fake import run_module


class NoClient(object):
    operations = []


def run(monkeypatch, capsys, args):
    return run_module(monkeypatch, capsys, argus_canary.main, dict(args, state="checked"), NoClient())


def test_an_invalid_endpoint_fails_before_anything_is_built_naming_it(monkeypatch, capsys):
    transports = []
    monkeypatch.setattr(argus_canary, "_safe_check", lambda *a: transports.append(a))
    result = run(monkeypatch, capsys, {"endpoints": [
        {"name": "central", "host": "central.example.org"},
        {"name": "site-b", "host": "https://b.example.org:8150/pap/services"},
    ]})
    assert result["failed"] is True
    assert result["msg"].startswith("site-b: endpoints[1].host must be a host name, not a URL")
    assert result["error"]["type"] == "ConfigError" and result["error"]["server"] == "site-b"
    assert result["operations"] == [] and result["requests"] == [] and result["changed"] is False
    assert transports == []


def test_duplicate_names_and_bad_thresholds_are_typed_config_errors(monkeypatch, capsys):
    result = run(monkeypatch, capsys, {"endpoints": [{"name": "a", "host": "x.example.org"},
                                                     {"name": "a", "host": "y.example.org"}]})
    assert result["msg"] == "endpoint names must be unique: a" and result["error"]["kind"] == "config"
    result = run(monkeypatch, capsys, {"warning_lag": 10, "critical_lag": 5})
    assert "warning_lag (10) must not exceed critical_lag (5)" in result["msg"]
    assert result["error"]["type"] == "ConfigError" and result["operations"] == []


def test_each_endpoint_gets_its_own_client_and_the_task_options_stay(monkeypatch, capsys):
    seen = []

    def transport(base_url, **kwargs):
        seen.append((base_url, kwargs["server_label"], kwargs["timeout"]))
        return object()

    monkeypatch.setattr(_argus_endpoint, "HttpTransport", transport)
    monkeypatch.setattr(argus_canary, "_safe_check", lambda endpoint, client, options: {
        "name": endpoint["name"], "host": endpoint["host"], "port": endpoint["port"], "url": endpoint["url"],
        "today": options.today, "error": "not contacted in this test"})
    args = {"state": "checked", "fail_on": "never", "endpoint_timeout": 5, "pap_host": "own.example.org",
            "ca_path": "/nonexistent",
            "endpoints": [{"host": "a.example.org"}, {"host": "b.example.org", "port": 8151, "path": "/pap/x"}]}
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            argus_canary.main()
    result = json.loads(capsys.readouterr().out)
    assert sorted(seen) == [("https://a.example.org:8150/pap/services", "a.example.org:8150", 5.0),
                            ("https://b.example.org:8151/pap/x", "b.example.org:8151", 5.0)]
    assert [n["name"] for n in result["nodes"]] == ["a.example.org:8150", "b.example.org:8151"]
