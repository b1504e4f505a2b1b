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


def _present(endpoint, client, options):
    return {"name": endpoint["name"], "host": endpoint["host"], "port": endpoint["port"], "url": endpoint["url"],
            "today": options.today, "error": None, "checked_at": 1000.0, "first_look_at": 1000.0, "absent_at": None,
            "today_present": True, "newest": "CN=...", "newest_date": options.today, "remotes": [], "origin": True,
            "poll_interval": 3600.0, "effective": {"denied": True, "text": "denied"}, "effective_deny": True,
            "export": None, "lag_seconds": 0, "lag_min_seconds": 0.0, "future_dates": [], "subjects": []}


def test_history_file_written_atomically_but_never_in_check_mode(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(argus_canary, "_safe_check", _present)
    history = tmp_path / "history.json"
    args = {"fail_on": "never", "endpoints": [{"name": "central", "host": "c.example.org"}],
            "history_file": str(history), "latency_slo": "8h", "since": 400.0, "date": "20261207"}
    result = run_module(monkeypatch, capsys, argus_canary.main, dict(args, state="checked"), NoClient(),
                        check_mode=True)
    assert result["history_written"] is False and not history.exists()
    assert result["thresholds"]["latency_slo"] == 28800
    assert result["nodes"][0]["latency_seconds"] == 600.0 and result["nodes"][0]["latency_bound"] == "upper"
    assert result["nodes"][0]["bound_seconds"] == 0  # the central PAP: no PDP/PEP cache unless set
    result = run_module(monkeypatch, capsys, argus_canary.main, dict(args, state="checked"), NoClient())
    assert result["history_written"] is True
    assert json.loads(history.read_text())["nodes"]["central"]["days"]["20261207"]["first_seen"] == 1000.0


def test_latency_options_are_checked(monkeypatch, capsys):
    monkeypatch.setattr(argus_canary, "_safe_check", _present)
    result = run(monkeypatch, capsys, {"endpoints": [{"host": "c.example.org"}], "latency_slo": "soon"})
    assert result["failed"] is True and "latency_slo 'soon' is not a positive duration" in result["msg"]
    result = run(monkeypatch, capsys, {"endpoints": [{"host": "c.example.org", "pdp_retention_interval": -1}]})
    assert result["failed"] is True and result["msg"] == "endpoints[0].pdp_retention_interval must be >= 0"
