# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""check_base_url: the one URL check of the modules' connection options (Rucio https only, PanDA http(s))."""
import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._panda import module as _panda_module
from ansible_collections.gridsec.ops.plugins.module_utils._rucio import module as _rucio_module
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import check_base_url


@pytest.mark.parametrize("url", ["https://rucio.example.org", "HTTPS://Host:443/api", " https://h/ "])
def test_https_urls_pass(url):
    assert check_base_url(url, "x_url") is None
    assert check_base_url(url, "x_url", https_only=False) is None


@pytest.mark.parametrize("url", ["http://rucio.example.org", "HTTP://h:80/"])
def test_http_is_refused_when_https_only(url):
    msg = check_base_url(url, "x_url", example="https://x.example.org", hint="secrets in headers")
    assert msg.startswith("x_url ") and "must be an https:// URL" in msg and "(secrets in headers)" in msg
    assert check_base_url(url, "x_url", https_only=False) is None


@pytest.mark.parametrize("url", ["ftp://h", "https://", "https:///api", "https:// space"])
def test_no_host_or_other_scheme(url):
    assert "x_url" in check_base_url(url, "x_url")
    assert "is not an http(s) URL with a host" in check_base_url(url, "x_url", https_only=False)


def test_no_scheme_and_empty():
    assert "has no scheme: write it as https://h:25443" in check_base_url("h:25443", "x_url")
    assert check_base_url("", "x_url").startswith("x_url is required")
    assert check_base_url(None, "x_url").startswith("x_url is required")


def test_rucio_and_panda_have_no_url_check_of_their_own():
    assert not hasattr(_rucio_module, "_URL") and not hasattr(_panda_module, "_URL")
    assert _rucio_module.check_base_url is check_base_url and _panda_module.check_base_url is check_base_url
