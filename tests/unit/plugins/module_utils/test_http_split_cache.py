# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The origin of a transport's URLs is parsed once: a later URL of the same origin must split exactly as a first
one does (path, query, params, quoting), and odd URLs take the full parser every time."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport

URLS = [
    "https://iam.example.org:8443/scim/Users/3f1c",
    "https://iam.example.org:8443/iam/api/access-tokens?userId=a%20b&count=20",
    "https://iam.example.org:8443/iam/account/find/byusername?username=x&y=1",
    "https://iam.example.org:8443/path with space/ü?q=ä b",
    "https://iam.example.org:8443",
    "https://iam.example.org:8443?x=1",
    "https://iam.example.org:8443/a/b/../c/%2F",
    "https://iam.example.org:8443/a#frag",
    "https://iam.example.org:8443/a\nb",
    "https://iam.example.org:8443/a\tb?c=\r",
    "HTTPS://IAM.example.org:8443/upper",
    "https://[::1]:8443/v6?x=[1]",
]


def fresh(url, params):
    """The full parse: no origin cached yet."""
    transport = HttpTransport("https://iam.example.org:8443")
    transport._origins.clear()
    return transport._split_url(url, params)


@pytest.mark.parametrize("params", [None, {"a": "1 2", "b": ["x", "y"]}, "raw=1&s=%"])
def test_a_cached_origin_splits_like_a_fresh_parse(params):
    transport = HttpTransport("https://iam.example.org:8443")
    for url in URLS * 2:  # the base URL's origin is cached from the start; the second round hits every origin
        assert transport._split_url(url, params) == fresh(url, params), url
    assert "https://iam.example.org:8443" in transport._origins


def test_a_bad_url_is_still_refused_after_good_ones():
    transport = HttpTransport("https://iam.example.org:8443")
    transport._split_url("https://iam.example.org:8443/ok")
    with pytest.raises(Exception, match="only https"):
        transport._split_url("ftp://iam.example.org:8443/x")
    with pytest.raises(Exception, match="not valid"):
        transport._split_url("https://iam.example.org:99999/x")
