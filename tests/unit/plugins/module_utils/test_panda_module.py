"""Option checks of the PanDA base module that run before anything is read or sent (issue 6 §2)."""
import os
import subprocess
import sys

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._panda.module import (
    PANDA_DB_SPEC,
    check_panda_url,
)


@pytest.mark.parametrize("url", ["https://pandaserver.cern.ch:25443", "https://localhost:25443/api/v1",
                                 "http://pandaserver.example.org:25080", "HTTPS://Host.Example.org", None, ""])
def test_good_panda_urls(url):
    assert check_panda_url(url) is None


def test_panda_url_without_scheme_says_how_to_write_it():
    msg = check_panda_url("pandaserver.cern.ch:25443")
    assert "has no scheme" in msg and "https://pandaserver.cern.ch:25443" in msg


@pytest.mark.parametrize("url", ["ftp://pandaserver.cern.ch", "https://", "https:///api/v1", "https:// space"])
def test_other_bad_panda_urls(url):
    assert "is not an http(s) URL with a host" in check_panda_url(url)


def test_db_spec_has_the_deft_schema():
    assert PANDA_DB_SPEC["db_deft_schema"] == {"type": "str"}


def test_database_only_modules_do_not_import_requests():
    """panda_user_ban without verify makes no HTTP call: importing it must not import requests."""
    code = ("import sys\n"
            "import ansible_collections.gridsec.ops.plugins.modules.panda_user_ban\n"
            "import ansible_collections.gridsec.ops.plugins.module_utils._panda.module\n"
            "print('requests' in sys.modules)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
