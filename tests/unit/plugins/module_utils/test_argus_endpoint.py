# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The one PAP endpoint builder: validation, label, URL and the client it builds."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._argus import endpoint as _argus_endpoint
from ansible_collections.gridsec.ops.plugins.module_utils._argus.endpoint import PapEndpoint, connection_problem
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError


def test_label_and_url_of_a_valid_endpoint():
    endpoint = PapEndpoint("pap.example.org", 8150, "pap/services/")
    assert endpoint.problem is None
    assert endpoint.label == "pap.example.org:8150"
    assert endpoint.name == "pap.example.org:8150"
    assert endpoint.base_url == "https://pap.example.org:8150/pap/services"


def test_defaults_and_ipv6_in_brackets():
    endpoint = PapEndpoint("[2001:db8::1]", None, None)
    assert endpoint.problem is None
    assert endpoint.base_url == "https://[2001:db8::1]:8150/pap/services"


@pytest.mark.parametrize("host, port, path, expected", [
    ("https://pap.example.org", 8150, "/pap/services", "pap_host must be a host name, not a URL"),
    ("", 8150, "/pap/services", "pap_host must be a host name (got an empty value)"),
    (None, 8150, "/pap/services", "pap_host must be a host name (got an empty value)"),
    (" pap.example.org", 8150, "/pap/services", "pap_host must be a host name, got ' pap.example.org'"),
    ("pap.example.org:8150", 8150, "/pap/services", "give the port in pap_port"),
    ("pap.example.org/pap", 8150, "/pap/services", "give the service path in pap_path"),
    ("pap.example.org", 0, "/pap/services", "pap_port must be between 1 and 65535 (got 0)"),
    ("pap.example.org", 70000, "/pap/services", "pap_port must be between 1 and 65535"),
    ("pap.example.org", "eighty", "/pap/services", "pap_port must be a port number"),
    ("pap.example.org", 8150, "/pap/services?wsdl", "pap_path must be a URL path"),
    ("pap.example.org", 8150, "https://x/pap", "pap_path must be a URL path"),
])
def test_invalid_values_have_a_problem_naming_the_option(host, port, path, expected):
    problem = PapEndpoint(host, port, path).problem
    assert problem is not None and expected in problem
    # the params form the modules and the sync use says the same
    assert connection_problem({"pap_host": host, "pap_port": port, "pap_path": path}) == problem


def test_option_names_follow_the_caller():
    endpoint = PapEndpoint("https://b.example.org", 8150, "/pap/services", name="site-b",
                           options=("endpoints[1].host", "endpoints[1].port", "endpoints[1].path"))
    with pytest.raises(ConfigError) as info:
        endpoint.check()
    assert str(info.value).startswith("site-b: endpoints[1].host must be a host name, not a URL")
    assert info.value.server == "site-b"


def test_client_refuses_an_invalid_endpoint_naming_the_role(monkeypatch):
    built = []
    monkeypatch.setattr(_argus_endpoint, "HttpTransport", lambda *a, **k: built.append((a, k)))
    with pytest.raises(ConfigError) as info:
        PapEndpoint("pap.example.org", 99999).client({}, role="target pap1")
    assert str(info.value).startswith("target pap1: pap_port must be between 1 and 65535")
    assert info.value.server == "target pap1"
    assert built == []  # nothing was built, nothing sent


def test_client_uses_the_tls_options_and_the_overrides(monkeypatch):
    seen = {}

    def transport(base_url, **kwargs):
        seen.update(kwargs, base_url=base_url)
        return "transport"

    monkeypatch.setattr(_argus_endpoint, "HttpTransport", transport)
    client = PapEndpoint("pap.example.org", 8151, "/pap/services").client(
        {"ca_path": "/etc/grid-security/certificates", "timeout": 30.0}, role="source s1",
        timeout=5.0, max_response_bytes=1024)
    assert seen == {"base_url": "https://pap.example.org:8151/pap/services", "server_label": "pap.example.org:8151",
                    "ca_path": "/etc/grid-security/certificates", "timeout": 5.0, "max_response_bytes": 1024}
    assert client.server_label == "pap.example.org:8151"


def test_real_transport_is_built_with_verification_on():
    client = PapEndpoint("pap.example.org", 8150).client({"ca_path": None})
    assert client.server_label == "pap.example.org:8150"
    assert client.transport.base_url == "https://pap.example.org:8150/pap/services"
    assert client.transport.validate_certs is True
